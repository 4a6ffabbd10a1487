"""otel-kedro inside an application: concurrent service runs, and an SDK provider it already has."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.kedro_projects import (
    PROBE_NODES,
    PROBE_REGISTRY,
    clean_env,
    run_folders,
    write_project,
)
from tests.support.otlp_json import read_spans
from tests.support.trace_checks import check_run_trace


@pytest.fixture
def probe_project(tmp_path: Path) -> Path:
    return write_project(tmp_path, "probe", PROBE_REGISTRY)


def _python(script: str, project: Path, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=project,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_concurrent_service_runs_on_one_hook_instance_keep_their_spans_apart(
    probe_project: Path,
) -> None:
    _python(
        f"""
        import threading
        from kedro.framework.session import KedroServiceSession
        from kedro.framework.startup import bootstrap_project
        from kedro.runner import SequentialRunner, ThreadRunner

        bootstrap_project({str(probe_project)!r})
        barrier = threading.Barrier(4)
        with KedroServiceSession.create(serving_mode=True) as session:
            def run(index):
                barrier.wait()
                runner = ThreadRunner() if index % 2 else SequentialRunner()
                session.run(run_id=f"run-{{index}}", runner=runner)

            threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        """,
        probe_project,
        PROBE_SLEEP="0.3",
    )
    folders = run_folders(probe_project)
    assert len(folders) == 4
    trace_ids = set()
    for folder in folders:
        spans = read_spans(folder / "traces.jsonl")
        ours = [s for s in spans if s.name != "user-work"]
        check_run_trace(ours, command=False, expect_nodes=PROBE_NODES)
        run = next(s for s in spans if s.name.startswith("RUN "))
        assert folder.name.startswith(run.attributes["cicd.pipeline.run.id"])
        assert run.parent_id == "", "a concurrent run must not become another run's child"
        assert len([s for s in spans if s.name == "user-work"]) == 3
        trace_ids |= {s.trace_id for s in spans}
    assert len(trace_ids) == 4


def test_existing_sdk_provider_is_extended_not_replaced(probe_project: Path) -> None:
    output = _python(
        f"""
        import json
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from opentelemetry.sdk.resources import Resource
        from kedro.framework.session import KedroSession
        from kedro.framework.startup import bootstrap_project

        memory = InMemorySpanExporter()
        provider = TracerProvider(resource=Resource.create({{"service.name": "my-app"}}))
        provider.add_span_processor(SimpleSpanProcessor(memory))
        trace.set_tracer_provider(provider)

        bootstrap_project({str(probe_project)!r})
        with KedroSession.create(project_path={str(probe_project)!r}) as session:
            session.run()
        print(json.dumps({{
            "same_provider": trace.get_tracer_provider() is provider,
            "names": sorted(span.name for span in memory.get_finished_spans()),
        }}))
        """,
        probe_project,
    )
    seen = json.loads(output.strip().splitlines()[-1])
    assert seen["same_provider"]
    assert "RUN __default__" in seen["names"]
    assert set(PROBE_NODES) <= set(seen["names"])
    written = read_spans(run_folders(probe_project)[0] / "traces.jsonl")
    assert sorted(s.name for s in written) == seen["names"]
    assert {s.resource["service.name"] for s in written} == {"my-app"}
