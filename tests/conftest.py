from __future__ import annotations

# The SDK's TracerProvider re-detects its resource in a forked child with a thread pool; if
# concurrent.futures.thread registered its own at-fork handler after the first provider was
# created, the child runs that pool while the pool's global lock is still held and hangs. Import
# it first, as Kedro does before any run (otel_kedro.runs.tracing does the same).
import concurrent.futures.thread  # noqa: F401
import os
import signal
from pathlib import Path

import pytest

from tests.support.kedro_projects import copy_example

# xdist workers ignore SIGINT, and an ignored signal is inherited by every child: a `kedro run`
# started from a worker could then not be interrupted. Give workers Python's default handler,
# which a child resets to the default action at exec, as it is for a run from a terminal.
if os.environ.get("PYTEST_XDIST_WORKER"):
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def example_project(tmp_path: Path) -> Path:
    return copy_example(tmp_path)


# Under ``pytest -n 2 --dist loadgroup`` (dev.py test) tests in one group run on one worker, in
# order; every other test goes wherever a worker is free. Every server here binds port 0, so no
# two tests clash on a port; groups keep a module fixture set up once, and keep the tests that
# time themselves or the machine's CPU from running against each other.
_FILE_GROUPS = {
    # One Phoenix server per module (minutes to install the first time, seconds to start).
    "tests/integration/test_phoenix.py": "phoenix",
    # One MLflow server per module (a minute to install the first time, ~40 s to start).
    "tests/integration/test_mlflow.py": "mlflow",
    # Module fixtures: a measured workload, con-duct's own run, a KedroCLI over sys.modules.
    "tests/unit/exporters/test_conduct.py": "conduct",
    "tests/unit/processors/test_cli_args.py": "cli_args",
    # CPU-rate and peak-memory workloads, judged against their own wall clock.
    "tests/unit/sources/process/test_sampler.py": "timing",
    # Module fixtures: real runs of the example read back by ls/show/diff and the report page.
    "tests/integration/test_run_views.py": "run_views",
    "tests/integration/test_report_page.py": "report_page",
}
_TEST_GROUPS = {
    # A run with a dead collector or a silent Heap against a baseline run, by wall clock.
    "tests/integration/test_otlp.py::test_a_dead_collector_cannot_hold_the_run": "timing",
    "tests/integration/test_heap.py::test_a_silent_heap_cannot_hold_the_run_and_replay_sends_once": (
        "timing"
    ),
}


@pytest.hookimpl(tryfirst=True)  # before xdist reads the marks (loadgroup)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path, _, name = item.nodeid.partition("::")
        group = _TEST_GROUPS.get(f"{path}::{name.split('[')[0]}") or _FILE_GROUPS.get(path)
        if group and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(group))
        if group == "timing":  # dev.py runs these after the rest, on an otherwise idle machine
            item.add_marker(pytest.mark.alone)
