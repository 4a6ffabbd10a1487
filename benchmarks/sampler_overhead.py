"""The process sampler against con-duct, side by side in one run (not a test: run it on demand).

    .venv/bin/python benchmarks/sampler_overhead.py [--seconds 10] [--skip-accuracy]

1. Overhead: CPU used to watch ``sleep N``. Ours runs in a child Python process that starts
   ``sleep`` and samples it at the default interval; its CPU is that process's getrusage over
   the watch, minus the same process watching without a sampler. con-duct's is the CPU of
   ``con-duct run sleep N`` including its ``ps`` children (getrusage of reaped children), minus
   ``sleep`` alone; its start-up and shut-down cost (``con-duct run true``) is shown apart.
2. Accuracy: the workloads of tests/workloads.py under both tools, each against the truth the
   workload measured itself.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.workloads import MB, WORKLOADS

from otel_kedro.sources.process import DEFAULT_INTERVAL, ProcessTreeSampler
from otel_kedro.sources.usage import TreeSample, UsageSummary

BIN = Path(sys.executable).parent
_WATCH = """
import json, resource, subprocess, sys, time
from otel_kedro.sources.process import ProcessTreeSampler
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


def overhead(seconds: float) -> None:
    duct = str(BIN / "con-duct")
    with tempfile.TemporaryDirectory() as tmp:
        prefix = f"{tmp}/{{datetime}}-{{pid}}_"
        idle = _watch(seconds, 0)
        ours = {i: _watch(seconds, i) for i in sorted({DEFAULT_INTERVAL, 0.5, 1.0})}
        sleep_cpu, _ = _run_cpu(["sleep", str(seconds)])
        duct_cpu, duct_wall = _run_cpu([duct, "run", "-q", "-p", prefix, "sleep", str(seconds)])
        true_cpu, true_wall = _run_cpu([duct, "run", "-q", "-p", prefix, "true"])
    print(f"Overhead of watching `sleep {seconds:g}` (CPU seconds; % of one core over the watch):")
    print(f"  idle watcher, no sampler       : {idle['cpu']:.4f} s")
    for interval, run in ours.items():
        cost = run["cpu"] - idle["cpu"]
        tag = " (default)" if interval == DEFAULT_INTERVAL else ""
        print(
            f"  ours, interval {interval:g} s{tag:10}: {cost:.4f} s = "
            f"{cost / run['wall'] * 100:.3f} % of a core ({run['samples']:.0f} samples)"
        )
    steady = duct_cpu - true_cpu - sleep_cpu
    print(f"  con-duct run sleep (total)     : {duct_cpu - sleep_cpu:.4f} s over {duct_wall:.1f} s")
    print(f"  con-duct run true (start/stop) : {true_cpu:.4f} s over {true_wall:.2f} s")
    print(
        f"  con-duct while sampling        : {steady:.4f} s = "
        f"{steady / seconds * 100:.3f} % of a core"
    )
    default = ours[DEFAULT_INTERVAL]
    mine = (default["cpu"] - idle["cpu"]) / default["wall"]
    print(f"  ratio ours/con-duct at defaults: {mine / (steady / seconds):.3f}")


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


def _duct(
    name: str, tmp: str
) -> tuple[dict[str, object], dict[str, float], list[dict[str, object]]]:
    prefix = f"{tmp}/{name}_"
    out = subprocess.run(
        [str(BIN / "con-duct"), "run", "-q", "-p", prefix, "--clobber", "--",
         sys.executable, str(WORKLOADS), name, "--pace", "1.5"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    truth = json.loads(Path(f"{prefix}stdout").read_text().strip().splitlines()[-1])
    del out
    summary = json.loads(Path(f"{prefix}info.json").read_text())["execution_summary"]
    usage = [json.loads(line) for line in Path(f"{prefix}usage.jsonl").read_text().splitlines()]
    return truth, summary, usage


def _inside(samples: list[TreeSample], start: float, end: float) -> list[float]:
    return [
        b.cpu_percent
        for a, b in itertools.pairwise(samples)
        if a.timestamp >= start + 0.05 and b.timestamp <= end - 0.05
    ]


def accuracy() -> None:
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, measure in _MEASURES.items():
            truth, summary, samples = _ours(name, pss=name == "cow")
            d_truth, d_summary, _ = _duct(name, tmp)
            rows.extend(measure(truth, summary, samples, d_truth, d_summary))
    width = max(len(row[0]) for row in rows)
    print("\nAccuracy (each tool against the truth the workload measured in its own run):")
    print(f"  {'measure':{width}}  {'truth':>16}  {'ours':>16}  {'con-duct':>16}")
    for label, truth_text, ours_text, duct_text in rows:
        print(f"  {label:{width}}  {truth_text:>16}  {ours_text:>16}  {duct_text:>16}")


def _mb(value: object) -> str:
    return f"{float(value) / MB:.0f} MB"  # type: ignore[arg-type]


_Rows = list[tuple[str, str, str, str]]


def _hold(t: dict, s: UsageSummary, _: list, dt: dict, d: dict) -> _Rows:  # type: ignore[type-arg]
    return [("hold 300 MB 2 s: peak RSS", f"{_mb(t['peak'])} / {_mb(dt['peak'])}",
             _mb(s.peak_rss), _mb(d["peak_rss"]))]  # fmt: skip


def _spike(t: dict, s: UsageSummary, _: list, dt: dict, d: dict) -> _Rows:  # type: ignore[type-arg]
    return [("500 MB spike 0.3 s: peak RSS", f"{_mb(t['peak'])} / {_mb(dt['peak'])}",
             _mb(s.peak_rss), _mb(d["peak_rss"]))]  # fmt: skip


def _children(t: dict, s: UsageSummary, _: list, dt: dict, d: dict) -> _Rows:  # type: ignore[type-arg]
    duct_cpu = d["average_pcpu"] / 100 * d["wall_clock_time"]
    return [
        ("4 children x 0.4 s: CPU seconds", f"{t['cpu']:.2f} / {dt['cpu']:.2f}",
         f"{s.cpu_seconds:.2f}", f"~{duct_cpu:.2f}"),
        ("4 children x 0.4 s: peak %CPU", "~100", f"{s.peak_pcpu:.0f}", f"{d['peak_pcpu']:.0f}"),
    ]  # fmt: skip


def _busy(t: dict, _s: UsageSummary, samples: list, dt: dict, d: dict) -> _Rows:  # type: ignore[type-arg]
    inside = _inside(samples, t["start"], t["end"])
    text = "/".join(f"{p:.0f}" for p in inside) or "-"
    return [("busy core 3 s: %CPU in busy intervals", f"{t['rate']:.0f} / {dt['rate']:.0f}",
             text, f"peak {d['peak_pcpu']:.0f}")]  # fmt: skip


def _cow(t: dict, s: UsageSummary, _: list, _dt: dict, d: dict) -> _Rows:  # type: ignore[type-arg]
    real = t["allocated"] + t["baseline"]
    return [
        ("300 MB + 4 CoW forks: real (PSS)", _mb(real), _mb(s.peak_pss), "-"),
        ("300 MB + 4 CoW forks: RSS sum", "~" + _mb(5 * real), _mb(s.peak_rss), _mb(d["peak_rss"])),
    ]  # fmt: skip


_MEASURES: dict[str, Callable[..., _Rows]] = {
    "hold": _hold, "spike": _spike, "children": _children, "busy": _busy, "cow": _cow,
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--skip-accuracy", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONHASHSEED", "0")
    overhead(args.seconds)
    if not args.skip_accuracy:
        accuracy()


if __name__ == "__main__":
    main()
