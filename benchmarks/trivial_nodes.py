"""``kedro run`` of N trivial chained nodes in two venvs that differ only by the plugin, side by
side (not a test: run it on demand).

    .venv/bin/python benchmarks/trivial_nodes.py [--nodes 500] [--pairs 7]
        [--runner sequential|parallel] [--plugin SRC] [--work DIR] [--no-warmup]

The venvs (``benchmarks/_venvs.py``) hold Kedro and, in the second, the plugin (``--plugin``: a
checkout or a ``src`` tree, default this checkout): the physical baseline, not
``OTEL_SDK_DISABLED``. The project is a chain of ``--nodes`` nodes ``d{i} -> d{i+1}``
(``tests/support/kedro_projects.py``). After one warm-up run per side (byte-code, file caches),
``--pairs`` pairs run interleaved, alternating which side goes first. For each run: wall time,
user + system CPU time of the process tree (``os.wait4``), the maximum RSS of the ``kedro``
process itself (its own ``VmHWM`` at exit, so a pool worker or ``git`` child does not count)
and its RSS sampled every 0.25 s from ``/proc`` (to tell growth during the run from a peak at
its end). Printed: medians per side, medians of the per-pair ratios, the plugin's extra
seconds per node, the spread of the baseline and the load average. Every run folder the plugin
writes is read back with the project's own reader (``otel_kedro.model.run_folder``): each
node's span must be there exactly once; the size of every file in it is printed, then the
folder is removed (so a long benchmark does not fill the disk).
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from importlib import metadata
from pathlib import Path

from _venvs import ROOT, VenvPair, bench_env, build_pair

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.support.kedro_projects import write_chain_project

# Runs ``kedro`` as its console script does, and writes the process's own maximum RSS (bytes)
# to the file named first at exit: registered before anything else, it runs after every other
# exit handler (the plugin's included). ``VmHWM``, not ``ru_maxrss``: Linux carries the forking
# process's high-water mark over ``exec`` into ``ru_maxrss``, and this benchmark's own process
# grows to hundreds of MB reading a large run's spans back.
_LAUNCHER = """
import atexit, sys
path = sys.argv.pop(1)
def _own_peak():
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    with open(path, "w") as out:
        out.write(str(peak * 1024))
atexit.register(_own_peak)
sys.argv[0] = "kedro"
from kedro.framework.cli import main
sys.exit(main())
"""
_RUNNERS = {"sequential": "SequentialRunner", "parallel": "ParallelRunner"}
_MB = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Run:
    """One ``kedro run``: wall and CPU seconds, the kedro process's own peak RSS, its RSS at
    each quarter of the run (from the samples), and the run folder it wrote (plugin side).
    """

    wall_s: float
    cpu_s: float
    peak_rss: int
    rss_quarters: tuple[int, int, int, int]
    folder: Path | None


@dataclasses.dataclass(frozen=True)
class Setup:
    """A project of ``nodes`` trivial nodes and the two venvs to run it in."""

    project: Path
    nodes: int
    venvs: VenvPair


def prepare(work: Path, plugin: Path, nodes: int) -> Setup:
    """The venv pair (Kedro only, plus the plugin) and the chained project under ``work``."""
    venvs = build_pair(work, plugin, [f"kedro=={metadata.version('kedro')}"])
    return Setup(chain_project(work, nodes), nodes, venvs)


def chain_project(work: Path, nodes: int) -> Path:
    """A project of ``nodes`` chained trivial nodes under ``work`` (reused when it exists)."""
    folder = work / f"chain-{nodes}"
    project = folder / "chain"
    if not (project / "pyproject.toml").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        project = write_chain_project(folder, nodes)
    return project


class _RssSampler(threading.Thread):
    """Samples a process's RSS from ``/proc/<pid>/status`` every 0.25 s until it ends."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self._path = Path(f"/proc/{pid}/status")
        self.samples: list[tuple[float, int]] = []

    def run(self) -> None:
        start = time.perf_counter()
        while True:
            try:
                status = self._path.read_text()
            except OSError:
                return
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    self.samples.append((time.perf_counter() - start, int(line.split()[1]) * 1024))
                    break
            else:
                return  # a zombie: its memory is gone
            time.sleep(0.25)

    def quarters(self) -> tuple[int, int, int, int]:
        """The RSS last sampled before 25, 50, 75 and 100 % of the sampled time."""
        if not self.samples:
            return (0, 0, 0, 0)
        end = self.samples[-1][0]
        picked = []
        for fraction in (0.25, 0.5, 0.75, 1.0):
            before = [rss for at, rss in self.samples if at <= end * fraction]
            picked.append(before[-1] if before else self.samples[0][1])
        return (picked[0], picked[1], picked[2], picked[3])


def run_once(
    bin_folder: Path,
    project: Path,
    runner: str,
    output_dir: Path,
    settings: dict[str, str] | None = None,
) -> Run:
    """One measured ``kedro run`` in the venv of ``bin_folder`` (``settings``: extra
    ``OTEL_KEDRO_*`` variables).
    """
    env = bench_env(OTEL_KEDRO_OUTPUT_DIR=str(output_dir), **(settings or {}))
    before = set(output_dir.iterdir()) if output_dir.is_dir() else set()
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryFile() as output:
        peak_file = Path(tmp) / "peak"
        argv = [str(bin_folder / "python"), "-c", _LAUNCHER, str(peak_file), "run",
                "--runner", _RUNNERS[runner]]  # fmt: skip
        start = time.perf_counter()
        process = subprocess.Popen(argv, cwd=project, env=env, stdout=output, stderr=output)
        sampler = _RssSampler(process.pid)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        sampler.join()
        if process.returncode != 0 or not peak_file.is_file():
            output.seek(0)
            tail = output.read().decode(errors="replace")[-5000:]
            raise SystemExit(f"kedro run failed ({process.returncode}) in {project}:\n{tail}")
        peak = int(peak_file.read_text())
    new = sorted(p for p in (set(output_dir.iterdir()) if output_dir.is_dir() else set()) - before
                 if p.is_dir())  # fmt: skip
    return Run(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss=peak,
        rss_quarters=sampler.quarters(),
        folder=new[0] if len(new) == 1 else None,
    )


def check_folder(folder: Path | None, nodes: int) -> list[str]:
    """Problems with a run folder's spans (every node's span present exactly once), and a line
    with the size of every file in it.
    """
    from otel_kedro.attributes import CICD_TASK_NAME
    from otel_kedro.model.run_folder import read_spans

    if folder is None:
        return ["the run wrote no run folder (or more than one)"]
    decoded = read_spans(folder)
    counts = collections.Counter(
        span.attributes.get(CICD_TASK_NAME)
        for span in decoded.items
        if span.attributes and CICD_TASK_NAME in span.attributes
    )
    expected = {f"n{i}" for i in range(nodes)}
    problems = []
    missing = expected - set(counts)
    repeated = {name: count for name, count in counts.items() if count != 1}
    unknown = set(counts) - expected
    if missing:
        problems.append(f"{len(missing)} node spans missing, e.g. {sorted(missing)[:5]}")
    if repeated:
        problems.append(
            f"{len(repeated)} node spans not exactly once: {dict(list(repeated.items())[:5])}"
        )
    if unknown:
        problems.append(f"node spans of no node: {sorted(unknown)[:5]}")
    if decoded.skipped_lines:
        problems.append(f"{decoded.skipped_lines} undecodable lines in traces.jsonl")
    sizes = ", ".join(
        f"{path.name} {_size(path.stat().st_size)}"
        for path in sorted(folder.iterdir(), key=lambda p: p.name)
        if path.is_file()
    )
    problems.append(f"files: {sizes}; {len(decoded.items)} spans, {sum(counts.values())} of nodes")
    return problems


def _size(size: int) -> str:
    return f"{size / _MB:.2f} MB" if size >= _MB else f"{size / 1024:.1f} kB"


@dataclasses.dataclass
class Pairs:
    """Every measured run of both sides, and what the run folders showed."""

    nodes: int
    runner: str
    without: list[Run] = dataclasses.field(default_factory=list)
    with_plugin: list[Run] = dataclasses.field(default_factory=list)
    folder_lines: list[str] = dataclasses.field(default_factory=list)
    span_problems: int = 0
    load: list[float] = dataclasses.field(default_factory=list)


def measure_pairs(setup: Setup, pairs: int, runner: str, *, warmup: bool = True) -> Pairs:
    """``pairs`` interleaved pairs of runs, after one warm-up run per side when ``warmup`` (of
    this project, or of 500 nodes when it is larger: the warm-up is for byte-code and caches).
    """
    output_dir = setup.project.parent / "runs"
    shutil.rmtree(output_dir, ignore_errors=True)
    sides = (setup.venvs.without, setup.venvs.with_plugin)
    if warmup:
        warm = chain_project(setup.project.parents[1], min(setup.nodes, 500))
        for side in sides:
            run_once(side, warm, runner, output_dir)
        shutil.rmtree(output_dir, ignore_errors=True)
    result = Pairs(setup.nodes, runner, load=[os.getloadavg()[0]])
    for index in range(pairs):
        order = [(sides[0], result.without), (sides[1], result.with_plugin)]
        if index % 2:
            order.reverse()
        for side, runs in order:
            run = run_once(side, setup.project, runner, output_dir)
            runs.append(run)
            if side is sides[1]:
                lines = check_folder(run.folder, setup.nodes)
                result.span_problems += len(lines) - 1
                result.folder_lines.append("; ".join(lines))
            shutil.rmtree(output_dir, ignore_errors=True)
        result.load.append(os.getloadavg()[0])
    return result


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _list(values: list[float], digits: int = 2) -> str:
    return ", ".join(f"{v:.{digits}f}" for v in values)


def report(result: Pairs) -> dict[str, float]:
    """Print the comparison; return its main figures (for ``benchmarks/scale.py``)."""
    off, on = result.without, result.with_plugin
    wall_off, wall_on = [r.wall_s for r in off], [r.wall_s for r in on]
    cpu_off, cpu_on = [r.cpu_s for r in off], [r.cpu_s for r in on]
    rss_off, rss_on = [r.peak_rss / _MB for r in off], [r.peak_rss / _MB for r in on]
    wall_ratios = [a / b for a, b in zip(wall_on, wall_off, strict=True)]
    cpu_ratios = [a / b for a, b in zip(cpu_on, cpu_off, strict=True)]
    rss_diffs = [a - b for a, b in zip(rss_on, rss_off, strict=True)]
    nodes = result.nodes
    print(
        f"kedro run, {nodes} trivial chained nodes, {_RUNNERS[result.runner]}, "
        f"{len(on)} interleaved pairs (venvs differing only by the plugin):"
    )
    print(f"  wall without    : median {_median(wall_off):.3f} s  ({_list(wall_off)})")
    print(f"  wall with       : median {_median(wall_on):.3f} s  ({_list(wall_on)})")
    print(
        f"  wall ratio      : median of pairs {_median(wall_ratios):.3f} ({_list(wall_ratios, 3)}),"
        f" of medians {_median(wall_on) / _median(wall_off):.3f}"
    )
    print(f"  CPU without     : median {_median(cpu_off):.3f} s  ({_list(cpu_off)})")
    print(f"  CPU with        : median {_median(cpu_on):.3f} s  ({_list(cpu_on)})")
    print(f"  CPU ratio       : median of pairs {_median(cpu_ratios):.3f} ({_list(cpu_ratios, 3)})")
    extra_wall = (_median(wall_on) - _median(wall_off)) / nodes * 1000
    extra_cpu = _median([a - b for a, b in zip(cpu_on, cpu_off, strict=True)]) / nodes * 1000
    print(f"  per node        : +{extra_wall:.3f} ms wall (of medians), +{extra_cpu:.3f} ms CPU "
          "(median of paired differences)")  # fmt: skip
    print(
        f"  max RSS (kedro) : without {_median(rss_off):.1f} MB ({_list(rss_off, 1)}), with "
        f"{_median(rss_on):.1f} MB ({_list(rss_on, 1)}); difference median "
        f"{_median(rss_diffs):+.1f} MB ({_list(rss_diffs, 1)})"
    )
    for name, runs in (("without", off), ("with", on)):
        quarters = [_median([r.rss_quarters[q] / _MB for r in runs]) for q in range(4)]
        print(f"  RSS at 25/50/75/100 % of the run, {name:<7}: {_list(quarters, 1)} MB (medians)")
    spread = (max(wall_off) - min(wall_off)) / _median(wall_off)
    print(
        f"  noise           : baseline wall spread {spread:.1%} of its median; load average "
        f"{_list(result.load)} (before and after each pair) on {os.cpu_count()} cores"
    )
    verdict = "every node's span exactly once" if result.span_problems == 0 else "PROBLEMS"
    print(f"  run folders     : {verdict}")
    for index, line in enumerate(result.folder_lines):
        print(f"    pair {index + 1}: {line}")
    return {
        "nodes": nodes,
        "wall_ratio": _median(wall_ratios),
        "cpu_ratio": _median(cpu_ratios),
        "extra_wall_ms_per_node": extra_wall,
        "extra_cpu_ms_per_node": extra_cpu,
        "rss_without_mb": _median(rss_off),
        "rss_with_mb": _median(rss_on),
        "rss_diff_mb": _median(rss_diffs),
    }


def work_folder(work: Path | None) -> tuple[Path, tempfile.TemporaryDirectory[str] | None]:
    """``--work`` (created) or a temporary folder removed at the end."""
    if work is not None:
        work.mkdir(parents=True, exist_ok=True)
        return work.resolve(), None
    tmp = tempfile.TemporaryDirectory()
    return Path(tmp.name), tmp


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--pairs", type=int, default=7, help="interleaved pairs (>= 7 to report)")
    parser.add_argument("--runner", choices=sorted(_RUNNERS), default="sequential")
    parser.add_argument("--plugin", type=Path, default=ROOT, help="otel-kedro source to install")
    parser.add_argument("--work", type=Path, help="keep venvs and projects here (reused)")
    parser.add_argument(
        "--no-warmup",
        action="store_true",
        help="skip the warm-up run per side (a ParallelRunner warm-up of 500 nodes takes minutes)",
    )
    args = parser.parse_args()
    work, tmp = work_folder(args.work)
    try:
        setup = prepare(work, args.plugin.resolve(), args.nodes)
        result = measure_pairs(setup, args.pairs, args.runner, warmup=not args.no_warmup)
        report(result)
        if args.pairs < 7:
            print(f"  (only {args.pairs} pairs: a smoke test, not a figure to report)")
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
