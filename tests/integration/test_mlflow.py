"""End to end against a real MLflow tracking server (the OTLP backend kedro-mlflow users already
run): with consent, the traces endpoint and the ``x-mlflow-experiment-id`` header, a run of the
example appears in the experiment exactly as in the local trace file (span ids, names, parents,
status), read back through MLflow's own client. MLflow takes no OTLP metrics or logs: that is
remembered in ``delivery.json``, never retried, and never holds up the traces.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.kedro_projects import EXAMPLE_NODES, remote_env, run_folders, run_kedro
from tests.support.mlflow_server import (
    EXPERIMENT_HEADER,
    MlflowServer,
    MlflowUnavailableError,
    ensure_mlflow,
)
from tests.support.otlp_json import DecodedSpan, read_spans

# The first run installs MLflow (a minute or more); later runs reuse the cached environment.
pytestmark = [pytest.mark.mlflow, pytest.mark.timeout(1800)]

_STATUS = {0: "UNSET", 1: "OK", 2: "ERROR"}


@pytest.fixture(scope="module")
def mlflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    try:
        python = ensure_mlflow()
    except MlflowUnavailableError as error:
        pytest.skip(f"MLflow cannot be installed here: {error}")
    with MlflowServer(python, tmp_path_factory.mktemp("mlflow")) as server:
        yield server


def _mlflow_env(tmp_path: Path, server: MlflowServer, experiment_id: str) -> dict[str, str]:
    """Traces to MLflow's OTLP route with the experiment header, as MLflow documents it; the
    general endpoint points metrics (and logs) at the same server, which has no route for them.
    """
    return remote_env(
        tmp_path,
        OTEL_EXPORTER_OTLP_ENDPOINT=server.url,
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"{server.url}/v1/traces",
        OTEL_EXPORTER_OTLP_TRACES_HEADERS=f"{EXPERIMENT_HEADER}={experiment_id}",
        OTEL_KEDRO_DELIVERY_WAIT="20",  # wait for the acknowledgement even on a slow machine
    )


def _wait_for_spans(server: MlflowServer, experiment_id: str, count: int) -> list[dict[str, Any]]:
    """The experiment's traces once they hold ``count`` spans (or after a minute, as they are)."""
    deadline = time.monotonic() + 60
    traces = server.traces(experiment_id)
    while sum(len(t["spans"]) for t in traces) < count and time.monotonic() < deadline:
        time.sleep(1)
        traces = server.traces(experiment_id)
    return traces


def _assert_same_spans(local: list[DecodedSpan], traces: list[dict[str, Any]]) -> None:
    """One MLflow trace holding every local span once, with its id, name, parent and status."""
    assert len(traces) == 1, [t["trace_id"] for t in traces]
    (trace,) = traces
    stored = trace["spans"]
    (trace_id,) = {span.trace_id for span in local}
    assert trace["trace_id"] == f"tr-{trace_id}", "MLflow names the trace after the OTel trace id"
    by_id = {span["span_id"]: span for span in stored}
    assert len(by_id) == len(stored) == len(local), "no span lost or stored twice"
    assert sorted(by_id) == sorted(span.span_id for span in local)
    for mine in local:
        theirs = by_id[mine.span_id]
        assert theirs["trace_id"] == mine.trace_id, mine.name
        assert theirs["name"] == mine.name
        assert theirs["parent_id"] == (mine.parent_id or None), mine.name
        assert theirs["status"] == _STATUS[mine.status_code], mine.name


def _posts(server: MlflowServer, route: str) -> int:
    """How many OTLP requests the server logged for ``route`` (uvicorn's access log)."""
    return len(re.findall(rf'"POST {re.escape(route)} HTTP/1\.1"', server.log_tail(10**8)))


def _assert_only_traces_taken(delivery: dict[str, Any], traces_key: str, folder: Path) -> None:
    """Every line of traces.jsonl acknowledged; metrics and logs remembered as unsupported
    (MLflow's 404) rather than failed, so nothing retries them."""
    entry = delivery[traces_key]
    size = (folder / "traces.jsonl").stat().st_size
    assert entry["acknowledged"]["traces.jsonl"] == [[0, size]], delivery
    assert set(entry["unsupported"]) == {"metrics.jsonl", "logs.jsonl"}, delivery
    for reason in entry["unsupported"].values():
        assert "404" in reason, delivery


@pytest.mark.parametrize("outcome", ["success", "failure"])
def test_mlflow_stores_exactly_the_local_trace(
    mlflow: MlflowServer, example_project: Path, tmp_path: Path, outcome: str
) -> None:
    experiment_id = mlflow.create_experiment(f"otel-kedro-{outcome}")
    env = _mlflow_env(tmp_path, mlflow, experiment_id)
    metrics_posts_before = _posts(mlflow, "/v1/metrics")
    args = ["run"] if outcome == "success" else ["run", "--params", "quality.fail=true"]

    result = run_kedro(example_project, *args, env=env)

    assert (result.returncode == 0) == (outcome == "success"), result.stderr[-3000:]
    assert "not delivered" not in result.stderr, "an unsupported signal is not a failure"
    (folder,) = run_folders(example_project)
    local = read_spans(folder / "traces.jsonl")
    delivery = json.loads((folder / "delivery.json").read_text())
    traces_key = f"otlp http/protobuf {mlflow.url}/v1/traces"
    _assert_only_traces_taken(delivery, traces_key, folder)
    assert _posts(mlflow, "/v1/metrics") == metrics_posts_before + 1, "one try, then remembered"

    traces = _wait_for_spans(mlflow, experiment_id, len(local))
    _assert_same_spans(local, traces)
    names = {span["name"] for span in traces[0]["spans"]}
    if outcome == "success":
        assert names >= EXAMPLE_NODES
    else:
        failed = {span["name"] for span in traces[0]["spans"] if span["status"] == "ERROR"}
        assert {"check_quality", "RUN __default__"} <= failed, failed


def test_replay_does_not_retry_what_mlflow_cannot_take(
    mlflow: MlflowServer, example_project: Path, tmp_path: Path
) -> None:
    experiment_id = mlflow.create_experiment("otel-kedro-replay")
    env = _mlflow_env(tmp_path, mlflow, experiment_id)
    result = run_kedro(example_project, "run", "--pipeline", "data_processing", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    (folder,) = run_folders(example_project)
    before = {route: _posts(mlflow, route) for route in ("/v1/traces", "/v1/metrics", "/v1/logs")}
    recorded = json.loads((folder / "delivery.json").read_text())

    replay = run_kedro(example_project, "otel", "replay", "--all", env=env)

    assert replay.returncode == 0, replay.stdout + replay.stderr
    after = {route: _posts(mlflow, route) for route in before}
    assert after == before, "nothing acknowledged or unsupported is sent again"
    assert json.loads((folder / "delivery.json").read_text()) == recorded
    local = read_spans(folder / "traces.jsonl")
    _assert_same_spans(local, _wait_for_spans(mlflow, experiment_id, len(local)))
