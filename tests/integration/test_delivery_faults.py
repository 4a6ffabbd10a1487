"""Issue 10's delivery and file faults, reproduced with real Kedro runs and real OTLP/HTTP
receivers on loopback: a collector that fails after one request or answers after the delivery
wait (case 7), late spans of a SIGTERMed ParallelRunner run (case 6), a file size limit and a
torn line (case 5) and replay's folder rules (case 9)."""

from __future__ import annotations

import collections
import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psutil

from otel_kedro.model.run_folder import RUN_MARKER, read_lines
from tests.support.kedro_projects import (
    BIN,
    remote_env,
    run_folders,
    run_kedro,
    write_project,
)
from tests.support.otlp_json import read_spans
from tests.support.otlp_receivers import HttpReceiver, metric_points, span_ids


def _replay(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "otel-kedro"), "replay", *args], cwd=project, env=env,
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def _duplicates(values: list[object]) -> int:
    return sum(count - 1 for count in collections.Counter(values).values())


def _file_points(folder: Path) -> int:
    return sum(
        len(metric[kind]["dataPoints"])
        for line in read_lines(folder / "metrics.jsonl").items
        for resource_metrics in line.document["resourceMetrics"]
        for scope in resource_metrics["scopeMetrics"]
        for metric in scope["metrics"]
        for kind in ("gauge", "sum", "histogram")
        if kind in metric
    )


def _assert_exactly_once(receiver: HttpReceiver, folders: list[Path]) -> None:
    sent = span_ids(receiver.requests)
    on_disk = [s.span_id for f in folders for s in read_spans(f / "traces.jsonl")]
    assert _duplicates(sent) == 0, "no span was sent twice"
    assert sorted(sent) == sorted(on_disk), "every span on disk was sent"
    points = metric_points(receiver.metric_requests)
    assert _duplicates(points) == 0, "no metric point was sent twice"
    assert len(points) == sum(_file_points(f) for f in folders)


def test_a_collector_that_fails_after_the_first_request_gets_everything_once(
    example_project: Path, tmp_path: Path
) -> None:
    """Case 7: the first request of each signal is acknowledged, the next ones fail; replay
    --all sends only what was not acknowledged."""
    with HttpReceiver(acknowledge=1) as receiver:
        env = remote_env(
            tmp_path,
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
            OTEL_KEDRO_DELIVERY_WAIT="30",
        )
        for _ in range(2):
            result = run_kedro(example_project, "run", "--pipeline", "data_processing", env=env)
            assert result.returncode == 0, result.stderr[-3000:]
        assert receiver.failed >= 1, "the second run's requests were refused"
        receiver.acknowledge = None
        replayed = _replay(example_project, env, "--all")
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        again = _replay(example_project, env, "--all")
        assert again.stdout.count("already delivered") == 2
    _assert_exactly_once(receiver, run_folders(example_project))


def test_an_acknowledgement_after_the_delivery_wait_costs_at_most_that_request(
    example_project: Path, tmp_path: Path
) -> None:
    """Case 7, late acknowledgement: the run's process ends before the collector answers, so
    the one request in flight cannot be known delivered and replay sends it again (OTLP has no
    idempotency key); nothing else is resent and nothing is lost."""
    with HttpReceiver(answer_after=3.0) as receiver:
        env = remote_env(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint)
        result = run_kedro(example_project, "run", "--pipeline", "data_processing", env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        in_flight = span_ids(receiver.requests)
        receiver.answer_after = 0
        replayed = _replay(example_project, env, "--all")
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    folder = run_folders(example_project)[0]
    sent = span_ids(receiver.requests)
    on_disk = [s.span_id for s in read_spans(folder / "traces.jsonl")]
    assert set(sent) == set(on_disk), "nothing undelivered"
    assert _duplicates(sent) <= len(in_flight), "at most the in-flight request is resent"
    print(f"late acknowledgement: {_duplicates(sent)} spans resent of {len(on_disk)}")


SLEEPERS = """
    import os
    import time
    from pathlib import Path

    from kedro.pipeline import node, pipeline


    def sleep(index):
        Path(os.environ["SLEEPERS_DIR"], f"started-{index}").write_text("")
        time.sleep(float(os.environ.get("SLEEPERS_SLEEP", "3")))
        return index


    def sleep_0():
        return sleep(0)


    def sleep_1():
        return sleep(1)


    def sleep_2():
        return sleep(2)


    def sleep_3():
        return sleep(3)


    def register_pipelines():
        functions = [sleep_0, sleep_1, sleep_2, sleep_3]
        nodes = [node(f, None, f"out_{i}", name=f"sleep_{i}") for i, f in enumerate(functions)]
        return {"__default__": pipeline(nodes)}
"""
SLEEPING = frozenset(f"sleep_{i}" for i in range(4))


def test_late_spans_of_a_sigtermed_parallel_run_are_sent_by_replay(tmp_path: Path) -> None:
    """Case 6: SIGTERM while ParallelRunner nodes sleep (as many as the pool runs at once: one
    per core); the orphaned workers append their node spans after the run's delivery (and
    run the one node queued for them), and replay --all sends exactly those."""
    project = write_project(tmp_path, "sleepers", SLEEPERS)
    marks = tmp_path / "marks"
    marks.mkdir()
    running = min(4, os.cpu_count() or 1)
    orphans: list[int] = []
    try:
        with HttpReceiver() as receiver:
            env = remote_env(
                tmp_path,
                OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
                OTEL_KEDRO_DELIVERY_WAIT="30",
                SLEEPERS_DIR=str(marks),
            )
            with (tmp_path / "output.txt").open("w") as output:
                process = subprocess.Popen(
                    [str(BIN / "kedro"), "run", "--runner", "ParallelRunner"], cwd=project,
                    env=env, stdout=output, stderr=subprocess.STDOUT,
                )  # fmt: skip
                deadline = time.monotonic() + 120
                while len(list(marks.iterdir())) < running and time.monotonic() < deadline:
                    time.sleep(0.05)
                orphans = [c.pid for c in psutil.Process(process.pid).children(recursive=True)]
                process.send_signal(signal.SIGTERM)
                returncode = process.wait(timeout=120)
            assert returncode == -signal.SIGTERM, (tmp_path / "output.txt").read_text()[-3000:]
            folder = run_folders(project)[0]
            delivered_first = set(span_ids(receiver.requests))
            assert delivered_first, "the run's own spans were delivered at its end"
            # The orphaned workers finish the nodes they hold (and the one queued for them); a
            # node they start shows up as a mark, its span 3 s later. Wait until every started
            # node has its span and no node started for longer than a node sleeps.
            deadline = time.monotonic() + 120
            settled = time.monotonic()
            started: set[str] = set()
            while time.monotonic() < deadline:
                now = {f"sleep_{m.name.split('-')[1]}" for m in marks.iterdir()}
                if now != started:
                    started, settled = now, time.monotonic()
                names = {s.name for s in read_spans(folder / "traces.jsonl")}
                if started <= names and time.monotonic() - settled > 5:
                    break
                time.sleep(0.2)
            spans = read_spans(folder / "traces.jsonl")
            late = [s for s in spans if s.span_id not in delivered_first]
            late_nodes = {s.name for s in late} & SLEEPING
            assert late_nodes == started, "every node the workers ran ended after delivery"
            assert len(late_nodes) >= running
            print(f"late spans: {len(late)} ({sorted(late_nodes)})")
            replayed = _replay(project, env, "--all")
            assert replayed.returncode == 0, replayed.stdout + replayed.stderr
            assert f"{folder.name}: sent {len(late)} spans" in replayed.stdout
        _assert_exactly_once(receiver, [folder])
    finally:
        for pid in orphans:  # the pool's workers wait for work from a dead parent for ever
            with contextlib.suppress(psutil.NoSuchProcess):
                psutil.Process(pid).kill()


CHAIN = """
    from kedro.pipeline import node, pipeline


    def start():
        return 0


    def step(value):
        return value + 1


    def register_pipelines():
        nodes = [node(start, None, "d0", name="start")]
        nodes += [node(step, f"d{i}", f"d{i + 1}", name=f"n{i}") for i in range(120)]
        return {"__default__": pipeline(nodes)}
"""


def _limit_file_size(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_file_size_limit_leaves_whole_lines_and_replay_sends_them(tmp_path: Path) -> None:
    """Case 5 (``ulimit -f``): every file keeps whole lines, the failure is one warning naming
    the file and the OS error, no traceback, no "trace written" for the failed file, info.json
    whole; replay sends every intact span."""
    project = write_project(tmp_path, "bigtrace", CHAIN)
    env = remote_env(tmp_path, OTEL_KEDRO_CONSENT="false", OTEL_KEDRO_ANNOUNCE="true")
    # Not measured by coverage: its data file would hit the same limit, and its SQLite
    # "disk I/O error" traceback is the test harness's, not the run's.
    env = {name: value for name, value in env.items() if not name.startswith("COVERAGE_")}
    result = subprocess.run(
        [str(BIN / "kedro"), "run"], cwd=project, env=env, capture_output=True, text=True,
        timeout=300, check=False, preexec_fn=lambda: _limit_file_size(24_000),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]  # the user's run is not harmed
    folder = run_folders(project)[0]
    output = " ".join((result.stdout + result.stderr).split())
    assert f"cannot write {folder / 'traces.jsonl'}: [Errno 27] File too large" in output
    assert output.count(f"cannot write {folder / 'traces.jsonl'}") == 1
    assert "Traceback" not in output
    assert "trace written" not in output
    for name in ("traces.jsonl", "metrics.jsonl", "usage.jsonl"):
        data = (folder / name).read_bytes()
        assert not data or data.endswith(b"\n"), f"{name} ends in a whole line"
        assert all(json.loads(line) for line in data.splitlines())
    json.loads((folder / "info.json").read_text())
    spans = read_spans(folder / "traces.jsonl")
    assert spans, "the lines that fit are kept"
    with HttpReceiver() as receiver:
        replay_env = remote_env(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint)
        replayed = _replay(project, replay_env, "--all")
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert sorted(span_ids(receiver.requests)) == sorted(s.span_id for s in spans)


def test_replay_sends_the_intact_lines_of_a_folder_with_a_torn_last_line(
    example_project: Path, tmp_path: Path
) -> None:
    """Case 5: a torn last line (written by an older version, or cut by a crash) is skipped with
    a warning; every intact span is sent."""
    env = remote_env(tmp_path, OTEL_KEDRO_CONSENT="false")
    assert (
        run_kedro(example_project, "run", "--pipeline", "data_processing", env=env).returncode == 0
    )
    folder = run_folders(example_project)[0]
    spans = read_spans(folder / "traces.jsonl")
    with (folder / "traces.jsonl").open("a") as file:
        file.write('{"resourceSpans":[{"resource":{"attributes":[{"key":"serv')
    with HttpReceiver() as receiver:
        replayed = _replay(
            example_project, {**env, "OTEL_KEDRO_CONSENT": "true"}, "--all",
            "--endpoint", receiver.endpoint,
        )  # fmt: skip
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert sorted(span_ids(receiver.requests)) == sorted(s.span_id for s in spans)
    assert f"sent {len(spans)} spans" in replayed.stdout
    assert "skipped 1 torn or unreadable line(s)" in " ".join(replayed.stderr.split())


def test_replay_stays_in_the_project_output_folder(example_project: Path, tmp_path: Path) -> None:
    """Case 9: symlinks out of the output folder are not followed, another project's run is not
    sent, an empty folder is not called delivered, outside paths are refused without the flag,
    and runs are named by id or unique prefix."""
    env = remote_env(tmp_path, OTEL_KEDRO_CONSENT="false")
    assert (
        run_kedro(example_project, "run", "--pipeline", "data_processing", env=env).returncode == 0
    )
    (folder,) = run_folders(example_project)
    runs = folder.parent
    other = tmp_path / "other-project-run"
    shutil.copytree(folder, other)  # a real run folder (with its marker) of "another project"
    outside = tmp_path / "etc-like"
    outside.mkdir()
    (runs / "x").symlink_to(outside)
    (runs / "y").symlink_to(other)
    (runs / "empty").mkdir()
    (runs / "empty" / RUN_MARKER).write_text("")
    with HttpReceiver() as receiver:
        env = remote_env(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint)
        everything = _replay(example_project, env, "--all")
        assert everything.returncode == 0, everything.stdout + everything.stderr
        assert "x: skipped, a symbolic link" in everything.stderr
        assert "y: skipped, a symbolic link" in everything.stderr
        assert "empty: nothing recorded" in everything.stdout
        assert f"{folder.name}: sent" in everything.stdout
        sent = len(receiver.requests)
        escaped = _replay(example_project, env, str(runs / ".." / ".." / ".."))
        linked = _replay(example_project, env, str(runs / "y"))
        explicit_other = _replay(example_project, env, str(other))
        assert len(receiver.requests) == sent, "nothing outside the output folder was sent"
        assert escaped.returncode == linked.returncode == explicit_other.returncode == 1
        assert "outside the project's output folder" in escaped.stderr
        by_id = _replay(example_project, env, folder.name)
        by_prefix = _replay(example_project, env, folder.name[:12])
        assert f"{folder.name}: already delivered" in by_id.stdout
        assert f"{folder.name}: already delivered" in by_prefix.stdout
        allowed = _replay(example_project, env, "--outside-output-dir", str(other))
        assert allowed.returncode == 0, allowed.stdout + allowed.stderr
        assert len(receiver.requests) > sent, "the flag lets an outside run folder be sent"
    assert list(outside.iterdir()) == []
    assert not (runs / "empty" / "delivery.json").exists()
    assert not (example_project / "delivery.json").exists()
    assert not (tmp_path / "delivery.json").exists()
    assert (other / "delivery.json").exists()
