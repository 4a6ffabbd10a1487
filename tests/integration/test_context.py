"""Inbound W3C TRACEPARENT, the context subprocesses inherit, user spans, generator nodes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.support.kedro_projects import (
    BIN,
    PROBE_NODES,
    PROBE_REGISTRY,
    clean_env,
    run_folders,
    run_kedro,
    write_project,
)
from tests.support.otlp_json import read_spans
from tests.support.trace_checks import check_run_trace

INBOUND_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
INBOUND_PARENT = "00f067aa0ba902b7"


@pytest.fixture
def probe_project(tmp_path: Path) -> Path:
    return write_project(tmp_path, "probe", PROBE_REGISTRY)


@pytest.mark.parametrize(
    ("runner", "context"),
    [("SequentialRunner", "fork"), ("ThreadRunner", "fork"), ("ParallelRunner", "spawn")],
)
def test_run_joins_inbound_traceparent_and_children_inherit_it(
    probe_project: Path, tmp_path: Path, runner: str, context: str
) -> None:
    child_out = tmp_path / "child_traceparent.txt"
    env = clean_env(
        TRACEPARENT=f"00-{INBOUND_TRACE}-{INBOUND_PARENT}-01",
        TRACESTATE="vendor=value",
        PROBE_OUT=str(child_out),
        KEDRO_MP_CONTEXT=context,
    )
    result = run_kedro(probe_project, "run", "--runner", runner, env=env)
    assert result.returncode == 0, result.stderr[-3000:]

    spans = read_spans(run_folders(probe_project)[0] / "traces.jsonl")
    ours = [s for s in spans if s.name != "user-work"]
    check_run_trace(ours, command=True, expect_nodes=PROBE_NODES)
    assert {s.trace_id for s in spans} == {INBOUND_TRACE}
    command = next(s for s in spans if s.name == "kedro run")
    assert command.parent_id == INBOUND_PARENT
    run = next(s for s in spans if s.name == "RUN __default__")

    version, trace_id, parent_id, flags = child_out.read_text().split("-")
    assert (version, trace_id, flags) == ("00", INBOUND_TRACE, "01")
    assert parent_id == run.span_id, "a node's subprocess must see the run's context"


def test_user_spans_nest_under_their_node_and_generator_nodes_cover_their_chunks(
    probe_project: Path,
) -> None:
    result = run_kedro(probe_project, "run", env=clean_env())
    assert result.returncode == 0, result.stderr[-3000:]
    spans = read_spans(run_folders(probe_project)[0] / "traces.jsonl")
    by_id = {s.span_id: s for s in spans}
    user_spans = [s for s in spans if s.name == "user-work"]
    assert len(user_spans) == 3
    assert sorted(by_id[s.parent_id].name for s in user_spans) == [
        "user_code",
        "user_code_b",
        "user_code_c",
    ]
    chunks = next(s for s in spans if s.name == "chunks")
    saves = [s for s in spans if s.name == "SAVE chunked"]
    assert len(saves) == 3
    assert all(s.parent_id == chunks.span_id for s in saves)
    assert chunks.end_ns >= max(s.end_ns for s in saves)


def test_no_traceparent_leaks_after_the_run(probe_project: Path) -> None:
    script = textwrap.dedent(
        f"""
        import json, os
        from kedro.framework.session import KedroSession
        from kedro.framework.startup import bootstrap_project
        bootstrap_project({str(probe_project)!r})
        with KedroSession.create(project_path={str(probe_project)!r}) as session:
            session.run()
        print(json.dumps({{k: v for k, v in os.environ.items() if k.startswith(("TRACE", "OTEL", "_OTEL"))}}))
        """
    )
    env = clean_env(TRACEPARENT=f"00-{INBOUND_TRACE}-{INBOUND_PARENT}-01")
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=probe_project, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    leftover = json.loads(result.stdout.strip().splitlines()[-1])
    assert leftover == {"TRACEPARENT": f"00-{INBOUND_TRACE}-{INBOUND_PARENT}-01"}
    run = next(
        s
        for s in read_spans(run_folders(probe_project)[0] / "traces.jsonl")
        if s.name == "RUN __default__"
    )
    assert (run.trace_id, run.parent_id) == (INBOUND_TRACE, INBOUND_PARENT)


def _signal_mid_run(project: Path, tmp_path: Path, signum: int) -> tuple[int, str]:
    """Run the probe project and send ``signum`` while a node sleeps; exit code and output."""
    started = tmp_path / "user_code_started"
    process = subprocess.Popen(
        [str(BIN / "kedro"), "run"],
        cwd=project,
        env=clean_env(PROBE_SLEEP="30", PROBE_STARTED=str(started)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not started.exists() and time.monotonic() < deadline:  # inside user_code's sleep
        time.sleep(0.05)
    process.send_signal(signum)
    output, _ = process.communicate(timeout=120)
    return process.returncode, output


def test_ctrl_c_mid_run_still_writes_a_complete_trace(probe_project: Path, tmp_path: Path) -> None:
    returncode, output = _signal_mid_run(probe_project, tmp_path, signal.SIGINT)
    assert returncode == 1, output[-2000:]
    assert output.count("otel-kedro: trace written to") == 1

    spans = read_spans(run_folders(probe_project)[0] / "traces.jsonl")
    by_name = {s.name: s for s in spans}
    run = by_name["RUN __default__"]
    assert run.attributes["cicd.pipeline.result"] == "cancellation"
    assert by_name["kedro run"].attributes["process.exit.code"] == 1
    interrupted = [s for s in spans if s.status_message == "cancelled while running"]
    assert [s.name for s in interrupted] == ["user_code"]
    ids = {s.span_id for s in spans}
    assert all(s.parent_id in ids for s in spans if s.name != "kedro run"), "no orphan spans"


def test_sigterm_mid_run_completes_the_files_and_still_dies_of_sigterm(
    probe_project: Path, tmp_path: Path
) -> None:
    returncode, output = _signal_mid_run(probe_project, tmp_path, signal.SIGTERM)
    assert returncode == -signal.SIGTERM, output[-2000:]  # as without the plugin

    folder = run_folders(probe_project)[0]
    spans = read_spans(folder / "traces.jsonl")
    by_name = {s.name: s for s in spans}
    assert by_name["RUN __default__"].attributes["cicd.pipeline.result"] == "cancellation"
    assert by_name["kedro run"].attributes["process.exit.code"] == -signal.SIGTERM
    assert [s.name for s in spans if s.status_message == "cancelled while running"] == ["user_code"]
    info = json.loads((folder / "info.json").read_text())
    assert info["execution_summary"]["num_samples"] >= 1
    assert info["execution_summary"]["exit_code"] == -signal.SIGTERM, "the command's, not the run's"
    assert (folder / "metrics.jsonl").read_text().strip()
