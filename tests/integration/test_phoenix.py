"""End to end against Arize Phoenix, an OTLP backend nobody here wrote: what it stores after a run
is exactly the run's local trace file (ids, names, parents, times, status), over HTTP and gRPC.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.kedro_projects import EXAMPLE_NODES, remote_env, run_folders, run_kedro
from tests.support.otlp_json import DecodedSpan, read_spans
from tests.support.phoenix_server import PhoenixServer, PhoenixUnavailableError, ensure_phoenix

# The first run installs Phoenix (minutes); later runs reuse the cached environment.
pytestmark = [pytest.mark.phoenix, pytest.mark.timeout(1800)]

_STATUS = {0: "UNSET", 1: "OK", 2: "ERROR"}
_ONE_MICROSECOND = dt.timedelta(microseconds=1)


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PhoenixServer]:
    try:
        executable = ensure_phoenix()
    except PhoenixUnavailableError as error:
        pytest.skip(f"Arize Phoenix cannot be installed here: {error}")
    with PhoenixServer(executable, tmp_path_factory.mktemp("phoenix")) as server:
        yield server


def _from_ns(timestamp_ns: int) -> dt.datetime:
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    return epoch + dt.timedelta(microseconds=timestamp_ns // 1000)


def _assert_same_spans(local: list[DecodedSpan], stored: list[dict[str, Any]]) -> None:
    """Phoenix's copy of every span matches the local file's, field by field that it keeps."""
    assert len(stored) == len(local)
    by_id = {span["context"]["span_id"]: span for span in stored}
    assert sorted(by_id) == sorted(span.span_id for span in local), "same span ids, none twice"
    for mine in local:
        theirs = by_id[mine.span_id]
        assert theirs["name"] == mine.name
        assert theirs["context"]["trace_id"] == mine.trace_id
        assert theirs["parent_id"] == (mine.parent_id or None), mine.name
        assert theirs["status_code"] == _STATUS[mine.status_code], mine.name
        # Phoenix keeps microseconds, converted through a float; the file has nanoseconds.
        for field, ns in (("start_time", mine.start_ns), ("end_time", mine.end_ns)):
            error = dt.datetime.fromisoformat(theirs[field]) - _from_ns(ns)
            assert abs(error) <= _ONE_MICROSECOND, (mine.name, field, error)


def _assert_run_shape(stored: list[dict[str, Any]]) -> None:
    """The tree Phoenix shows: command (with its start-up phases), run, one span per node,
    loads and saves under nodes.
    """
    by_id = {span["context"]["span_id"]: span for span in stored}
    roots = [span for span in stored if span["parent_id"] is None]
    assert [root["name"] for root in roots] == ["kedro run"]
    (run,) = [span for span in stored if span["name"] == "RUN __default__"]
    assert run["parent_id"] == roots[0]["context"]["span_id"]
    nodes = [span for span in stored if span["parent_id"] == run["context"]["span_id"]]
    assert sorted(span["name"] for span in nodes) == sorted(EXAMPLE_NODES)
    io = [span for span in stored if span["name"].startswith(("LOAD ", "SAVE "))]
    assert io, "dataset loads and saves are stored"
    for span in io:
        assert by_id[span["parent_id"]]["name"] in EXAMPLE_NODES, span["name"]
    startup = [span for span in stored if span["name"].startswith("STARTUP ")]
    assert all(span["parent_id"] == roots[0]["context"]["span_id"] for span in startup)
    assert len(stored) == 2 + len(startup) + len(nodes) + len(io)
    assert len({span["context"]["trace_id"] for span in stored}) == 1


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_phoenix_stores_exactly_the_local_trace(
    phoenix: PhoenixServer, example_project: Path, tmp_path: Path, protocol: str
) -> None:
    endpoint = phoenix.grpc_endpoint if protocol == "grpc" else phoenix.http_endpoint
    project_name = f"otel-kedro-{protocol.partition('/')[0]}"
    env = remote_env(
        tmp_path,
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL=protocol,
        # Phoenix files spans under the project this resource attribute names.
        OTEL_RESOURCE_ATTRIBUTES=f"openinference.project.name={project_name}",
        OTEL_KEDRO_DELIVERY_WAIT="10",  # wait for the acknowledgement even on a slow machine
    )
    result = run_kedro(example_project, "run", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    (folder,) = run_folders(example_project)
    local = read_spans(folder / "traces.jsonl")

    delivery = json.loads((folder / "delivery.json").read_text())
    key = f"otlp {protocol} {endpoint}" + ("" if protocol == "grpc" else "/v1/traces")
    size = (folder / "traces.jsonl").stat().st_size
    assert delivery[key]["acknowledged"]["traces.jsonl"] == [[0, size]], delivery
    # Phoenix takes traces only (HTTP 405, gRPC UNIMPLEMENTED): remembered, not a failure.
    assert "takes no OTLP logs" in delivery[key]["unsupported"]["logs.jsonl"], delivery
    assert "not delivered" not in result.stderr

    stored = phoenix.wait_for_spans(project_name, len(local))
    time.sleep(1)  # room for a duplicate delivery to show up before the final read
    stored = phoenix.spans(project_name)
    _assert_same_spans(local, stored)
    _assert_run_shape(stored)
