"""The ``otel-kedro`` command, also available inside a project as ``kedro otel …``.

The click groups live in :mod:`._cli` and are loaded on first use, so that ``otel-kedro run``
reaches its argparse parser without importing click (its start-up budget is 100 ms). Add
subcommands to ``SUBCOMMANDS`` there.
"""

from __future__ import annotations

import sys
from typing import Any

_CLICK_NAMES = frozenset({"main_group", "kedro_commands", "otel"})


def main() -> None:
    """``otel-kedro`` console script."""
    if sys.argv[1:2] == ["run"]:
        from otel_kedro.commands.run import run_main

        run_main(sys.argv[2:])
    from otel_kedro.commands._cli import main_group

    main_group()


def __getattr__(name: str) -> Any:
    """The click objects (``kedro_commands`` is Kedro's entry point), imported when asked for."""
    if name in _CLICK_NAMES:
        from otel_kedro.commands import _cli

        return getattr(_cli, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
