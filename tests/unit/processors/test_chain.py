"""Per-destination chains: defaults, configuration, and what each destination lets through."""

from __future__ import annotations

from pathlib import Path

import pytest

from otel_kedro.config.privacy import (
    HEAP_ALLOWED_KEYS,
    PrivacySettings,
    parse_privacy,
)
from otel_kedro.processors.identifiers import hash_identifier, install_key
from otel_kedro.runs.chains import destination_chain

SPAN = {
    "process.command_args": ["/usr/local/bin/kedro", "run", "--params", "token=abc123def456"],
    "host.name": "alice-laptop",
    "process.owner": "alice",
    "kedro.dataset.name": "north.region_sales",
    "kedro.node.inputs": ("sales_features", "params:north.region"),
    "exception.message": "cannot connect to postgresql://etl:hunter2hunter2@db/sales",
    "number_of_nodes": 10,
}


@pytest.fixture(autouse=True)
def _private_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_KEDRO_CONFIG_DIR", str(tmp_path / "config"))


def test_files_keep_names_mask_args_and_scrub_secrets() -> None:
    privacy = PrivacySettings()
    out = destination_chain(privacy, "files").attributes(SPAN)
    assert out["process.command_args"] == ["kedro", "run", "--params", "*****"]
    assert out["host.name"] == "alice-laptop"
    assert out["kedro.dataset.name"] == "north.region_sales"
    assert tuple(out["kedro.node.inputs"]) == ("sales_features", "params:north.region")
    assert "hunter2hunter2" not in str(out["exception.message"])
    assert "postgresql://" in str(out["exception.message"])


def test_otlp_also_hashes_user_and_host_with_the_install_key() -> None:
    privacy = PrivacySettings()
    out = destination_chain(privacy, "otlp").attributes(SPAN)
    key = install_key()
    assert out["host.name"] == hash_identifier("alice-laptop", key)
    assert out["process.owner"] == hash_identifier("alice", key)
    assert out["kedro.dataset.name"] == "north.region_sales"


def test_heap_lets_only_kedro_telemetry_properties_through() -> None:
    privacy = PrivacySettings()
    out = destination_chain(privacy, "heap").attributes(SPAN)
    assert set(out) <= set(HEAP_ALLOWED_KEYS)
    assert out == {"number_of_nodes": 10}


def test_org_key_file_replaces_the_install_key(tmp_path: Path) -> None:
    key_file = tmp_path / "org.key"
    key_file.write_text("shared across the organisation\n")
    privacy = parse_privacy({"hash_key_file": str(key_file)})
    first = destination_chain(privacy, "otlp").attributes({"host.name": "h"})["host.name"]
    again = destination_chain(privacy, "otlp").attributes({"host.name": "h"})["host.name"]
    local = destination_chain(PrivacySettings(), "otlp").attributes({"host.name": "h"})
    assert first == again != local["host.name"]


def test_chains_are_configurable_per_destination() -> None:
    privacy = parse_privacy(
        {
            "files": {
                "processors": ["mask_args", "scrub_secrets", "drop_keys"],
                "drop_keys": ["host.name"],
            },
            "allow_args": ["data_science"],
        }
    )
    assert privacy.otlp == PrivacySettings().otlp, "other destinations keep their defaults"
    chain = destination_chain(privacy, "files")
    out = chain.attributes(
        {**SPAN, "process.command_args": ["kedro", "run", "--pipeline", "data_science"]}
    )
    assert "host.name" not in out
    assert out["process.command_args"] == ["kedro", "run", "--pipeline", "data_science"]
