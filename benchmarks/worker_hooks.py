"""What a ParallelRunner worker pays per task to get its hooks, with and without the plugin (not
a test: run it on demand).

    .venv/bin/python benchmarks/worker_hooks.py [--rounds 7] [--tasks 200] [--plugin SRC]
        [--work DIR]

Kedro's ``Task._run_node_synchronization`` creates a new hook manager for every task a worker
runs and registers the entry-point hooks on it again; ``_register_hooks_entry_points`` reads
every installed distribution's entry points and each hook plugin's ``project_name`` and
``version``, and ``importlib.metadata`` parses the plugin's whole ``METADATA`` (its long
description too) for each. This times exactly that call, ``--tasks`` times in a fresh
interpreter per round, in the two venvs of ``benchmarks/_venvs.py`` (Kedro only; the same plus
the plugin), rounds alternating which side goes first. Printed: CPU per task on each side
(medians of the rounds) and the plugin's extra per task, with the load average.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path

from _venvs import ROOT, bench_env, build_pair

_TIMED = """
import logging, sys, time
logging.disable(logging.CRITICAL)
from kedro.framework.hooks.manager import _create_hook_manager, _register_hooks_entry_points
tasks = int(sys.argv[1])
_register_hooks_entry_points(_create_hook_manager(), ())  # imports, file caches
start = time.process_time()
for _ in range(tasks):
    _register_hooks_entry_points(_create_hook_manager(), ())
print((time.process_time() - start) / tasks)
"""


def per_task(python: Path, tasks: int) -> float:
    """CPU seconds per task of the registration, in a fresh interpreter of ``python``."""
    out = subprocess.run(
        [str(python), "-c", _TIMED, str(tasks)],
        env=bench_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--tasks", type=int, default=200, help="registrations timed per round")
    parser.add_argument("--plugin", type=Path, default=ROOT, help="otel-kedro source to install")
    parser.add_argument("--work", type=Path, help="keep the venvs here (reused)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="otel-kedro-worker-hooks-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        venvs = build_pair(work, args.plugin.resolve(), [f"kedro=={metadata.version('kedro')}"])
        sides = {"without": venvs.without / "python", "with": venvs.with_plugin / "python"}
        times: dict[str, list[float]] = {name: [] for name in sides}
        loads = [os.getloadavg()[0]]
        for round_ in range(args.rounds):
            order = list(sides) if round_ % 2 == 0 else list(reversed(sides))
            for name in order:
                times[name].append(per_task(sides[name], args.tasks))
            loads.append(os.getloadavg()[0])
        without = statistics.median(times["without"]) * 1000
        with_plugin = statistics.median(times["with"]) * 1000
        print(f"hook registration per ParallelRunner task ({args.rounds} rounds x {args.tasks}):")
        for label, name, median in (
            ("without the plugin", "without", without),
            ("with the plugin   ", "with", with_plugin),
        ):
            rounds = [round(t * 1000, 3) for t in times[name]]
            print(f"  {label}: {median:.3f} ms  {rounds}")
        print(f"  plugin's extra    : {with_plugin - without:+.3f} ms of CPU per task")
        print(f"  load average      : {min(loads):.2f}-{max(loads):.2f} on {os.cpu_count()} cores")
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
