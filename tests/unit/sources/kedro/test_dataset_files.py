"""File facts of real kedro-datasets datasets: path, version, size and optional hash."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest
from kedro.io import MemoryDataset, Version
from kedro_datasets.pandas import CSVDataset

from otel_kedro.sources.kedro import dataset_files
from otel_kedro.sources.kedro.dataset_files import dataset_file_facts

_FRAME = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})


def test_a_local_file_has_its_path_and_size(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    dataset = CSVDataset(filepath=str(path))
    dataset.save(_FRAME)
    facts = dataset_file_facts(dataset, saved=True)
    assert facts == {"file.path": str(path), "file.size": path.stat().st_size}


def test_the_content_hash_is_opt_in_and_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "out.csv"
    dataset = CSVDataset(filepath=str(path))
    dataset.save(_FRAME)
    facts = dataset_file_facts(dataset, saved=False, content_hash=True)
    assert facts["kedro.dataset.sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    monkeypatch.setattr(dataset_files, "CONTENT_HASH_MAX_BYTES", path.stat().st_size - 1)
    assert "kedro.dataset.sha256" not in dataset_file_facts(dataset, saved=False, content_hash=True)


def test_a_versioned_dataset_names_the_version_each_operation_used(tmp_path: Path) -> None:
    path = tmp_path / "model.csv"
    saver = CSVDataset(filepath=str(path), version=Version(None, None))
    saver.save(_FRAME)
    saved = dataset_file_facts(saver, saved=True)
    version = str(saved["kedro.dataset.version"])
    written = path / version / "model.csv"
    assert saved["file.path"] == str(written)
    assert saved["file.size"] == written.stat().st_size
    loader = CSVDataset(filepath=str(path), version=Version(None, None))
    loader.load()
    assert dataset_file_facts(loader, saved=False)["kedro.dataset.version"] == version


def test_datasets_without_files_give_nothing(tmp_path: Path) -> None:
    assert dataset_file_facts(MemoryDataset(data=1), saved=False) == {}
    missing = CSVDataset(filepath=str(tmp_path / "never-written.csv"))
    assert dataset_file_facts(missing, saved=False) == {
        "file.path": str(tmp_path / "never-written.csv")
    }


def test_a_remote_file_keeps_its_protocol_and_is_not_sized() -> None:
    dataset = CSVDataset(filepath="memory:///bucket/remote.csv")
    dataset.save(_FRAME)
    facts = dataset_file_facts(dataset, saved=True, content_hash=True)
    assert facts == {"file.path": "memory:///bucket/remote.csv"}
