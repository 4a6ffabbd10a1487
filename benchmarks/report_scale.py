"""The report of a 3,000-node run: its size, the time to write it, and how long Chromium takes
to render it (Playwright ``page.goto`` until the load event, read as ``loadEventEnd`` of the
navigation, plus ``performance.now()`` once loaded). (Not a test: on demand.)

    .venv/bin/python benchmarks/report_scale.py [--nodes 3000] [--width 50] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.browser import open_file
from tests.support.kedro_projects import layered_registry, run_folders, run_kedro, write_project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=3000)
    parser.add_argument("--width", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from otel_kedro.model.run_view import read_run
    from otel_kedro.runs.views import write_run_report

    with tempfile.TemporaryDirectory() as tmp:
        project = write_project(Path(tmp), "wide", layered_registry(args.nodes, args.width))
        started = time.perf_counter()
        done = run_kedro(project, "run", timeout=3600)
        if done.returncode != 0:
            raise SystemExit(done.stderr[-3000:])
        print(f"kedro run of {args.nodes} nodes: {time.perf_counter() - started:.1f} s")
        folder = run_folders(project)[-1]
        view = read_run(folder)
        print(f"spans: {len(view.spans)}, nodes: {len(view.nodes)}, lanes: {len(view.lanes)}")
        writes = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            page = write_run_report(folder)
            writes.append(time.perf_counter() - started)
        print(f"write report: median {statistics.median(writes):.2f} s of {args.repeats}")
        print(f"report size: {page.stat().st_size / 1e6:.2f} MB")
        loads, nows = [], []
        for _ in range(args.repeats):
            with open_file(page) as opened:
                loads.append(opened.load_ms)
                nows.append(float(opened.page.evaluate("() => performance.now()")))
                errors = opened.console_errors
        print(
            f"Chromium: load event at {statistics.median(loads):.0f} ms (median of {args.repeats};"
            f" all {', '.join(f'{v:.0f}' for v in loads)}), performance.now() after load "
            f"{statistics.median(nows):.0f} ms; console errors: {len(errors)}"
        )


if __name__ == "__main__":
    main()
