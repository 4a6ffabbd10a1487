"""Sizes of ``metrics.jsonl`` and the end-of-run cost of the duration histograms (not a test).

    .venv/bin/python benchmarks/metrics_size.py [--nodes 500 3000 5000] [--repeats 5]

1. ``kedro run`` of generated chains of trivial nodes (SequentialRunner), once per size: the size
   of every file of the run folder, and ``metrics.jsonl`` bytes per node.
2. 3,600 samples of a parent and four workers (an hour at the default interval) through the
   run's own metrics writer: the size of ``metrics.jsonl``.
3. The end-of-run cost of the duration histograms on each run's ``traces.jsonl``, alternating:
   before (every span read back with the run-folder reader and aggregated) and after (the
   stream that decodes only lines other processes wrote; the run's own spans were recorded as
   they ended). CPU time of this process and peak Python allocations (tracemalloc), median of
   ``--repeats``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.kedro_projects import BIN, clean_env, write_chain_project
from tests.unit.sources.process.test_windows import run_samples

from otel_kedro import attributes as attr
from otel_kedro.config.settings import Settings
from otel_kedro.model.run_folder import duration_s, read_spans
from otel_kedro.runs.chains import destination_chain
from otel_kedro.runs.span_durations import record_other_processes
from otel_kedro.runs.usage import RunUsage
from otel_kedro.sources.kedro.durations import KedroDurations
from otel_kedro.sources.kedro.node_usage import NodeUsageMeter
from otel_kedro.sources.resource import build_resource


def _run(root: Path, nodes: int, runner: str) -> Path:
    project = write_chain_project(root, nodes, f"chain{nodes}_{runner.lower()}")
    start = time.perf_counter()
    subprocess.run([str(BIN / "kedro"), "run", "--runner", runner], cwd=project, env=clean_env(),
                   check=True, capture_output=True)  # fmt: skip
    wall = time.perf_counter() - start
    (folder,) = (project / ".otel_kedro" / "runs").iterdir()
    sizes = {p.name: p.stat().st_size for p in sorted(folder.iterdir()) if p.is_file()}
    metrics = sizes.get("metrics.jsonl", 0)
    others = ", ".join(f"{k} {v / 1e3:.0f} kB" for k, v in sizes.items() if k != "metrics.jsonl")
    print(f"{nodes} nodes, {runner}: run {wall:.1f} s; metrics.jsonl {metrics / 1e3:.0f} kB "
          f"({metrics / nodes:.0f} B per node); {others}")  # fmt: skip
    return folder


def before(folder: Path) -> None:
    """What the end of a run did before: every span read back, then aggregated."""
    durations = KedroDurations()
    for span in read_spans(folder).items:
        durations.observe(span.name, span.attributes or {}, duration_s(span))
    durations.decide(attr.RESULT_SUCCESS)
    durations.series()


def after(folder: Path) -> None:
    """What it does now: only other processes' lines decoded (none under SequentialRunner)."""
    durations = KedroDurations()
    record_other_processes(durations, folder / "traces.jsonl", 0, {_main_pid(folder)})
    durations.decide(attr.RESULT_SUCCESS)
    durations.series()


def _main_pid(folder: Path) -> int:
    from otel_kedro.model.span_stream import writer_pid

    with (folder / "traces.jsonl").open("rb") as stream:
        return writer_pid(stream.readline()) or os.getpid()


def _measure(step: Callable[[Path], None], folder: Path) -> tuple[float, float]:
    tracemalloc.start()
    cpu = time.process_time()
    step(folder)
    cpu = time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return cpu, peak


def per_span_cost(folder: Path) -> float:
    """CPU seconds per span of what the run now does as each span ends (``observe``)."""
    spans = [(s.name, s.attributes or {}, duration_s(s)) for s in read_spans(folder).items]
    durations = KedroDurations()
    cpu = time.process_time()
    for _ in range(5):
        for name, values, seconds in spans:
            durations.observe(name, values, seconds)
    return (time.process_time() - cpu) / (5 * len(spans))


def end_of_run_cost(folder: Path, label: str, repeats: int) -> None:
    results: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
    for _ in range(repeats):
        results["before"].append(_measure(before, folder))
        results["after"].append(_measure(after, folder))
    print(f"  end-of-run duration histograms, {label}, median of {repeats} alternating:")
    for name, values in results.items():
        cpu = statistics.median(v[0] for v in values)
        peak = statistics.median(v[1] for v in values)
        print(
            f"    {name:6s}: {cpu * 1000:8.1f} ms CPU, peak Python allocations {peak / 1e6:6.1f} MB"
        )
    print(f"    after, as each span ends: {per_span_cost(folder) * 1e6:.1f} µs CPU per span")


def an_hour(root: Path) -> None:
    usage = RunUsage(root, Settings(summary=False), destination_chain(Settings().privacy, "files"),
                     build_resource("demo"), NodeUsageMeter())  # fmt: skip
    for sample in run_samples(3600, 4, 1.0, seed=7):
        usage.add_sample(
            dataclasses.replace(
                sample, timestamp=sample.timestamp - 1_800_000_000.0 + usage.started
            )
        )
    usage.finish(attr.RESULT_SUCCESS)
    size = (root / "metrics.jsonl").stat().st_size
    print(f"3,600 samples of 5 processes (1 h at 1 s): metrics.jsonl {size / 1e6:.2f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, nargs="+", default=[500, 3000, 5000])
    parser.add_argument("--parallel-nodes", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    options = parser.parse_args()
    print(f"load average {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        an_hour(Path(tempfile.mkdtemp(dir=tmp)))
        for nodes in options.nodes:
            folder = _run(root, nodes, "SequentialRunner")
            end_of_run_cost(folder, f"{nodes} nodes sequential", options.repeats)
        if options.parallel_nodes:
            folder = _run(root, options.parallel_nodes, "ParallelRunner")
            end_of_run_cost(folder, f"{options.parallel_nodes} nodes parallel", options.repeats)
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
