"""What each of the plugin's default features costs on a ``kedro run`` of trivial nodes, side by
side in one run (not a test: run it on demand).

    .venv/bin/python benchmarks/feature_costs.py [--nodes 500] [--rounds 5] [--work DIR]

The venvs and the chained project are ``benchmarks/trivial_nodes.py``'s (reused from ``--work``).
Every round runs each variant once, in a rotated order: no plugin (the venv without it); the
plugin with its defaults; the plugin with one feature switched off through its ``OTEL_KEDRO_*``
variable (log records, dataset spans, the process sampler, the run's extras: provenance, the
report page and the summary); and with all of those off. Printed per variant: median wall and
CPU (user + system of the process tree), the median of its per-round CPU ratios to no plugin, and
what it saves against the defaults per node (median of per-round differences), so the price of
each feature on the cheapest possible nodes can be read off one table. Run folders are removed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
from pathlib import Path
from typing import Final

from _venvs import ROOT
from trivial_nodes import Run, prepare, run_once, work_folder

_OFF: Final = "false"
_EXTRAS: Final = {
    "OTEL_KEDRO_PROVENANCE": _OFF,
    "OTEL_KEDRO_REPORT": _OFF,
    "OTEL_KEDRO_SUMMARY": _OFF,
}
# name -> settings; None is the venv without the plugin.
VARIANTS: Final[dict[str, dict[str, str] | None]] = {
    "no plugin": None,
    "defaults": {},
    "logs off": {"OTEL_KEDRO_LOGS": _OFF},
    "dataset spans off": {"OTEL_KEDRO_DATASET_SPANS": _OFF},
    "sampler off": {"OTEL_KEDRO_SAMPLER": _OFF},
    "provenance, report, summary off": _EXTRAS,
    "all of these off": {
        "OTEL_KEDRO_LOGS": _OFF,
        "OTEL_KEDRO_DATASET_SPANS": _OFF,
        "OTEL_KEDRO_SAMPLER": _OFF,
        **_EXTRAS,
    },
}


def measure(work: Path, plugin: Path, nodes: int, rounds: int) -> dict[str, list[Run]]:
    """``rounds`` rounds of every variant (after one warm-up run of each venv)."""
    setup = prepare(work, plugin, nodes)
    output_dir = setup.project.parent / "runs"
    shutil.rmtree(output_dir, ignore_errors=True)
    names = list(VARIANTS)
    runs: dict[str, list[Run]] = {name: [] for name in names}

    def once(name: str) -> Run:
        settings = VARIANTS[name]
        side = setup.venvs.without if settings is None else setup.venvs.with_plugin
        run = run_once(side, setup.project, "sequential", output_dir, settings)
        shutil.rmtree(output_dir, ignore_errors=True)
        return run

    once("no plugin")
    once("defaults")
    for index in range(rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            runs[name].append(once(name))
    return runs


def report(runs: dict[str, list[Run]], nodes: int, loads: tuple[float, float]) -> None:
    """One line per variant."""
    base = runs["no plugin"]
    defaults = runs["defaults"]
    print(f"kedro run, {nodes} trivial chained nodes, {len(base)} rounds (rotated order):")
    print(f"  {'variant':<32} {'wall s':>7} {'CPU s':>7} {'CPU ratio':>10} {'saves/node':>11}")
    for name, measured in runs.items():
        wall = statistics.median(r.wall_s for r in measured)
        cpu = statistics.median(r.cpu_s for r in measured)
        ratio = statistics.median(r.cpu_s / b.cpu_s for r, b in zip(measured, base, strict=True))
        saved = statistics.median(
            d.cpu_s - r.cpu_s for r, d in zip(measured, defaults, strict=True)
        )
        print(f"  {name:<32} {wall:7.3f} {cpu:7.3f} {ratio:10.3f} {saved / nodes * 1e3:8.3f} ms")
    spread = (max(r.wall_s for r in base) - min(r.wall_s for r in base)) / statistics.median(
        r.wall_s for r in base
    )
    print(
        f"  noise: no-plugin wall spread {spread:.1%} of its median; load average "
        f"{loads[0]:.2f} before, {loads[1]:.2f} after, on {os.cpu_count()} cores"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--plugin", type=Path, default=ROOT, help="otel-kedro source to install")
    parser.add_argument("--work", type=Path, help="keep venvs and projects here (reused)")
    args = parser.parse_args()
    work, tmp = work_folder(args.work)
    try:
        before = os.getloadavg()[0]
        runs = measure(work, args.plugin.resolve(), args.nodes, args.rounds)
        report(runs, args.nodes, (before, os.getloadavg()[0]))
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
