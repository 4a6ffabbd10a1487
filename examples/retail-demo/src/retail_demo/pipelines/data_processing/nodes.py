"""Cleaning and feature engineering of raw sales."""

import pandas as pd


def clean_sales(sales_raw: pd.DataFrame) -> pd.DataFrame:
    sales = sales_raw.dropna(subset=["units"]).copy()
    sales["date"] = pd.to_datetime(sales["date"])
    sales["units"] = sales["units"].astype(int)
    return sales


def add_features(sales: pd.DataFrame, features: dict) -> pd.DataFrame:
    enriched = sales.copy()
    enriched["revenue"] = enriched["units"] * enriched["unit_price"]
    enriched["weekend"] = enriched["date"].dt.dayofweek.isin(features["weekend_days"])
    return enriched


def aggregate_daily(sales: pd.DataFrame) -> pd.DataFrame:
    daily = sales.groupby("date", as_index=False).agg(
        units=("units", "sum"), revenue=("revenue", "sum")
    )
    return daily.sort_values("date")


def check_quality(sales_raw: pd.DataFrame, quality: dict) -> pd.DataFrame:
    """Fails on purpose when ``quality.fail`` is true, to show a failed node in the trace."""
    missing_share = float(sales_raw["units"].isna().mean())
    if quality["fail"] or missing_share > quality["max_missing_share"]:
        raise ValueError(
            f"sales quality check failed: {missing_share:.1%} of rows have no units "
            f"(allowed {quality['max_missing_share']:.0%}; quality settings: {dict(quality)})"
        )
    return pd.DataFrame({"check": ["missing_units"], "share": [missing_share]})
