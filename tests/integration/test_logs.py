"""Logs as the third signal: Python logging records of real ``kedro run``s under every runner,
written to logs.jsonl (decoded with opentelemetry-proto) with the span they were emitted in,
scrubbed, and delivered over OTLP only with consent."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from otel_kedro.processors.identifiers import HASH_PREFIX
from tests.support.kedro_projects import (
    BIN,
    clean_env,
    remote_env,
    run_folders,
    run_kedro,
    write_project,
)
from tests.support.otlp_json import DecodedLog, decoded_logs, read_logs, read_spans
from tests.support.otlp_receivers import GrpcReceiver, HttpReceiver, log_records, refused_endpoint

# Shapes the secret scrubber knows; the parts after "=" must appear in no output of ours.
MESSAGE_SECRET = "hunter2-LOG-SECRET"  # noqa: S105 - planted on purpose
EXCEPTION_SECRET = "Zq8vN3kLp0sW7xY2-EXC"  # noqa: S105 - planted on purpose

LOG_REGISTRY = f"""
    import logging

    from kedro.pipeline import node, pipeline

    logger = logging.getLogger("logprobe")
    logger.setLevel(logging.DEBUG)


    def first():
        logger.info("first node connects with password={MESSAGE_SECRET}")
        logger.debug("a debug line below the default threshold")
        return 1


    def second(value):
        try:
            raise RuntimeError("upstream refused api_key={EXCEPTION_SECRET}")
        except RuntimeError:
            logger.exception("second node caught an error")
        logger.warning("second node got %s", value)
        return value + 1


    def branch(value):
        logger.info("branch node runs")
        return value


    def last(value, other):
        logger.info("last node saw %s and %s", value, other)
        return value + other


    def register_pipelines():
        default = pipeline(
            [
                node(first, None, "a", name="first"),
                node(second, "a", "b", name="second"),
                node(branch, "a", "c", name="branch"),
                node(last, ["b", "c"], "d", name="last"),
            ]
        )
        return {{"__default__": default}}
"""
LOG_NODES = ("first", "second", "branch", "last")

RUNNERS = [
    pytest.param("SequentialRunner", {}, id="sequential"),
    pytest.param("ThreadRunner", {}, id="thread"),
    pytest.param("ParallelRunner", {"KEDRO_MP_CONTEXT": "fork"}, id="parallel-fork"),
    pytest.param("ParallelRunner", {"KEDRO_MP_CONTEXT": "spawn"}, id="parallel-spawn"),
]


@pytest.fixture
def log_project(tmp_path: Path) -> Path:
    return write_project(tmp_path, "logprobe", LOG_REGISTRY)


def _only_folder(project: Path) -> Path:
    folders = run_folders(project)
    assert len(folders) == 1, folders
    return folders[0]


def _by_body(logs: list[DecodedLog], text: str) -> DecodedLog:
    found = [record for record in logs if text in str(record.body)]
    assert len(found) == 1, (text, [r.body for r in logs])
    return found[0]


def _assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert MESSAGE_SECRET not in text
        assert EXCEPTION_SECRET not in text


@pytest.mark.parametrize(("runner", "env"), RUNNERS)
def test_records_carry_the_span_they_were_emitted_in(
    log_project: Path, runner: str, env: dict[str, str]
) -> None:
    result = run_kedro(log_project, "run", "--runner", runner, env=clean_env(**env))
    assert result.returncode == 0, result.stderr[-3000:]
    folder = _only_folder(log_project)
    spans = read_spans(folder / "traces.jsonl")
    logs = read_logs(folder / "logs.jsonl")  # every line an ExportLogsServiceRequest

    trace_ids = {span.trace_id for span in spans}
    assert len(trace_ids) == 1
    assert {record.trace_id for record in logs} == trace_ids, "every record is in the run's trace"
    nodes = {span.name: span for span in spans if span.name in LOG_NODES}
    run = next(span for span in spans if span.name.startswith("RUN "))

    # The user's records, each with the span of the node that logged it, in whatever process.
    assert _by_body(logs, "first node connects").span_id == nodes["first"].span_id
    assert _by_body(logs, "branch node runs").span_id == nodes["branch"].span_id
    assert _by_body(logs, "last node saw 2 and 1").span_id == nodes["last"].span_id
    warning = _by_body(logs, "second node got 1")
    assert warning.span_id == nodes["second"].span_id
    assert (warning.severity_text, warning.severity_number) == ("WARN", 13)
    assert warning.scope == "logprobe"
    # Kedro's own records: "Running node" inside the node, "Saving data" of its outputs too.
    for name in LOG_NODES:
        running = [r for r in logs if str(r.body).startswith(f"Running node: {name}:")]
        assert [r.span_id for r in running] == [nodes[name].span_id]
        assert running[0].scope == "kedro.pipeline.node"
    assert any(r.span_id == run.span_id for r in logs), "runner records carry the run span"
    # Kedro loads a node's inputs before the node starts: those records wait for its span.
    loads = {
        dataset: sorted(
            r.span_id for r in logs if str(r.body).startswith(f"Loading data from {dataset} ")
        )
        for dataset in ("a", "b", "c")
    }
    assert loads["a"] == sorted([nodes["second"].span_id, nodes["branch"].span_id])
    assert loads["b"] == loads["c"] == [nodes["last"].span_id]

    error = _by_body(logs, "second node caught an error")
    assert error.span_id == nodes["second"].span_id
    assert (error.severity_text, error.severity_number) == ("ERROR", 17)
    assert error.attributes["exception.type"] == "RuntimeError"
    assert "api_key=*****" in error.attributes["exception.message"]
    assert "in second" in error.attributes["exception.stacktrace"]
    assert error.attributes["code.function.name"] == "second"
    assert not [r for r in logs if "debug line" in str(r.body)], "below logs_level (INFO)"

    # (Under ParallelRunner the node records above were emitted in worker processes only.)
    # No secret in any file of ours (the console is the user's own handler's business).
    _assert_no_secret(*(path.read_text(errors="replace") for path in folder.iterdir()))


def _normalised(text: str) -> list[str]:
    """Console lines without what changes from run to run (times, durations, our own lines)."""
    lines = []
    for raw in text.splitlines():
        if _ours(raw):
            continue
        line = re.sub(r"\[\d\d/\d\d/\d\d \d\d:\d\d:\d\d\]", "", raw)
        line = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+", "", line)
        line = re.sub(r"in \d+\.\d+ sec", "in _ sec", line)
        if line.strip():
            lines.append(" ".join(line.split()))
    return lines


def _ours(line: str) -> bool:
    """otel-kedro's own announcement and summary lines (they hold this run's figures)."""
    return line.startswith("otel-kedro:") or (
        line.startswith("  ")
        and line.lstrip().startswith(
            ("memory ", "cpu ", "slowest nodes", "peak memory", "files ", "report ")
        )
    )


def test_console_output_is_the_same_with_logs_on_and_off(log_project: Path) -> None:
    outputs = {}
    for logs in ("false", "true", "false", "true"):
        result = run_kedro(log_project, "run", env=clean_env(OTEL_KEDRO_LOGS=logs))
        assert result.returncode == 0, result.stderr[-3000:]
        outputs.setdefault(logs, []).append(
            (_normalised(result.stdout), _normalised(result.stderr))
        )
    off, on = outputs["false"], outputs["true"]
    assert off[0] == off[1], "the comparison itself must be stable"
    assert on[0] == off[0]
    assert on[1] == off[0]
    assert any("first node connects" in line for line in on[0][0] + on[0][1])
    folders = run_folders(log_project)
    assert [(f / "logs.jsonl").exists() for f in folders] == [False, True, False, True]


def _wait_for(predicate: object, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("receiver_class", "protocol"), [(HttpReceiver, "http/protobuf"), (GrpcReceiver, "grpc")]
)
def test_with_consent_every_record_reaches_the_collector_scrubbed_and_hashed(
    log_project: Path, tmp_path: Path, receiver_class: type, protocol: str
) -> None:
    with receiver_class() as receiver:
        env = remote_env(
            tmp_path,
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
            OTEL_EXPORTER_OTLP_PROTOCOL=protocol,
            OTEL_KEDRO_DELIVERY_WAIT="10",
        )
        (log_project / ".telemetry").write_text("consent: false\n")
        result = run_kedro(log_project, "run", env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        _wait_for(lambda: receiver.log_requests)
    folder = _only_folder(log_project)
    local = read_logs(folder / "logs.jsonl")
    sent = decoded_logs(receiver.log_requests)
    assert sorted((r.time_ns, str(r.body)) for r in sent) == sorted(
        (r.time_ns, str(r.body)) for r in local
    )
    assert sorted(r.span_id for r in sent) == sorted(r.span_id for r in local)
    assert all(r.resource["host.name"].startswith(HASH_PREFIX) for r in sent)
    # The OTLP chain hashes the project path in code locations; the local file keeps it.
    project = str(log_project.resolve())
    assert _by_body(local, "first node connects").attributes["code.file.path"].startswith(project)
    sent_path = _by_body(sent, "first node connects").attributes["code.file.path"]
    assert project not in sent_path
    assert sent_path.endswith("pipeline_registry.py")
    assert all(r.resource["process.owner"].startswith(HASH_PREFIX) for r in sent)
    _assert_no_secret(*(str(request) for request in receiver.log_requests))
    (entry,) = json.loads((folder / "delivery.json").read_text()).values()
    size = (folder / "logs.jsonl").stat().st_size
    assert entry["acknowledged"]["logs.jsonl"] == [[0, size]], "every line acknowledged"


def test_without_consent_no_record_is_sent(log_project: Path, tmp_path: Path) -> None:
    with HttpReceiver() as receiver:
        env = remote_env(
            tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, OTEL_KEDRO_CONSENT="false"
        )
        result = run_kedro(log_project, "run", env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        time.sleep(0.5)
    assert read_logs(_only_folder(log_project) / "logs.jsonl"), "recorded locally all the same"
    assert receiver.log_requests == []
    assert receiver.requests == []


def _replay(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "otel-kedro"), "replay", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("receiver_class", "protocol"), [(HttpReceiver, "http/protobuf"), (GrpcReceiver, "grpc")]
)
def test_a_backend_without_logs_is_remembered_and_not_retried(
    log_project: Path, tmp_path: Path, receiver_class: type, protocol: str
) -> None:
    (log_project / ".telemetry").write_text("consent: false\n")
    with receiver_class(logs=False) as receiver:
        env = remote_env(
            tmp_path,
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
            OTEL_EXPORTER_OTLP_PROTOCOL=protocol,
            OTEL_KEDRO_DELIVERY_WAIT="10",
        )
        result = run_kedro(log_project, "run", env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        folder = _only_folder(log_project)
        again = _replay(log_project, env, "--all")
        assert again.returncode == 0, again.stdout + again.stderr
    assert receiver.requests, "traces are delivered all the same"
    assert receiver.log_requests == []
    if protocol != "grpc":
        assert receiver.refused_logs == 1, "a 404 on /v1/logs is remembered, not retried"
    (entry,) = json.loads((folder / "delivery.json").read_text()).values()
    assert "takes no OTLP logs" in entry["unsupported"]["logs.jsonl"]
    assert "not delivered" not in result.stderr, "an unsupported signal is not a failure"


def test_replay_sends_the_logs_a_down_collector_missed(log_project: Path, tmp_path: Path) -> None:
    (log_project / ".telemetry").write_text("consent: false\n")
    env = remote_env(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=refused_endpoint())
    assert run_kedro(log_project, "run", env=env).returncode == 0
    folder = _only_folder(log_project)
    local = read_logs(folder / "logs.jsonl")
    with HttpReceiver() as receiver:
        first = _replay(log_project, env, "--all", "--endpoint", receiver.endpoint)
        assert first.returncode == 0, first.stdout + first.stderr
        assert len(log_records(receiver.log_requests)) == len(local)
        second = _replay(log_project, env, "--all", "--endpoint", receiver.endpoint)
        assert second.returncode == 0
        assert len(log_records(receiver.log_requests)) == len(local), "sent once"


def test_the_threshold_applies_in_workers_too(log_project: Path) -> None:
    env = clean_env(KEDRO_MP_CONTEXT="spawn", OTEL_KEDRO_LOGS_LEVEL="warning")
    result = run_kedro(log_project, "run", "--runner", "ParallelRunner", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    logs = read_logs(_only_folder(log_project) / "logs.jsonl")
    assert sorted(str(r.body) for r in logs) == [
        "second node caught an error",
        "second node got 1",
    ]
    assert all(r.severity_number >= 13 for r in logs)
