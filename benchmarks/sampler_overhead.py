"""The process sampler against con-duct, side by side in one run (not a test: run it on demand).

    .venv/bin/python benchmarks/sampler_overhead.py [--seconds 10] [--repeats 3] [--skip-accuracy]

1. Overhead: CPU used to watch ``sleep N``. Ours runs in a child Python process that starts
   ``sleep`` and samples it at the default interval; its CPU is that process's getrusage over
   the watch (after the imports), minus the same process watching without a sampler.
   con-duct's is the CPU of ``con-duct run sleep N`` including its ``ps`` children (getrusage
   of reaped children), minus ``sleep`` alone. "sampling" leaves out start-up and shut-down:
   ours with no periodic sample, con-duct's ``con-duct run true``.
2. Accuracy: the workloads of tests/workloads.py under both tools, each against the truth the
   workload measured itself.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.workloads import MB, WORKLOADS

from otel_kedro.model.usage import TreeSample, UsageSummary
from otel_kedro.sources.process.sampler import DEFAULT_INTERVAL, ProcessTreeSampler

BIN = Path(sys.executable).parent
_WATCH = """
import json, resource, subprocess, sys, time
from otel_kedro.sources.process.sampler import ProcessTreeSampler
if sys.platform.startswith("linux"):
    import otel_kedro.sources.process._linux_proc  # imports: paid once per process
interval = float(sys.argv[2])
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
before, start = cpu(), time.monotonic()
sleeper = subprocess.Popen(["sleep", sys.argv[1]])
sampler = ProcessTreeSampler(sleeper.pid, interval) if interval > 0 else None
if sampler:
    sampler.start()
sleeper.wait()
samples = sampler.stop().num_samples if sampler else 0
print(json.dumps({"cpu": cpu() - before, "wall": time.monotonic() - start, "samples": samples}))
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run_cpu(argv: list[str]) -> tuple[float, float]:
    """CPU seconds of a command and everything it waited for, and its wall time."""
    before, start = _children_cpu(), time.monotonic()
    subprocess.run(argv, check=True, capture_output=True)
    return _children_cpu() - before, time.monotonic() - start


def _watch(seconds: float, interval: float) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _WATCH, str(seconds), str(interval)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def overhead(seconds: float, repeats: int) -> None:
    duct = str(BIN / "con-duct")
    intervals = sorted({DEFAULT_INTERVAL, 0.5, 1.0})
    runs: dict[str, list[float]] = {}

    def add(label: str, cpu: float) -> None:
        runs.setdefault(label, []).append(cpu)

    with tempfile.TemporaryDirectory() as tmp:
        prefix = f"{tmp}/{{datetime}}-{{pid}}_"
        for _ in range(repeats):  # interleaved, so a noisy neighbour hits both tools alike
            add("idle", _watch(seconds, 0)["cpu"])
            add("start/stop", _watch(seconds, 1e6)["cpu"])
            for interval in intervals:
                add(f"ours {interval:g}", _watch(seconds, interval)["cpu"])
            add("sleep", _run_cpu(["sleep", str(seconds)])[0])
            add("duct", _run_cpu([duct, "run", "-q", "-p", prefix, "sleep", str(seconds)])[0])
            add("duct true", _run_cpu([duct, "run", "-q", "-p", prefix, "true"])[0])
    cpu = {label: statistics.median(values) for label, values in runs.items()}

    def pct(value: float) -> str:
        return f"{value / seconds * 100:6.3f} %"

    print(f"Overhead of watching `sleep {seconds:g}`, median of {repeats} interleaved runs")
    print("(CPU as % of one core over the watch; 'sampling' leaves out start-up and shut-down):")
    print(f"  {'':34}{'total':>10}{'sampling':>12}")
    for interval in intervals:
        total = cpu[f"ours {interval:g}"] - cpu["idle"]
        steady = cpu[f"ours {interval:g}"] - cpu["start/stop"]
        tag = (
            "ours, interval "
            + f"{interval:g} s"
            + (" (default)" if interval == DEFAULT_INTERVAL else "")
        )
        print(f"  {tag:34}{pct(total):>10}{pct(steady):>12}")
    duct_total = cpu["duct"] - cpu["sleep"]
    duct_steady = cpu["duct"] - cpu["duct true"] - cpu["sleep"]
    print(f"  {'con-duct, its default 1 s':34}{pct(duct_total):>10}{pct(duct_steady):>12}")
    ours_total = cpu[f"ours {DEFAULT_INTERVAL:g}"] - cpu["idle"]
    ours_steady = cpu[f"ours {DEFAULT_INTERVAL:g}"] - cpu["start/stop"]
    print(
        f"  {'ratio ours / con-duct':34}{ours_total / duct_total:>10.3f}"
        f"{ours_steady / duct_steady:>12.3f}"
    )
    print(
        f"  (ours start+stop: {(cpu['start/stop'] - cpu['idle']) * 1e3:.1f} ms; "
        f"con-duct's: {cpu['duct true'] * 1e3:.0f} ms)"
    )


def _ours(name: str, pss: bool) -> tuple[dict[str, object], UsageSummary, list[TreeSample]]:
    samples: list[TreeSample] = []
    proc = subprocess.Popen(
        [sys.executable, str(WORKLOADS), name], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert proc.stdin is not None
    assert proc.stdout is not None
    sampler = ProcessTreeSampler(proc.pid, pss=pss, on_sample=samples.append)
    sampler.start()
    time.sleep(0.2)
    proc.stdin.write("go\n")
    proc.stdin.flush()
    truth = json.loads(proc.stdout.readline())
    if name == "cow":
        sampler.sample_now()
    time.sleep(DEFAULT_INTERVAL)
    proc.stdin.close()
    proc.wait()
    return truth, sampler.stop(), samples


def _duct(name: str, tmp: str, pace: float) -> dict[str, float]:
    """con-duct's execution summary of the workload, paced so it runs without input."""
    prefix = f"{tmp}/{name}_"
    subprocess.run(
        [str(BIN / "con-duct"), "run", "-q", "-p", prefix, "--clobber", "--",
         sys.executable, str(WORKLOADS), name, "--pace", f"{pace:.2f}"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(Path(f"{prefix}info.json").read_text())["execution_summary"]  # type: ignore[no-any-return]


def _busy_intervals(samples: list[TreeSample], start: float, end: float) -> list[float]:
    """Utilisation of the intervals that lie wholly inside the busy period."""
    return [
        later.cpu_percent
        for earlier, later in itertools.pairwise(samples)
        if earlier.timestamp >= start + 0.05 and later.timestamp <= end - 0.05
    ]


Row = tuple[str, float, float, float]  # measure, truth, ours, con-duct


def _rows(name: str, tmp: str, pace: float) -> list[Row]:
    """One run of a workload under each tool, as rows of the accuracy table."""
    t, s, samples = _ours(name, pss=name == "cow")
    d = _duct(name, tmp, pace)
    if name in {"hold", "spike"}:
        what = "hold 300 MB 2 s" if name == "hold" else "500 MB spike 0.3 s"
        return [(f"{what}: peak RSS, MB", t["peak"] / MB, s.peak_rss / MB, d["peak_rss"] / MB)]
    if name == "children":
        duct_cpu = d["average_pcpu"] / 100 * d["wall_clock_time"]  # the best it offers
        return [
            ("4 children x 0.4 s: CPU s (duct ~)", t["cpu"], s.cpu_seconds, duct_cpu),
            ("4 children x 0.4 s: peak %CPU", 100.0, s.peak_pcpu, d["peak_pcpu"]),
        ]
    if name == "busy":
        inside = _busy_intervals(samples, t["start"], t["end"])
        return [("busy core 3 s: %CPU, ours lowest", t["rate"], min(inside), d["peak_pcpu"])]
    real = (t["allocated"] + t["baseline"]) / MB
    return [
        ("300 MB + 4 CoW forks: PSS sum, MB", real, (s.peak_pss or 0) / MB, float("nan")),
        ("300 MB + 4 CoW forks: RSS sum, MB", 5 * real, s.peak_rss / MB, d["peak_rss"] / MB),
    ]


def accuracy(repeats: int) -> None:
    table: dict[str, list[Row]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(repeats):
            pace = 1.2 + 0.7 * run / repeats  # where work falls among con-duct's 1 s samples
            for name in ("hold", "spike", "children", "busy", "cow"):
                for row in _rows(name, tmp, pace):
                    table.setdefault(row[0], []).append(row)

    def cells(rows: list[Row], index: int) -> str:
        return "/".join("-" if row[index] != row[index] else f"{row[index]:.0f}" for row in rows)

    def seconds(rows: list[Row], index: int) -> str:
        return "/".join(f"{row[index]:.2f}" for row in rows)

    print(f"\nAccuracy, {repeats} runs each (con-duct's busy figure is its peak; truth: the")
    print("workload's own getrusage / high-water mark / clock, in the run of our column):")
    print(f"  {'measure':36}{'truth':>16}{'ours':>16}{'con-duct':>16}")
    for label, rows in table.items():
        show = seconds if "CPU s" in label else cells
        print(f"  {label:36}{show(rows, 1):>16}{show(rows, 2):>16}{show(rows, 3):>16}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-accuracy", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONHASHSEED", "0")
    overhead(args.seconds, args.repeats)
    if not args.skip_accuracy:
        accuracy(args.repeats)


if __name__ == "__main__":
    main()
