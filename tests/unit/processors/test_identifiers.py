"""HMAC identifier hashing: keyed, deterministic per key, key file private and never exported."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from otel_kedro.processors.identifiers import (
    KEY_FILE,
    hash_attributes,
    hash_identifier,
    install_key,
    path_replacements,
)


def _key_in(folder: str, results: Any) -> None:
    results.put(install_key(Path(folder)).hex())


def test_key_is_created_once_private_and_stable(tmp_path: Path) -> None:
    folder = tmp_path / "config" / "otel-kedro"
    key = install_key(folder)
    assert len(key) == 32
    path = folder / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert install_key(folder) == key
    assert [p.name for p in folder.iterdir()] == [KEY_FILE], "no temporary file may remain"


def test_concurrent_first_use_agrees_on_one_key(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    workers = [context.Process(target=_key_in, args=(str(tmp_path), results)) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len({results.get() for _ in workers}) == 1


@settings(max_examples=200, deadline=None)
@given(value=st.text(min_size=1, max_size=50), other=st.text(min_size=1, max_size=50))
def test_hashes_are_deterministic_per_key_and_unrelated_across_keys(value: str, other: str) -> None:
    key_a, key_b = b"a" * 32, b"b" * 32
    assert hash_identifier(value, key_a) == hash_identifier(value, key_a)
    assert hash_identifier(value, key_a) != hash_identifier(value, key_b)
    if value != other:
        assert hash_identifier(value, key_a) != hash_identifier(other, key_a)
    assert value not in hash_identifier(value, key_a)[len("hmac:") :] or len(value) < 3


def test_attribute_hashing_and_path_replacement() -> None:
    key = b"k" * 32
    paths = path_replacements(key, "/home/alice", "/home/alice/projects/demo")
    result = hash_attributes(
        {
            "host.name": "alice-laptop",
            "process.owner": "alice",
            "message": "cannot read /home/alice/projects/demo/data/01_raw/x.csv",
            "files": ["/home/alice/.ssh/config"],
            "count": 3,
        },
        key=key,
        keys={"host.name", "process.owner"},
        paths=paths,
    )
    assert result["host.name"] == hash_identifier("alice-laptop", key)
    assert result["process.owner"] == hash_identifier("alice", key)
    assert "alice" not in str(result["message"])
    assert str(result["message"]).endswith("/data/01_raw/x.csv")
    assert "alice" not in str(result["files"])
    assert result["count"] == 3
    again = hash_attributes(result, key=key, keys={"host.name"}, paths=paths)
    assert again["host.name"] == result["host.name"], "hashing twice must not hash the hash"
