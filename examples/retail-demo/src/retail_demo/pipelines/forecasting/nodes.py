"""A Monte Carlo forecast: the node that uses noticeable CPU and memory."""

import numpy as np
import pandas as pd


def simulate_forecast(daily_sales: pd.DataFrame, simulation: dict) -> pd.DataFrame:
    """Simulate ``paths`` random walks of daily units per draw (~draws*horizon*paths*8 bytes)."""
    rng = np.random.default_rng(simulation["seed"])
    units = daily_sales["units"].to_numpy(dtype=float)
    mean, std = float(units.mean()), float(units.std() or 1.0)
    shocks = rng.standard_normal((simulation["draws"], simulation["horizon"], simulation["paths"]))
    paths = (
        mean
        + std
        * np.cumsum(shocks, axis=1)
        / np.sqrt(np.arange(1, simulation["horizon"] + 1))[:, None]
    )
    per_day = paths.mean(axis=(0, 2))
    spread = paths.std(axis=(0, 2))
    return pd.DataFrame(
        {"day": np.arange(1, simulation["horizon"] + 1), "units_p50": per_day, "units_std": spread}
    )
