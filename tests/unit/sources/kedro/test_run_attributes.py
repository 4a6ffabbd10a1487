"""Project statistics of the run span, taken without importing any dataset class."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from otel_kedro.sources.kedro.run_attributes import configured_type

_PREFIX = "kedro.project.dataset_type_count."

# A catalog shaped like spaceflights-pandas, plus a custom type whose module does not exist: if
# the statistics imported a class, the unknown module would fail and the plotting ones would load.
_PROBE = textwrap.dedent(
    """
    import json, sys
    from kedro.io import DataCatalog, MemoryDataset
    from kedro.pipeline import Pipeline
    from otel_kedro.sources.kedro.run_attributes import run_attributes

    config = {
        "companies": {"type": "pandas.CSVDataset", "filepath": "c.csv"},
        "reviews": {"type": "pandas.CSVDataset", "filepath": "r.csv"},
        "shuttles": {"type": "pandas.ExcelDataset", "filepath": "s.xlsx"},
        "plot": {"type": "plotly.JSONDataset", "filepath": "p.json"},
        "matrix": {"type": "matplotlib.MatplotlibDataset", "filepath": "m.png"},
        "vault": {"type": "no_such_company.secret_store.VaultDataset"},
        "cache": {"type": "MemoryDataset"},
    }
    catalog = DataCatalog.from_config(config)
    catalog["ready"] = MemoryDataset(1)  # materialised: its class is already in memory
    catalog["params:alpha"] = MemoryDataset(0.1)
    before = set(sys.modules)
    attributes = run_attributes({"run_id": "r"}, Pipeline([]), catalog)
    imported = sorted(m for m in set(sys.modules) - before if m.startswith("kedro_datasets"))
    print(json.dumps({"attributes": attributes, "imported": imported}))
    """
)


def test_statistics_count_every_type_without_importing_a_dataset_class() -> None:
    """Every entry is counted under the type its configuration names; no class is imported."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result["imported"] == []
    attributes = result["attributes"]
    assert attributes["kedro.project.datasets.count"] == 8  # parameters excluded
    types = {k[len(_PREFIX) :]: v for k, v in attributes.items() if k.startswith(_PREFIX)}
    assert types == {
        "kedro_datasets.pandas.CSVDataset": 2,
        "kedro_datasets.pandas.ExcelDataset": 1,
        "kedro_datasets.plotly.JSONDataset": 1,
        "kedro_datasets.matplotlib.MatplotlibDataset": 1,
        "no_such_company.secret_store.VaultDataset": 1,
        "kedro.io.MemoryDataset": 1,
        "kedro.io.memory_dataset.MemoryDataset": 1,
    }


class TestConfiguredType:
    @pytest.mark.parametrize(
        ("written", "resolved"),
        [
            ("pandas.CSVDataset", "kedro_datasets.pandas.CSVDataset"),
            ("MemoryDataset", "kedro.io.MemoryDataset"),
            ("kedro_datasets.pandas.CSVDataset", "kedro_datasets.pandas.CSVDataset"),
            ("my_pkg.datasets.Custom", "my_pkg.datasets.Custom"),
            ("Custom", "Custom"),
            ("", "unknown"),
            (None, "unknown"),
        ],
    )
    def test_a_written_type_resolves_as_kedro_would(self, written: object, resolved: str) -> None:
        """Kedro's search order (kedro.io., kedro_datasets., as written) without imports."""
        assert configured_type(written) == resolved

    def test_a_class_is_named_by_its_module(self) -> None:
        """A ``type:`` given as a class object keeps its defining module."""
        from kedro.io import MemoryDataset

        assert configured_type(MemoryDataset) == "kedro.io.memory_dataset.MemoryDataset"
