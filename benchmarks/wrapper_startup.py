"""Start-up cost of ``otel-kedro run true`` against ``duct true``, side by side (run on demand).

    .venv/bin/python benchmarks/wrapper_startup.py [--repeats 15]

Each repeat runs, in alternating order, ``otel-kedro run -q -p DIR/ true``, ``duct -q -p DIR/
true`` and ``true`` alone (the process start of the command itself), each timed as the wall
clock around ``subprocess.run`` from this process, and as the CPU seconds its process tree
used, with fresh output folders. Prints the medians and the spread, and the wall time added
over ``true`` alone.

First, one run of each with bytecode writing on (``PYTHONDONTWRITEBYTECODE`` unset), so both
read compiled modules as an installed package does: a machine that never writes ``.pyc``
files compiles every module of either tool on every run (≈ 75 ms for ours, measured).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system of the whole tree) of one run of ``argv``,
    which must succeed. CPU time barely depends on how busy the machine is; wall time does.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    """Interleave the three commands and print medians."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=15)
    repeats = parser.parse_args().repeats
    true = shutil.which("true") or "true"
    env_path = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    os.environ["PATH"] = env_path  # duct execs con-duct from PATH
    times: dict[str, list[float]] = {"otel-kedro run true": [], "duct true": [], "true": []}
    cpu: dict[str, list[float]] = {name: [] for name in times}
    with tempfile.TemporaryDirectory() as tmp:
        writing = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        for argv in ([str(BIN / "otel-kedro"), "run", "-q", "-p", f"{tmp}/warm1/", true],
                     [str(BIN / "duct"), "-q", "-p", f"{tmp}/warm2/", true]):  # fmt: skip
            subprocess.run(argv, check=True, env=writing, stdout=subprocess.DEVNULL)
        for index in range(repeats):
            runs = {
                "otel-kedro run true": [str(BIN / "otel-kedro"), "run", "-q", "-p",
                                        f"{tmp}/ours{index}/", true],
                "duct true": [str(BIN / "duct"), "-q", "-p", f"{tmp}/duct{index}/", true],
                "true": [true],
            }  # fmt: skip
            order = list(runs) if index % 2 == 0 else list(reversed(runs))
            for name in order:
                wall, used = timed(runs[name])
                times[name].append(wall)
                cpu[name].append(used)
    base = statistics.median(times["true"])
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"{name:22s} wall median {median * 1000:7.1f} ms (min {min(values) * 1000:.1f}, "
            f"max {max(values) * 1000:.1f}; {median - base:+.3f} s over true alone); "
            f"CPU median {statistics.median(cpu[name]) * 1000:.1f} ms; n={len(values)}"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
