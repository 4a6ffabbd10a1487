from __future__ import annotations

# The SDK's TracerProvider re-detects its resource in a forked child with a thread pool; if
# concurrent.futures.thread registered its own at-fork handler after the first provider was
# created, the child runs that pool while the pool's global lock is still held and hangs. Import
# it first, as Kedro does before any run (otel_kedro.runs.tracing does the same).
import concurrent.futures.thread  # noqa: F401
from pathlib import Path

import pytest

from tests.support.kedro_projects import copy_example


@pytest.fixture
def example_project(tmp_path: Path) -> Path:
    return copy_example(tmp_path)
