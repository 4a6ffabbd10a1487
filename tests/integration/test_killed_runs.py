"""Runs that die outright (SIGKILL, the OOM killer, ``os._exit``) keep every ended span, their
memory samples up to the end, and are completed by the next command or run: in-flight spans end
as killed, the run's result is failure, ``info.json`` is written, and doing it twice adds nothing.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.kedro_projects import BIN, clean_env, run_folders, run_kedro, write_project
from tests.support.otlp_json import DecodedSpan, read_spans
from tests.support.otlp_metrics import metrics_by_name, number_points, read_requests

KILLED = "otel_kedro.ProcessKilled"
MB = 1_000_000

REGISTRY = """
    import os
    import time
    from pathlib import Path

    from kedro.pipeline import node, pipeline


    def first(value):
        return value + 1


    def second(value):
        return value + 1


    def victim(value):
        '''Does what VICTIM says, after telling the test which process it runs in.'''
        mode = os.environ.get("VICTIM", "none")
        if mode == "none":
            return value + 1
        Path(os.environ["VICTIM_STARTED"]).write_text(str(os.getpid()))
        if mode == "exit":
            os._exit(3)
        held = []
        grow_to = int(os.environ.get("VICTIM_GROW_MB", "0")) * 1_000_000
        while True:
            if sum(map(len, held)) < grow_to:
                chunk = bytearray(25_000_000)
                chunk[::4096] = b"x" * len(chunk[::4096])  # touch every page: real RSS
                held.append(chunk)
            time.sleep(0.1)


    def after(value):
        return value + 1


    def register_pipelines():
        nodes = [
            node(first, "d0", "d1", name="first"),
            node(second, "d1", "d2", name="second"),
            node(victim, "d2", "d3", name="victim"),
            node(after, "d3", "d4", name="after"),
        ]
        return {"__default__": pipeline(nodes)}
    """


@pytest.fixture
def project(tmp_path: Path) -> Path:
    project = write_project(tmp_path, "killed_demo", REGISTRY)
    (project / "conf" / "base" / "catalog.yml").write_text(
        "d0:\n  type: MemoryDataset\n  data: 0\n"
    )
    return project


def _start(project: Path, started: Path, mode: str, *args: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "kedro"), "run", *args],
        cwd=project,
        env=clean_env(VICTIM=mode, VICTIM_STARTED=str(started), **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _wait_for(condition: Callable[[], bool], process: subprocess.Popen, what: str) -> None:
    """Wait (bounded) until ``condition`` holds while the run is still going."""
    deadline = time.monotonic() + 120
    while not condition():
        if process.poll() is not None:
            _, err = process.communicate()
            pytest.fail(f"the run ended before {what}: {err[-3000:]}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def _usage_rss(folder: Path) -> int:
    """The highest tree RSS the con-duct usage records show so far."""
    try:
        lines = (folder / "usage.jsonl").read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return 0
    return max([0, *(json.loads(line)["totals"]["rss"] for line in lines if line.strip())])


def _complete_with_a_command(project: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(BIN / "otel-kedro"), "check", "--project", str(project)],
        cwd=project,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "otel-kedro: completed the killed run" in result.stderr, result.stderr[-3000:]
    return result


def _by_name(spans: list[DecodedSpan]) -> dict[str, DecodedSpan]:
    counts = Counter(s.span_id for s in spans)
    assert all(n == 1 for n in counts.values()), "a span was written twice"
    names = Counter(s.name for s in spans)
    assert all(n == 1 for n in names.values()), names
    return {s.name: s for s in spans}


def _check_killed(span: DecodedSpan) -> None:
    assert span.failed, span.name
    assert span.attributes["error.type"] == KILLED
    assert "killed" in span.status_message
    assert "exit code unknown" in span.status_message
    assert span.end_ns >= span.start_ns


def _check_ended_before_the_kill(spans: dict[str, DecodedSpan]) -> None:
    """What ended before the kill is there as it was written: successful, not killed."""
    for name in ("first", "second", "LOAD d0", "SAVE d1", "LOAD d1", "SAVE d2", "LOAD d2"):
        assert name in spans, sorted(spans)
        assert not spans[name].failed, name
        assert spans[name].attributes.get("error.type") is None
    assert spans["first"].attributes["cicd.pipeline.task.run.result"] == "success"
    assert "after" not in spans


def _memory_points(folder: Path) -> list[tuple[int, float]]:
    """(time, bytes) of every process.memory.usage point of metrics.jsonl, decoded with
    opentelemetry-proto."""
    metrics = metrics_by_name(read_requests(folder / "metrics.jsonl"))
    return [(at, value) for _, _, at, value in number_points(metrics["process.memory.usage"])]


def _lines(folder: Path) -> int:
    return len((folder / "traces.jsonl").read_text(encoding="utf-8").splitlines())


def test_sigkill_of_the_main_process_mid_node(project: Path, tmp_path: Path) -> None:
    """SIGKILL while a node grows its memory: the ended spans are on disk at once, the memory
    samples up to the kill too, and the next command ends the node, run and command as killed."""
    started = tmp_path / "started"
    run = _start(project, started, "grow", VICTIM_GROW_MB="300")
    _wait_for(started.exists, run, "the victim node started")
    (folder,) = run_folders(project)
    _wait_for(lambda: _usage_rss(folder) > 250 * MB, run, "a usage record showing the growth")
    # A live run is never completed by another process.
    alive = subprocess.run(
        [str(BIN / "otel-kedro"), "check", "--project", str(project)],
        cwd=project, env=clean_env(), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert "completed the killed run" not in alive.stderr
    assert "victim" not in {s.name for s in read_spans(folder / "traces.jsonl")}
    assert run.poll() is None
    os.kill(run.pid, signal.SIGKILL)
    run.communicate(timeout=60)
    assert run.returncode == -signal.SIGKILL

    # Before any completion: every span that had ended is already on disk.
    before = _by_name(read_spans(folder / "traces.jsonl"))
    _check_ended_before_the_kill(before)
    assert "victim" not in before
    assert not (folder / "info.json").exists()
    journal = (folder / "inflight.jsonl").read_bytes()
    # Samples up to the kill: metrics.jsonl holds the growth the usage records showed.
    points = _memory_points(folder)
    assert max(value for _, value in points) > 250 * MB

    _complete_with_a_command(project)
    spans = _by_name(read_spans(folder / "traces.jsonl"))
    _check_ended_before_the_kill(spans)
    victim, run_span, command = spans["victim"], spans["RUN __default__"], spans["kedro run"]
    for span in (victim, run_span, command):
        _check_killed(span)
    assert victim.attributes["cicd.pipeline.task.run.result"] == "failure"
    assert victim.attributes["cicd.pipeline.task.name"] == "victim"
    assert victim.attributes["kedro.node.memory.peak"] > 250 * MB
    assert victim.attributes["kedro.node.memory.peak.exact"] is False
    assert run_span.attributes["cicd.pipeline.result"] == "failure"
    assert victim.parent_id == run_span.span_id
    assert run_span.parent_id == command.span_id
    assert command.end_ns >= run_span.end_ns >= victim.end_ns >= spans["LOAD d2"].end_ns
    # The node that blew the memory is visible: the peak was sampled while it ran.
    peak_at, _ = max(points, key=lambda point: point[1])
    assert victim.start_ns <= peak_at <= victim.end_ns
    info = json.loads((folder / "info.json").read_text(encoding="utf-8"))
    summary = info["execution_summary"]
    assert summary["exit_code"] is None
    assert summary["peak_rss"] > 250 * MB
    assert "exit code unknown" in info["message"]
    assert not (folder / "inflight.jsonl").exists()
    listed = subprocess.run(
        [str(BIN / "con-duct"), "ls", str(folder / "info.json")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert "kedro run" in listed.stdout  # con-duct reads the completed run

    # A second completion adds nothing, even from a journal restored as a crash half-way
    # through the first one would have left it.
    lines = _lines(folder)
    (folder / "inflight.jsonl").write_bytes(journal)
    subprocess.run(
        [str(BIN / "otel-kedro"), "check", "--project", str(project)],
        cwd=project, env=clean_env(), capture_output=True, timeout=300, check=False,
    )  # fmt: skip
    assert _lines(folder) == lines
    assert len(read_spans(folder / "traces.jsonl")) == len(spans)
    assert not (folder / "inflight.jsonl").exists()


def test_os_exit_in_a_node_is_completed_by_the_next_run(project: Path, tmp_path: Path) -> None:
    """``os._exit(3)`` in a node: the LOAD that ended just before is kept, and the next
    ``kedro run`` of the project completes the dead run (once, however many runs follow)."""
    started = tmp_path / "started"
    result = run_kedro(project, "run", env=clean_env(VICTIM="exit", VICTIM_STARTED=str(started)))
    assert result.returncode == 3, result.stderr[-3000:]
    (dead,) = run_folders(project)
    before = _by_name(read_spans(dead / "traces.jsonl"))
    _check_ended_before_the_kill(before)

    for _ in range(2):  # the second run finds nothing more to do
        again = run_kedro(project, "run", env=clean_env(VICTIM="none"))
        assert again.returncode == 0, again.stderr[-3000:]
        spans = _by_name(read_spans(dead / "traces.jsonl"))
        _check_ended_before_the_kill(spans)
        for name in ("victim", "RUN __default__", "kedro run"):
            _check_killed(spans[name])
        assert spans["RUN __default__"].attributes["cicd.pipeline.result"] == "failure"
        assert (
            json.loads((dead / "info.json").read_text())["execution_summary"]["exit_code"] is None
        )
    assert "completed the killed run" not in again.stderr
    healthy = [folder for folder in run_folders(project) if folder != dead]
    assert len(healthy) == 2
    for folder in healthy:
        spans = _by_name(read_spans(folder / "traces.jsonl"))
        assert spans["RUN __default__"].attributes["cicd.pipeline.result"] == "success"
        assert not (folder / "inflight.jsonl").exists()


def test_sigkill_of_a_parallel_runner_worker(project: Path, tmp_path: Path) -> None:
    """A worker killed mid-node: the run ends as a failure and its own process ends the
    worker's node span as killed; nothing is left for a later command."""
    started = tmp_path / "started"
    run = _start(
        project, started, "grow", "--runner", "ParallelRunner", KEDRO_MP_CONTEXT="fork",
        VICTIM_GROW_MB="100",
    )  # fmt: skip
    _wait_for(started.exists, run, "the victim node started")
    worker = int(started.read_text())
    assert worker != run.pid
    (folder,) = run_folders(project)
    _wait_for(lambda: _usage_rss(folder) > 0, run, "a usage record")
    os.kill(worker, signal.SIGKILL)
    run.communicate(timeout=300)
    assert run.returncode != 0

    spans = _by_name(read_spans(folder / "traces.jsonl"))
    _check_ended_before_the_kill(spans)
    victim = spans["victim"]
    _check_killed(victim)
    assert f"a worker process (pid {worker})" in victim.status_message
    run_span = spans["RUN __default__"]
    assert run_span.failed
    assert run_span.attributes["cicd.pipeline.result"] == "failure"
    assert run_span.attributes["error.type"] != KILLED  # the run's process ended it itself
    assert (folder / "info.json").exists()
    assert not (folder / "inflight.jsonl").exists()
    lines = _lines(folder)
    check = subprocess.run(
        [str(BIN / "otel-kedro"), "check", "--project", str(project)],
        cwd=project, env=clean_env(), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert "completed the killed run" not in check.stderr
    assert _lines(folder) == lines


def _limit_address_space(limit: int) -> Callable[[], None]:
    def preexec() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return preexec


def test_rlimit_as_turns_into_a_memory_error_and_a_normal_failure(
    project: Path, tmp_path: Path
) -> None:
    """Under RLIMIT_AS the kernel refuses the allocation instead of killing: Python raises
    MemoryError, which is an ordinary node failure with the node's span ERROR."""
    started = tmp_path / "started"
    limit = 3_000 * 1024 * 1024
    result = subprocess.run(
        [str(BIN / "kedro"), "run"],
        cwd=project,
        env=clean_env(VICTIM="grow", VICTIM_STARTED=str(started), VICTIM_GROW_MB="100000"),
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_limit_address_space(limit),
        check=False,
    )
    assert started.exists(), result.stderr[-3000:]
    assert result.returncode == 1, result.stderr[-3000:]
    assert "MemoryError" in result.stderr
    (folder,) = run_folders(project)
    spans = _by_name(read_spans(folder / "traces.jsonl"))
    _check_ended_before_the_kill(spans)
    victim = spans["victim"]
    assert victim.failed
    assert victim.attributes["error.type"] == "MemoryError"
    assert spans["RUN __default__"].attributes["cicd.pipeline.result"] == "failure"
    assert not (folder / "inflight.jsonl").exists()
    assert json.loads((folder / "info.json").read_text())["execution_summary"]["exit_code"] == 1


def _memory_cgroup(tmp_path: Path, limit: int) -> Path | None:
    """A cgroup v1 memory child of ours limited to ``limit`` bytes (no swap), or None."""
    try:
        line = next(
            entry
            for entry in Path("/proc/self/cgroup").read_text().splitlines()
            if entry.split(":")[1] == "memory"
        )
    except (OSError, StopIteration, IndexError):
        return None
    parent = Path("/sys/fs/cgroup/memory") / line.split(":", 2)[2].lstrip("/")
    group = parent / f"otel-kedro-test-{os.getpid()}-{tmp_path.name}"
    try:
        group.mkdir()
        (group / "memory.limit_in_bytes").write_text(str(limit))
        swap = group / "memory.memsw.limit_in_bytes"
        if swap.exists():
            swap.write_text(str(limit))
    except OSError:
        shutil.rmtree(group, ignore_errors=True)
        return None
    return group


def test_the_oom_killer_in_a_memory_cgroup(project: Path, tmp_path: Path) -> None:
    """A real OOM kill: the run's process in a memory cgroup it outgrows is SIGKILLed by the
    kernel; the next command completes the run and the samples show the growth."""
    limit = 600 * MB
    group = _memory_cgroup(tmp_path, limit)
    if group is None:
        pytest.skip("no writable cgroup v1 memory controller here to put the run in")
    started = tmp_path / "started"

    def join() -> None:
        (group / "cgroup.procs").write_text(str(os.getpid()))

    try:
        result = subprocess.run(
            [str(BIN / "kedro"), "run"],
            cwd=project,
            env=clean_env(VICTIM="grow", VICTIM_STARTED=str(started), VICTIM_GROW_MB="2000"),
            capture_output=True,
            text=True,
            timeout=300,
            preexec_fn=join,
            check=False,
        )
        oom_kills = (group / "memory.oom_control").read_text()
    finally:
        group.rmdir()
    assert result.returncode == -signal.SIGKILL, (result.returncode, result.stderr[-3000:])
    kills = dict(line.split() for line in oom_kills.splitlines())
    assert int(kills.get("oom_kill", "1")) >= 1, oom_kills  # older kernels do not count them
    (folder,) = run_folders(project)
    points = _memory_points(folder)
    baseline = min(value for _, value in points)
    assert max(value for _, value in points) > baseline + 100 * MB

    _complete_with_a_command(project)
    spans = _by_name(read_spans(folder / "traces.jsonl"))
    _check_ended_before_the_kill(spans)
    for name in ("victim", "RUN __default__", "kedro run"):
        _check_killed(spans[name])
    peak_at, _ = max(points, key=lambda point: point[1])
    assert spans["victim"].start_ns <= peak_at <= spans["victim"].end_ns
    assert spans["victim"].attributes["kedro.node.memory.peak"] > baseline + 100 * MB


def test_with_consent_the_next_run_delivers_the_completed_run_once(
    project: Path, tmp_path: Path
) -> None:
    """The run that completes a killed run delivers it with its own files: every span of both
    runs reaches the collector exactly once, the killed ones included."""
    from tests.support.kedro_projects import remote_env
    from tests.support.otlp_receivers import HttpReceiver, span_ids

    (project / ".telemetry").write_text("consent: false\n")  # kedro-telemetry stays quiet
    started = tmp_path / "started"
    with HttpReceiver() as receiver:
        env = remote_env(
            tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, OTEL_KEDRO_DELIVERY_WAIT="10"
        )
        dead = run_kedro(
            project, "run", env={**env, "VICTIM": "exit", "VICTIM_STARTED": str(started)}
        )
        assert dead.returncode == 3, dead.stderr[-3000:]
        assert receiver.requests == []
        (killed,) = run_folders(project)
        result = run_kedro(project, "run", env={**env, "VICTIM": "none"})
        assert result.returncode == 0, result.stderr[-3000:]
        (healthy,) = [folder for folder in run_folders(project) if folder != killed]
        spans = [s for folder in (killed, healthy) for s in read_spans(folder / "traces.jsonl")]
        on_disk = [s.span_id for s in spans]
        deadline = time.monotonic() + 30
        while len(span_ids(receiver.requests)) < len(on_disk) and time.monotonic() < deadline:
            time.sleep(0.05)
    # 10 of the killed run (3 ended as killed), 14 of the next, besides their start-up phases.
    assert len([s for s in spans if not s.name.startswith("STARTUP ")]) == 24
    assert sorted(span_ids(receiver.requests)) == sorted(on_disk)
    killed_spans = _by_name(read_spans(killed / "traces.jsonl"))
    _check_killed(killed_spans["victim"])
    assert json.loads((killed / "delivery.json").read_text())
