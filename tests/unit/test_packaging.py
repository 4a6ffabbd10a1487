"""The distribution's metadata stays small: Kedro's ParallelRunner re-registers entry-point hooks
for every task and parses each hook plugin's ``METADATA`` (long description included) three
times per task in every worker process, so its size is paid per node.
"""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).parents[2]
# The long description Kedro parses per task; README.md (~90 kB) cost ~0.9 ms a parse.
_MAX_DESCRIPTION = 2_000


def test_long_description_is_short_text_not_the_readme() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    readme = project["readme"]
    assert isinstance(readme, dict), "readme must be inline text, not a file (see pyproject.toml)"
    assert readme["content-type"] == "text/markdown"
    assert 0 < len(readme["text"].encode("utf-8")) <= _MAX_DESCRIPTION


def test_metadata_kedro_reads_per_task_is_small() -> None:
    """What a ParallelRunner worker does for every task (``Task._run_node_synchronization``):
    a fresh hook manager, entry-point hooks registered, each plugin's distribution read.
    """
    from kedro.framework.hooks.manager import _create_hook_manager, _register_hooks_entry_points

    manager = _create_hook_manager()
    _register_hooks_entry_points(manager, ())
    ours = [dist for _, dist in manager.list_plugin_distinfo() if dist.project_name == "otel-kedro"]
    assert ours, "otel-kedro's hooks are not registered through the kedro.hooks entry point"
    metadata = ours[0].read_text("METADATA") or ""
    assert 0 < len(metadata.encode("utf-8")) <= _MAX_DESCRIPTION + 4_000
