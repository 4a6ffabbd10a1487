"""Fixed cost of the plugin on a partial run of a real project, side by side in one run (not a
test: run it on demand).

    .venv/bin/python benchmarks/partial_run.py STARTER [--pairs 9] [--work DIR] [--plugin SRC]

STARTER is a local copy of the public kedro-starters repository (or of its
``spaceflights-pandas`` folder): it is not vendored here. For example, from a clone::

    git -C kedro-starters archive HEAD spaceflights-pandas | tar -x -C /tmp/starters

The script generates the spaceflights-pandas project from it (``kedro new --starter``), builds
two virtual environments that differ only by the plugin (the second gets the first one's exact
package versions as constraints, then ``pip install SRC``), runs the whole project once in each
(to create the intermediate data and warm the caches), and then times ``kedro run --pipeline
data_science`` in pairs, alternating which side goes first. It prints both medians, the median
of the per-pair ratios and the spread of the baseline (the machine's noise).

Two venvs, not one venv with the plugin's entry points switched off: Kedro scans entry points
and pluggy imports every registered hook module on every command, so an installed-but-disabled
plugin still costs part of what is measured; ``OTEL_SDK_DISABLED`` leaves the imports and the
hook calls in place. Only a venv without the package is the physical baseline.

The starter's notebook tools (ipython, jupyterlab, notebook, ``kedro[jupyter]``) and kedro-viz are
left out of both venvs: ``kedro run`` does not use them, and installing them adds nothing to the
comparison but download time. ``KEDRO_DISABLE_TELEMETRY=1`` on both sides keeps kedro-telemetry
off the network.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
from importlib import metadata
from pathlib import Path

from _venvs import ROOT, bench_env, build_pair, measured, run, venv

_DROPPED = re.compile(r"^\s*(ipython|jupyterlab|notebook|kedro-viz)\b", re.IGNORECASE)
_PIPELINE = "data_science"


def _starter_folder(starter: Path) -> Path:
    """The ``spaceflights-pandas`` template folder inside ``starter`` (or ``starter`` itself)."""
    for candidate in (starter, starter / "spaceflights-pandas"):
        if (candidate / "cookiecutter.json").is_file():
            return candidate
    raise SystemExit(
        f"{starter} holds no spaceflights-pandas starter (no cookiecutter.json there or in "
        "spaceflights-pandas/): pass a local copy of github.com/kedro-org/kedro-starters."
    )


def _requirements(project: Path, work: Path) -> Path:
    """The project's requirements without notebook tools and kedro-viz."""
    kept = []
    for line in (project / "requirements.txt").read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#") or _DROPPED.match(line):
            continue
        kept.append(line.replace("kedro[jupyter]", "kedro"))
    path = work / "requirements.txt"
    path.write_text("\n".join(kept) + "\n")
    return path


def spaceflights_project(starter: Path, work: Path, kedro_bin: Path, env: dict[str, str]) -> Path:
    """``work/spaceflights``, generated once from the starter by the ``kedro`` in ``kedro_bin``."""
    project = work / "spaceflights"
    if not project.exists():
        run(
            [str(kedro_bin / "kedro"), "new", "--starter", str(_starter_folder(starter)),
             "--name", "spaceflights", "--telemetry", "no"],
            cwd=work,
            env=env,
        )  # fmt: skip
    return project


def build(starter: Path, work: Path, plugin: Path) -> tuple[Path, Path, Path]:
    """The project and the bin folders of the venvs without and with the plugin."""
    kedro_version = metadata.version("kedro")
    without = venv(work / "venv-without")
    run([str(without / "python"), "-m", "pip", "install", "-q", f"kedro=={kedro_version}"])
    project = spaceflights_project(starter, work, without, bench_env())
    requirements = _requirements(project, work)
    pair = build_pair(work, plugin, ["-r", str(requirements), f"kedro=={kedro_version}"])
    return project, pair.without, pair.with_plugin


def _timed(bin_folder: Path, project: Path, *args: str, cpu: list[float] | None = None) -> float:
    """Wall time of one ``kedro run``; its CPU time (user + system) is appended to ``cpu``."""
    result = measured([str(bin_folder / "kedro"), "run", *args], cwd=project, env=bench_env())
    if cpu is not None:
        cpu.append(result.cpu_s)
    return result.wall_s


def measure(project: Path, without: Path, with_plugin: Path, pairs: int) -> None:
    """Interleaved pairs of ``kedro run --pipeline data_science``; prints medians and ratios."""
    for side in (without, with_plugin):  # intermediate data, byte-code, file caches
        _timed(side, project)
        _timed(side, project, "--pipeline", _PIPELINE)
    load_before = os.getloadavg()
    off: list[float] = []
    on: list[float] = []
    cpu_off: list[float] = []
    cpu_on: list[float] = []
    for index in range(pairs):
        order = [(without, off, cpu_off), (with_plugin, on, cpu_on)]
        if index % 2:
            order.reverse()
        for side, times, cpu in order:
            times.append(_timed(side, project, "--pipeline", _PIPELINE, cpu=cpu))
    load_after = os.getloadavg()
    ratios = [a / b for a, b in zip(on, off, strict=True)]
    print(f"kedro run --pipeline {_PIPELINE} on spaceflights-pandas, {pairs} interleaved pairs:")
    print(f"  without plugin : median {statistics.median(off):.3f} s  ({_list(off)})")
    print(f"  with plugin    : median {statistics.median(on):.3f} s  ({_list(on)})")
    print(f"  paired ratios  : {_list(ratios)}")
    of_medians = statistics.median(on) / statistics.median(off)
    print(
        f"  ratio          : median of pairs {statistics.median(ratios):.3f}, "
        f"of medians {of_medians:.3f} (target <= 1.03)"
    )
    cpu_ratio = statistics.median(cpu_on) / statistics.median(cpu_off)
    print(
        f"  CPU time       : median {statistics.median(cpu_off):.3f} s without, "
        f"{statistics.median(cpu_on):.3f} s with, ratio {cpu_ratio:.3f} (less sensitive to load)"
    )
    spread = (max(off) - min(off)) / statistics.median(off)
    print(
        f"  noise          : baseline spread {spread:.1%} of its median; load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after, on {os.cpu_count()} cores"
    )


def _list(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("starter", type=Path, help="a local copy of kedro-starters")
    parser.add_argument("--pairs", type=int, default=9, help="interleaved pairs (>= 7)")
    parser.add_argument("--work", type=Path, help="keep venvs and project here (reused)")
    parser.add_argument("--plugin", type=Path, default=ROOT, help="otel-kedro source to install")
    args = parser.parse_args()
    if args.pairs < 7:
        parser.error("--pairs must be at least 7")
    if args.work is not None:
        args.work.mkdir(parents=True, exist_ok=True)
        measure(*build(args.starter.resolve(), args.work.resolve(), args.plugin.resolve()),
                args.pairs)  # fmt: skip
        return
    with tempfile.TemporaryDirectory() as tmp:
        measure(*build(args.starter.resolve(), Path(tmp), args.plugin.resolve()), args.pairs)


if __name__ == "__main__":
    main()
