"""Start-up phases under the command span, and failures around the run (issue 11 items 5-7):
real ``kedro run`` subprocesses of the example project.
"""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import textwrap
import time
from pathlib import Path

from tests.support.kedro_projects import (
    BIN,
    EXAMPLE_NODES,
    clean_env,
    run_folders,
    run_kedro,
    write_project,
)
from tests.support.otlp_json import DecodedSpan, read_spans
from tests.support.trace_checks import check_run_trace, only_run_spans

PHASES = ["STARTUP bootstrap", "STARTUP session", "STARTUP pipelines", "STARTUP catalog"]
PARAM_VALUE = "tok3n-value-never-written"


def _by_name(spans: list[DecodedSpan]) -> dict[str, DecodedSpan]:
    return {s.name: s for s in spans}


def test_startup_phases_explain_the_time_before_the_run(example_project: Path) -> None:
    """Bootstrap, session, pipeline registry and catalog are consecutive children of the
    command span, inside it, and end before the run span starts.
    """
    result = run_kedro(example_project, "run", env=clean_env())
    assert result.returncode == 0, result.stderr[-3000:]
    spans = only_run_spans(example_project)
    check_run_trace(spans, command=True, expect_nodes=EXAMPLE_NODES)
    by_name = _by_name(spans)
    command, run = by_name["kedro run"], by_name["RUN __default__"]
    phases = [by_name[name] for name in PHASES]
    assert [p.attributes["kedro.startup.phase"] for p in phases] == [
        "bootstrap",
        "session",
        "pipelines",
        "catalog",
    ]
    assert all(p.parent_id == command.span_id for p in phases)
    assert command.start_ns == phases[0].start_ns, "the command starts with its process"
    for earlier, later in itertools.pairwise(phases):
        assert earlier.start_ns <= earlier.end_ns <= later.start_ns
    assert phases[-1].end_ns <= run.start_ns <= run.end_ns <= command.end_ns
    assert phases[2].end_ns > phases[2].start_ns, "the registry's import takes time"


def test_an_unknown_pipeline_still_leaves_a_failed_command_in_a_run_folder(
    example_project: Path,
) -> None:
    """Kedro fails before any run starts; the folder holds the command span (ERROR, the
    exception recorded), its start-up phases and the con-duct files, with --params masked.
    """
    result = run_kedro(
        example_project,
        "run",
        "--pipeline",
        "nope",
        "--params",
        f"token={PARAM_VALUE}",
        env=clean_env(),
    )
    assert result.returncode != 0
    assert "Failed to find the pipeline named 'nope'" in result.stderr
    folders = run_folders(example_project)
    assert len(folders) == 1
    spans = read_spans(folders[0] / "traces.jsonl")
    by_name = _by_name(spans)
    assert not any(s.name.startswith("RUN ") for s in spans)
    command = by_name["kedro run"]
    assert command.failed
    assert command.attributes["process.exit.code"] == 1
    assert command.attributes["process.command_args"] == [
        "kedro", "run", "--pipeline", "nope", "--params", "*****",
    ]  # fmt: skip
    exception = next(attrs for name, attrs in command.events if name == "exception")
    assert exception["exception.type"] == "ValueError"
    assert "nope" in exception["exception.message"]
    assert {"STARTUP bootstrap", "STARTUP session", "STARTUP pipelines"} <= set(by_name)
    assert "STARTUP catalog" not in by_name, "no catalog was created"
    info = json.loads((folders[0] / "info.json").read_text())
    assert info["command"].endswith("run --pipeline nope --params *****")
    assert info["execution_summary"]["exit_code"] == 1
    for path in folders[0].iterdir():
        assert PARAM_VALUE not in path.read_text(), path.name


def test_a_node_whose_input_fails_to_load_keeps_its_facts(example_project: Path) -> None:
    """The node span of a failed load carries the node's name, inputs, outputs and function."""
    (example_project / "data" / "01_raw" / "sales.csv").unlink()
    result = run_kedro(example_project, "run", "--pipeline", "data_processing", env=clean_env())
    assert result.returncode != 0
    spans = only_run_spans(example_project)
    failed = [s for s in spans if s.attributes.get("cicd.pipeline.task.run.result") == "failure"]
    assert len(failed) == 1, [s.name for s in failed]
    node = failed[0]
    assert node.name in {"check_quality", "clean_sales"}
    assert node.attributes["cicd.pipeline.task.name"] == node.name
    assert "sales_raw" in node.attributes["kedro.node.inputs"]
    assert node.attributes["kedro.node.outputs"]
    assert node.attributes["code.function.name"].startswith("retail_demo.pipelines.")
    assert node.attributes["error.type"]
    load = next(s for s in spans if s.name == "LOAD sales_raw" and s.parent_id == node.span_id)
    assert load.failed


def test_only_the_local_files_keep_kedro_run_option_values(example_project: Path) -> None:
    """--pipeline, --runner, --env and --tags values tell runs apart in the local files and
    con-duct's info.json; --params stays masked.
    """
    (example_project / "conf" / "staging").mkdir()
    args = ["run", "--pipeline", "data_processing", "--runner", "ThreadRunner", "--env",
            "staging", "--tags", "cleaning", "--params", f"token={PARAM_VALUE}"]  # fmt: skip
    result = subprocess.run(
        [str(BIN / "kedro"), *args],
        cwd=example_project,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    folder = run_folders(example_project)[0]
    command = _by_name(read_spans(folder / "traces.jsonl"))["kedro run"]
    expected = ["kedro", *args[:-1], "*****"]
    assert command.attributes["process.command_args"] == expected
    info = json.loads((folder / "info.json").read_text())
    assert info["command"].endswith(" ".join(expected[1:]))
    for path in folder.iterdir():
        assert PARAM_VALUE not in path.read_text(), path.name


SLOW_REGISTRY = """
    from kedro.pipeline import node, pipeline


    def consume(value):
        return value


    def register_pipelines():
        return {"__default__": pipeline([node(consume, "slow", "out", name="consume")])}
"""
SLOW_DATASET = """
    import os
    import time
    from pathlib import Path

    from kedro.io import AbstractDataset


    class SlowDataset(AbstractDataset):
        '''Loads slowly, saying when it began: a load to interrupt.'''

        def _load(self):
            Path(os.environ["PROBE_STARTED"]).write_text("loading")
            time.sleep(30)
            return 1

        def _save(self, data):
            raise NotImplementedError

        def _describe(self):
            return {}
"""


def test_ctrl_c_while_a_node_loads_ends_its_span_as_cancelled(tmp_path: Path) -> None:
    """SIGINT during an input's load: the node that was loading has a span, with its facts,
    ended as cancelled, and the run's result is cancellation.
    """
    project = write_project(tmp_path, "slowload", SLOW_REGISTRY)
    (project / "src" / "slowload" / "slow.py").write_text(textwrap.dedent(SLOW_DATASET))
    (project / "conf" / "base" / "catalog.yml").write_text(
        "slow:\n  type: slowload.slow.SlowDataset\n"
    )
    started = tmp_path / "load_started"
    process = subprocess.Popen(
        [str(BIN / "kedro"), "run"],
        cwd=project,
        env=clean_env(PROBE_STARTED=str(started)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 1, output[-2000:]

    spans = read_spans(run_folders(project)[0] / "traces.jsonl")
    by_name = _by_name(spans)
    assert by_name["RUN __default__"].attributes["cicd.pipeline.result"] == "cancellation"
    node = by_name["consume"]
    assert node.parent_id == by_name["RUN __default__"].span_id
    assert node.status_message == "cancelled while loading"
    assert node.attributes["kedro.node.inputs"] == ["slow"]
    assert node.attributes["code.function.name"] == "slowload.pipeline_registry.consume"
    assert by_name["LOAD slow"].parent_id == node.span_id
