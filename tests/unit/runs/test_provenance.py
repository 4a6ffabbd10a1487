"""The parameters' keyed hash tells runs apart without revealing a value."""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.io import DataCatalog, MemoryDataset

from otel_kedro.runs.provenance import params_hash


def _catalog(params: object) -> DataCatalog:
    return DataCatalog({"parameters": MemoryDataset(data=params, copy_mode="deepcopy")})


@pytest.fixture(autouse=True)
def _key_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_KEDRO_CONFIG_DIR", str(tmp_path / "config"))


def test_same_parameters_same_hash_in_any_key_order() -> None:
    first = params_hash(_catalog({"a": 1, "b": {"c": "x"}}), None)
    second = params_hash(_catalog({"b": {"c": "x"}, "a": 1}), None)
    assert first is not None
    assert first == second
    assert first.startswith("hmac:")


def test_any_change_changes_the_hash_and_no_value_shows() -> None:
    base = params_hash(_catalog({"quality": {"note": "pvhmswruuozy"}}), None)
    other = params_hash(_catalog({"quality": {"note": "pvhmswruuozz"}}), None)
    assert base != other
    assert "pvhmswruuozy" not in str(base)


def test_the_organisation_key_file_sets_the_key(tmp_path: Path) -> None:
    (tmp_path / "org.key").write_text("shared-organisation-key\n")
    catalog = _catalog({"a": 1})
    assert params_hash(catalog, str(tmp_path / "org.key")) != params_hash(catalog, None)
    assert params_hash(catalog, str(tmp_path / "org.key")) == params_hash(
        _catalog({"a": 1}), str(tmp_path / "org.key")
    )


def test_no_parameters_no_hash() -> None:
    assert params_hash(DataCatalog({}), None) is None
