"""Heap events: kedro-telemetry compatible, opt-in, hashed, bounded, replayable, and free of
node, dataset and pipeline names and of secrets, checked at a loopback stand-in for Heap."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import subprocess
import time
from pathlib import Path

import pytest

from otel_kedro.config.privacy import HEAP_ALLOWED_KEYS, PrivacySettings
from otel_kedro.exporters.heap import _limit, _statistics
from otel_kedro.processors.identifiers import HASH_PREFIX
from otel_kedro.runs.chains import destination_chain
from tests.support.heap_receiver import HeapReceiver, problems_of
from tests.support.kedro_projects import BIN, remote_env, run_folders, run_kedro
from tests.support.otlp_json import read_spans
from tests.support.otlp_receivers import BlackHole


def _heap_env(tmp_path: Path, endpoint: str, **extra: str) -> dict[str, str]:
    settings = {
        "OTEL_KEDRO_HEAP": "true",
        "OTEL_KEDRO_HEAP_ENDPOINT": endpoint,
        "OTEL_KEDRO_HEAP_APP_ID": "1234567890",
        "OTEL_KEDRO_OTLP": "false",
        "OTEL_KEDRO_DELIVERY_WAIT": "10",
    }
    return remote_env(tmp_path, **{**settings, **extra})


def _wait_for(receiver: HeapReceiver) -> None:
    deadline = time.monotonic() + 10
    while not (receiver.bodies or receiver.refused) and time.monotonic() < deadline:
        time.sleep(0.05)


def _allowed(key: str) -> bool:
    return key in HEAP_ALLOWED_KEYS or key.startswith("dataset_type_count.")


def test_a_consenting_opted_in_run_sends_kedro_telemetry_events(
    example_project: Path, tmp_path: Path
) -> None:
    secret = secrets.token_urlsafe(16)
    with HeapReceiver() as receiver:
        env = _heap_env(tmp_path, receiver.endpoint)
        result = run_kedro(
            example_project, "run", "--params", f"quality.password={secret}", env=env
        )
        assert result.returncode == 0, result.stderr[-3000:]
        _wait_for(receiver)
    assert receiver.refused == []
    assert len(receiver.bodies) == 1, "one bulk request per run"
    body = receiver.bodies[0]
    assert body["app_id"] == "1234567890"
    events = {event["event"]: event for event in body["events"]}
    assert set(events) == {"CLI command", "Kedro Project Statistics"}

    spans = read_spans(run_folders(example_project)[0] / "traces.jsonl")
    run = next(s for s in spans if s.name.startswith("RUN "))
    cli = events["CLI command"]["properties"]
    assert cli["command"] == "kedro run --params *****"
    assert cli["main_command"] == "run"
    stats = events["Kedro Project Statistics"]["properties"]
    assert stats["number_of_nodes"] == run.attributes["kedro.project.nodes.count"]
    assert stats["number_of_datasets"] == run.attributes["kedro.project.datasets.count"]
    assert stats["number_of_pipelines"] == run.attributes["kedro.project.pipelines.count"]
    assert stats["dataset_type_count.kedro_datasets.pandas.CSVDataset"] >= 1
    assert stats["run_result"] == "success"
    assert 0 < stats["run_duration_s"] < 120
    for event in body["events"]:
        props = event["properties"]
        assert all(_allowed(key) for key in props), sorted(props)
        assert props["username"].startswith(HASH_PREFIX)
        assert props["project_version"] == run.attributes["kedro.version"]
        assert props["project_id"].startswith(HASH_PREFIX)
        assert event["identity"] == props["username"]
        moment = dt.datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))
        assert abs((dt.datetime.now(dt.timezone.utc) - moment).total_seconds()) < 300, "UTC"

    raw = b"".join(receiver.raw).decode()
    assert secret not in raw
    names = {s.name for s in spans} - {run.name}
    names |= {str(s.attributes.get("kedro.dataset.name")) for s in spans}
    names |= {"data_processing", "forecasting", "reporting", "north", "south"}
    leaked = sorted(n for n in names if n not in {"None", "kedro run"} and n in raw)
    assert leaked == [], "no node, dataset or pipeline name reaches Heap"
    delivery = json.loads((run_folders(example_project)[0] / "delivery.json").read_text())
    assert delivery[f"heap {receiver.endpoint} 1234567890"]["events"] == 2


@pytest.mark.parametrize(
    "extra",
    [
        {"OTEL_KEDRO_HEAP": "false"},  # consent alone does not opt in to Heap
        {"OTEL_KEDRO_CONSENT": "false"},  # opted in, but no consent
        {"DO_NOT_TRACK": "1"},
    ],
)
def test_heap_needs_both_opt_in_and_consent(
    example_project: Path, tmp_path: Path, extra: dict[str, str]
) -> None:
    with HeapReceiver() as receiver:
        env = _heap_env(tmp_path, receiver.endpoint, **extra)
        result = run_kedro(example_project, "run", "--pipeline", "data_processing", env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        time.sleep(0.5)
    assert receiver.raw == []


def test_a_silent_heap_cannot_hold_the_run_and_replay_sends_once(
    example_project: Path, tmp_path: Path
) -> None:
    def timed(env: dict[str, str]) -> float:
        start = time.perf_counter()
        result = run_kedro(example_project, "run", "--pipeline", "data_processing", env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        return time.perf_counter() - start

    baseline = timed(_heap_env(tmp_path, "http://127.0.0.1:9/api/track", OTEL_KEDRO_HEAP="false"))
    with BlackHole() as hole:
        black = timed(
            _heap_env(tmp_path, f"{hole.endpoint}/api/track", OTEL_KEDRO_DELIVERY_WAIT="0.3")
        )
    assert black - baseline < 3.0, "bounded like OTLP (the 0.3 s figure is the benchmark's)"
    folders = run_folders(example_project)
    assert not any((f / "delivery.json").exists() for f in folders)

    with HeapReceiver() as receiver:
        env = _heap_env(tmp_path, receiver.endpoint)

        def replay(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [str(BIN / "otel-kedro"), "replay", *args], cwd=example_project, env=env,
                capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip

        first = replay("--all")
        assert first.returncode == 0, first.stdout + first.stderr
        second = replay("--all")
    assert receiver.refused == []
    # Both runs: the baseline's folder (not opted in then) and the black-holed one.
    assert len(receiver.bodies) == len(folders)
    assert "already delivered" in second.stdout
    keys = [event["idempotency_key"] for event in receiver.events]
    assert len(keys) == len(set(keys)) == 2 * len(folders)


def test_statistics_report_user_dataset_types_as_custom() -> None:
    stats = _statistics(
        {
            "kedro.project.datasets.count": 3,
            "kedro.project.dataset_type_count.kedro_datasets.pandas.CSVDataset": 1,
            "kedro.project.dataset_type_count.my_company.secret_store.VaultDataset": 1,
            "kedro.project.dataset_type_count.other.Thing": 1,
        }
    )
    assert stats["dataset_type_count.kedro_datasets.pandas.CSVDataset"] == 1
    assert stats["dataset_type_count.custom"] == 2
    assert not any("my_company" in key for key in stats)


def test_properties_are_strings_or_numbers_within_heap_limits() -> None:
    limited = _limit({"a": True, "b": 3, "c": 2.5, "d": "x" * 5000, "e": None, "f": ["l"]})
    assert limited == {"a": "true", "b": 3, "c": 2.5, "d": "x" * 1023, "f": "['l']"}
    assert problems_of({"app_id": "1", "events": [{"event": "e", "identity": "i",
                        "timestamp": "2026-11-22T00:00:00.000000Z", "properties": limited}]}) == []  # fmt: skip


def test_the_heap_chain_keeps_only_kedro_telemetry_properties() -> None:
    privacy = PrivacySettings()
    chain = destination_chain(privacy, "heap")
    kept = chain.attributes(
        {"number_of_nodes": 3, "dataset_type_count.custom": 1, "node": "clean_sales",
         "dataset_type_countX": 1, "command": "kedro run --password hunter2secret"}
    )  # fmt: skip
    assert set(kept) == {"number_of_nodes", "dataset_type_count.custom", "command"}
    assert "hunter2secret" not in str(kept["command"])
