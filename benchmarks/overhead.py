"""Overhead of otel-kedro, measured side by side in one run (not a test: run it on demand).

    .venv/bin/python benchmarks/overhead.py [--nodes 500] [--repeats 5]

1. ``kedro run`` of a generated chain of trivial nodes with the plugin active vs disabled
   (``OTEL_SDK_DISABLED=true``), runs interleaved, median wall time of each, and their ratio.
2. The import cost of the plugin's entry points on a ``kedro`` command: the time to import
   ``otel_kedro.plugin`` on top of what the Kedro CLI has already imported, median of repeats.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.kedro_projects import BIN, clean_env, write_chain_project

_IMPORT_PROBE = """
import time
import kedro.framework.cli.cli, kedro.framework.hooks, kedro.framework.cli.hooks
start = time.perf_counter()
import otel_kedro.plugin
print(time.perf_counter() - start)
"""


def _timed_run(project: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [str(BIN / "kedro"), "run"], cwd=project, env=env, check=True, capture_output=True
    )
    return time.perf_counter() - start


def run_overhead(nodes: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = write_chain_project(Path(tmp), nodes)
        enabled, disabled = clean_env(), clean_env(OTEL_SDK_DISABLED="true")
        _timed_run(project, enabled)  # warm file caches and byte-code once
        on: list[float] = []
        off: list[float] = []
        for _ in range(repeats):
            off.append(_timed_run(project, disabled))
            on.append(_timed_run(project, enabled))
        spans = sum(
            1 for f in (project / ".otel_kedro" / "runs").glob("*/traces.jsonl") for _ in f.open()
        )
    median_on, median_off = statistics.median(on), statistics.median(off)
    print(f"kedro run, {nodes} trivial nodes, median of {repeats} interleaved runs each:")
    print(f"  plugin disabled : {median_off:.3f} s   ({', '.join(f'{t:.2f}' for t in off)})")
    print(f"  plugin active   : {median_on:.3f} s   ({', '.join(f'{t:.2f}' for t in on)})")
    print(f"  ratio           : {median_on / median_off:.3f}   (target <= 1.05)")
    # On a shared machine the fastest run of each side is the least disturbed estimate.
    print(f"  ratio of minima : {min(on) / min(off):.3f}")
    print(f"  ({spans} OTLP JSON lines written over {repeats + 1} traced runs)")


def import_cost(repeats: int) -> None:
    samples = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", _IMPORT_PROBE], check=True, capture_output=True, text=True
        ).stdout
        samples.append(float(out.strip().splitlines()[-1]) * 1000)
    print(f"import of the entry points on a kedro command, median of {repeats}:")
    print(f"  {statistics.median(samples):.1f} ms   (target <= 30 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    run_overhead(args.nodes, args.repeats)
    import_cost(max(args.repeats, 9))


if __name__ == "__main__":
    main()
