from __future__ import annotations

from pathlib import Path

import pytest

from tests.kedro_projects import copy_example


@pytest.fixture
def example_project(tmp_path: Path) -> Path:
    return copy_example(tmp_path)
