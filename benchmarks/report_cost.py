"""What writing ``report.html`` at the end of a run costs, on the example project, side by side.

Each run is a fresh interpreter running a ``KedroSession`` (as ``kedro run`` does, minus the CLI),
alternating ``report: true`` and ``report: false``. Two figures per run:

- the time spent in the end-of-run report step itself (``runs.root._write_report``, wrapped with
  a timer), which is exactly what the setting adds to the run: imports of the report modules,
  reading the run folder and the previous run's trace, rendering and writing the page;
- the wall time of the whole interpreter, report on vs off (noisy on a shared machine; the
  medians are printed for comparison).

    .venv/bin/python benchmarks/report_cost.py [--repeats 7] [--pipeline data_processing]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.kedro_projects import clean_env, copy_example

_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import otel_kedro.runs.root as root
    spent = []
    original = root._write_report
    def timed(folder):
        start = time.perf_counter()
        original(folder)
        spent.append(time.perf_counter() - start)
    root._write_report = timed
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project
    bootstrap_project(sys.argv[1])
    with KedroSession.create(sys.argv[1]) as session:
        session.run(pipeline_name=sys.argv[2] or None)
    print(json.dumps({"report_s": spent}))
    """
)


def _run(project: Path, pipeline: str, report: bool) -> tuple[float, float | None]:
    env = clean_env(OTEL_KEDRO_REPORT=str(report).lower(), OTEL_KEDRO_SUMMARY="false")
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(project), pipeline],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    spent = json.loads(done.stdout.strip().splitlines()[-1])["report_s"]
    return wall, (spent[0] if spent else None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--pipeline", default="", help="default: the whole __default__ pipeline")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = copy_example(Path(tmp))
        _run(project, args.pipeline, report=True)  # warm the disk cache; leaves a previous run
        walls: dict[bool, list[float]] = {True: [], False: []}
        steps: list[float] = []
        for index in range(args.repeats):
            for report in (True, False) if index % 2 == 0 else (False, True):
                wall, step = _run(project, args.pipeline, report)
                walls[report].append(wall)
                if report and step is not None:
                    steps.append(step)
        page = max((project / ".otel_kedro" / "runs").glob("*/report.html"))
        print(f"pipeline: {args.pipeline or '__default__'}, {args.repeats} runs each, interleaved")
        print(
            f"report step: median {statistics.median(steps) * 1000:.1f} ms "
            f"(min {min(steps) * 1000:.1f}, max {max(steps) * 1000:.1f})"
        )
        on, off = statistics.median(walls[True]), statistics.median(walls[False])
        print(
            f"wall: report on {on:.3f} s, off {off:.3f} s, difference {(on - off) * 1000:+.0f} ms"
        )
        print(f"page size: {page.stat().st_size / 1000:.1f} kB")


if __name__ == "__main__":
    main()
