"""The process-tree sampler against ground truth: real workloads measure themselves (getrusage,
their own high-water mark, the clock) and the sampler, at its default interval, must agree.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from otel_kedro.model.usage import TreeSample, UsageSummary
from otel_kedro.sources.process._linux_proc import LinuxReader
from otel_kedro.sources.process._proc_readers import PsutilReader
from otel_kedro.sources.process.readings import Reader
from otel_kedro.sources.process.sampler import DEFAULT_INTERVAL, ProcessTreeSampler
from tests.support.workloads import MB, WORKLOADS

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux workloads")


class Workload:
    """A workload from tests/workloads.py under a sampler rooted at its pid."""

    def __init__(self, name: str, *, pss: bool = False) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKLOADS), name],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.samples: list[TreeSample] = []
        self.sampler = ProcessTreeSampler(self.proc.pid, pss=pss, on_sample=self.samples.append)
        self.sampler.start()

    def wait_for_samples(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.samples) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self.samples) >= count

    def go(self) -> dict:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def finish(self) -> UsageSummary:
        """A last sample with the finished workload still there, then let it exit."""
        self.sampler.sample_now()
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        assert self.proc.wait(timeout=30) == 0
        return self.sampler.stop()


@contextlib.contextmanager
def workload(name: str, *, pss: bool = False) -> Iterator[Workload]:
    run = Workload(name, pss=pss)
    try:
        yield run
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait()
        run.sampler.stop()


def assert_monotonic(samples: list[TreeSample]) -> None:
    for field in ("cpu_user", "cpu_system", "read_bytes", "write_bytes"):
        values = [getattr(sample, field) or 0 for sample in samples]
        assert values == sorted(values), field


def test_peak_of_a_held_300_mb_is_within_10_percent() -> None:
    with workload("hold") as run:
        truth = run.go()
        summary = run.finish()
    assert truth["peak"] >= truth["allocated"]
    assert abs(summary.peak_rss - truth["peak"]) <= 0.1 * truth["peak"]
    assert max(sample.rss for sample in run.samples) >= 300 * MB  # held across samples
    assert summary.num_samples >= 3


def test_a_500_mb_spike_between_samples_is_in_the_peak() -> None:
    with workload("spike") as run:
        run.wait_for_samples(2)  # spike right after a periodic sample, well before the next
        truth = run.go()
        run.wait_for_samples(len(run.samples) + 1)
        summary = run.finish()
    assert summary.peak_rss >= 450 * MB
    assert summary.peak_rss <= truth["peak"] * 1.1
    during = [s for s in run.samples if truth["start"] - 0.05 <= s.timestamp <= truth["end"] + 0.05]
    if not during:  # the usual case: only the high-water mark can have seen the spike
        assert max(sample.rss for sample in run.samples) < 450 * MB


def test_short_lived_children_cpu_is_counted_and_visible() -> None:
    with workload("children") as run:
        truth = run.go()
        summary = run.finish()
    assert abs(summary.cpu_seconds - truth["cpu"]) <= 0.2 * truth["cpu"]
    rate = truth["cpu"] / (truth["end"] - truth["start"]) * 100  # ~95 unless the machine is busy
    assert summary.peak_pcpu >= 0.7 * rate, (summary.peak_pcpu, rate)
    assert max(sample.cpu_percent for sample in run.samples) == summary.peak_pcpu
    assert_monotonic(run.samples)


def test_a_busy_core_reads_as_its_true_rate_in_every_interval() -> None:
    with workload("busy") as run:
        run.wait_for_samples(2)  # idle for a second first, which a lifetime average would show
        truth = run.go()
        run.finish()
    inside = [
        (before, after)
        for before, after in itertools.pairwise(run.samples)
        if before.timestamp >= truth["start"] + 0.05 and after.timestamp <= truth["end"] - 0.05
    ]
    assert inside, [s.timestamp for s in run.samples]
    for _, after in inside:
        assert after.interval >= DEFAULT_INTERVAL * 0.5
        assert abs(after.cpu_percent - truth["rate"]) <= 20, (after.cpu_percent, truth)
        assert after.cpu_percent <= 110
        (process,) = after.processes
        assert abs(process.cpu_percent - after.cpu_percent) <= 5
        lifetime = (process.cpu_user + process.cpu_system) / (after.timestamp - process.create_time)
        assert after.cpu_percent > lifetime * 100 + 10  # not decaying toward a lifetime average
    if len(inside) > 1:
        assert inside[-1][1].cpu_percent >= inside[0][1].cpu_percent - 20


def test_pss_counts_copy_on_write_pages_once_and_rss_sum_five_times() -> None:
    with workload("cow", pss=True) as run:
        truth = run.go()
        sample = run.sampler.sample_now()
        summary = run.finish()
    real = truth["allocated"] + truth["baseline"]
    assert {p.pid for p in sample.processes} == {run.proc.pid, *truth["pids"]}
    assert sample.pss is not None
    assert abs(sample.pss - real) <= 0.2 * real, (sample.pss, real)
    assert sample.rss >= 4.5 * truth["allocated"]  # the RSS sum counts shared pages per process
    assert all(p.pss is not None and p.uss is not None for p in sample.processes)
    assert summary.peak_pss is not None
    assert summary.peak_pss >= sample.pss
    assert summary.average_pss is not None


def test_pool_workers_and_their_children_are_covered() -> None:
    with workload("pool") as run:
        truth = run.go()
        summary = run.finish()
    seen = {p.pid for sample in run.samples for p in sample.processes}
    workers = {worker for worker, _ in truth["pids"]}
    grandchildren = {child for _, child in truth["pids"]}
    assert workers <= seen
    assert grandchildren <= seen
    assert abs(summary.cpu_seconds - truth["cpu"]) <= 0.2 * truth["cpu"], (summary, truth)
    assert_monotonic(run.samples)


def test_vanishing_processes_keep_the_tree_monotonic(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="otel_kedro")
    with workload("churn") as run:
        done = threading.Event()

        def hammer() -> None:  # on-demand samples racing the background thread
            while not done.is_set():
                run.sampler.sample_now()
                time.sleep(0.005)

        thread = threading.Thread(target=hammer)
        thread.start()
        try:
            truth = run.go()
        finally:
            done.set()
            thread.join()
        summary = run.finish()
    assert_monotonic(run.samples)
    statuses = {p.status for sample in run.samples for p in sample.processes}
    assert "zombie" in statuses
    assert len({p.pid for sample in run.samples for p in sample.processes}) > 10
    assert abs(summary.cpu_seconds - truth["cpu"]) <= 0.2 * truth["cpu"], (summary, truth)
    assert not [r for r in caplog.records if r.name == "otel_kedro"]


def test_access_denied_leaves_fields_empty_and_says_so() -> None:
    try:  # denied to other users, and in some sandboxes even to root
        Path("/proc/1/io").read_bytes()
    except PermissionError:
        pass
    else:
        pytest.skip("pid 1's counters are readable here: nothing is denied to us")
    sampler = ProcessTreeSampler(1, pss=True)
    sample = sampler.sample_now()
    summary = sampler.stop()
    (init,) = [p for p in sample.processes if p.pid == 1]
    assert init.rss > 0  # what is readable is read
    assert init.cmd
    assert init.read_bytes is None
    assert init.pss is None
    notes = [note for note in summary.approximations if "access denied" in note]
    assert any(note.startswith("read_bytes/write_bytes") for note in notes), notes
    assert any(note.startswith("pss") for note in notes), notes


def test_callback_errors_do_not_stop_sampling_and_stop_is_idempotent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="otel_kedro")
    calls: list[float] = []

    def failing(sample: TreeSample) -> None:
        calls.append(sample.timestamp)
        raise RuntimeError("writer broke")

    sampler = ProcessTreeSampler(on_sample=failing)
    sampler.start()
    deadline = time.monotonic() + 10
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    first = sampler.stop()
    assert len(calls) >= 3  # the baseline, then at least two from the thread after errors
    assert sampler.stop() is first
    assert sampler.sample_now() is sampler.latest
    assert len(calls) == first.num_samples
    warnings = [r.getMessage() for r in caplog.records if "writer broke" in r.getMessage()]
    assert len(warnings) <= 1  # once per process; an earlier test run may have used it up
    assert not [t for t in threading.enumerate() if t.name == "otel-kedro-sampler" and t.is_alive()]


def test_a_root_that_is_gone_gives_an_empty_tree_without_error() -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    sampler = ProcessTreeSampler(gone.pid)
    sample = sampler.sample_now()
    summary = sampler.stop()
    assert sample.processes == ()
    assert sample.rss == 0
    assert summary.num_samples == 2  # sample_now, then stop
    assert summary.cpu_seconds == 0


def test_a_forked_child_neither_samples_nor_delivers(tmp_path: Path) -> None:
    delivered = tmp_path / "delivered"

    def record(sample: TreeSample) -> None:
        with delivered.open("a") as out:
            out.write(f"{os.getpid()}\n")

    sampler = ProcessTreeSampler(interval=0.05, on_sample=record)
    sampler.start()
    time.sleep(0.2)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            latest = sampler.latest
            sampler.start()
            same = sampler.sample_now() is latest
            summary = sampler.stop()
            code = 0 if same and summary.num_samples >= 1 else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 10
    while (status := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    if status[0] == 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung")
    time.sleep(0.2)
    summary = sampler.stop()
    assert os.waitstatus_to_exitcode(status[1]) == 0
    writers = set(delivered.read_text().split())
    assert writers == {str(os.getpid())}
    assert summary.num_samples == len(delivered.read_text().split())


class PsutilSampler(ProcessTreeSampler):
    """The portable path (macOS, Windows), run here on Linux."""

    def _make_reader(self) -> Reader:
        return PsutilReader()


def test_the_psutil_fallback_reads_what_proc_reads() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", "import subprocess; subprocess.run(['sleep', '30'])"]
    )
    try:
        linux, portable = LinuxReader(), PsutilReader()
        deadline = time.monotonic() + 10
        while len(linux.tree(parent.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)
        assert linux.tree(parent.pid) == portable.tree(parent.pid)
        for pid in linux.tree(parent.pid):
            ours, theirs = linux.read(pid, True), portable.read(pid, True)
            assert ours is not None
            assert theirs is not None
            for field in ("pid", "ppid", "name", "cmd", "status", "vms", "threads", "fds"):
                assert getattr(ours, field) == getattr(theirs, field), field
            for field in ("rss", "pss", "uss", "read_bytes", "write_bytes"):
                assert abs(getattr(ours, field) - getattr(theirs, field)) <= 64 * 1024, field
            assert abs(ours.create_time - theirs.create_time) < 0.02
            assert ours.hwm is not None
            assert ours.hwm >= ours.rss
            assert theirs.hwm is None
        fallback = PsutilSampler(parent.pid)
        fallback.start()
        sample = fallback.sample_now()
        summary = fallback.stop()
    finally:
        parent.kill()
        parent.wait()
    assert len(sample.processes) == 2
    assert summary.peak_rss >= sample.rss
    assert any(note.startswith("peak_rss: sampled maximum") for note in summary.approximations)
