"""What the plugin keeps in memory per node during a run (not a test: run it on demand).

    .venv/bin/python benchmarks/retained_memory.py [--nodes 1000,2000] [--top 25] [--frames 20]

For each node count, in a fresh interpreter with ``tracemalloc`` on, a chain of trivial nodes
runs in-process through ``KedroSession`` with the plugin active (this checkout's ``src``). A
project hook takes a snapshot just before the last node runs (after ``gc.collect()``), so what it
shows is what the run holds while it goes on, not the end-of-run work. The snapshots are
filtered to allocations with an ``otel_kedro`` or ``opentelemetry`` frame in their traceback,
and the larger run is compared with the smaller one, grouped by traceback: the difference
divided by the difference in nodes is what each node leaves behind. Also printed: the traced
total and peak at that point and after the session closed, and the process's RSS at both points.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import textwrap
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.kedro_projects import clean_env, write_chain_project  # noqa: E402

_PROBE_HOOK = """
import gc, os, tracemalloc
from pathlib import Path
from kedro.framework.hooks import hook_impl


def _rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class Probe:
    @hook_impl
    def before_node_run(self, node):
        if node.name == os.environ["PROBE_LAST"]:
            gc.collect()
            tracemalloc.take_snapshot().dump(os.environ["PROBE_SNAPSHOT"])
            current, peak = tracemalloc.get_traced_memory()
            Path(os.environ["PROBE_SNAPSHOT"] + ".during").write_text(f"{current} {peak} {_rss()}")


HOOKS = (Probe(),)
"""

_RUN = """
import gc, os, sys, tracemalloc
tracemalloc.start(int(sys.argv[3]))
from pathlib import Path
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

project = Path(sys.argv[1])
bootstrap_project(project)
with KedroSession.create(project) as session:
    session.run()
gc.collect()
current, peak = tracemalloc.get_traced_memory()
rss = 0
for line in Path("/proc/self/status").read_text().splitlines():
    if line.startswith("VmRSS:"):
        rss = int(line.split()[1]) * 1024
Path(sys.argv[2] + ".after").write_text(f"{current} {peak} {rss}")
"""

_FILTERS = [
    tracemalloc.Filter(inclusive=True, filename_pattern="*otel_kedro*", all_frames=True),
    tracemalloc.Filter(inclusive=True, filename_pattern="*opentelemetry*", all_frames=True),
]
_MB = 1024 * 1024


def _project(work: Path, nodes: int) -> Path:
    project = write_chain_project(work / f"chain-{nodes}", nodes)
    (project / "src" / "chain" / "settings.py").write_text(textwrap.dedent(_PROBE_HOOK))
    return project


def _measure(work: Path, nodes: int, frames: int) -> tuple[tracemalloc.Snapshot, list[int]]:
    project = _project(work, nodes)
    dump = work / f"snapshot-{nodes}"
    env = clean_env(
        PROBE_LAST=f"n{nodes - 1}",
        PROBE_SNAPSHOT=str(dump),
        OTEL_KEDRO_OUTPUT_DIR=str(work / "runs"),
        PYTHONPATH=str(ROOT / "src"),
    )
    subprocess.run(
        [sys.executable, "-c", _RUN, str(project), str(dump), str(frames)],
        cwd=project, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    figures = [int(x) for x in (work / f"snapshot-{nodes}.during").read_text().split()]
    figures += [int(x) for x in (work / f"snapshot-{nodes}.after").read_text().split()]
    return tracemalloc.Snapshot.load(str(dump)).filter_traces(_FILTERS), figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", default="1000,2000", help="two node counts, small,large")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--frames", type=int, default=20, help="traceback depth kept")
    args = parser.parse_args()
    small, large = (int(n) for n in args.nodes.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results = {n: _measure(work, n, args.frames) for n in (small, large)}
    for nodes, (snapshot, figures) in results.items():
        ours = sum(stat.size for stat in snapshot.statistics("filename"))
        print(
            f"{nodes} nodes: before the last node, traced {figures[0] / _MB:.1f} MB (peak "
            f"{figures[1] / _MB:.1f} MB), of which with an otel_kedro/opentelemetry frame "
            f"{ours / _MB:.2f} MB, RSS {figures[2] / _MB:.1f} MB; after the session closed: "
            f"traced {figures[3] / _MB:.1f} MB (peak {figures[4] / _MB:.1f} MB), RSS "
            f"{figures[5] / _MB:.1f} MB"
        )
    delta = results[large][0].compare_to(results[small][0], "traceback")
    per = large - small
    total = sum(stat.size_diff for stat in delta)
    print(
        f"\nretained with an otel_kedro/opentelemetry frame, {large} vs {small} nodes: "
        f"{total / _MB:+.2f} MB, {total / per:+.0f} bytes per node; largest by traceback:"
    )
    for stat in sorted(delta, key=lambda s: -s.size_diff)[: args.top]:
        if stat.size_diff <= 0:
            break
        print(f"\n{stat.size_diff / per:+8.0f} B/node  {stat.count_diff / per:+.2f} blocks/node")
        frames = [
            f"{frame.filename.split('site-packages/')[-1].split('src/')[-1]}:{frame.lineno}"
            for frame in stat.traceback
        ]
        interesting = [f for f in frames if "otel_kedro" in f or "opentelemetry" in f]
        print("    " + "\n    ".join([*frames[-3:], "...", *interesting[-4:]][::-1]))


if __name__ == "__main__":
    main()
