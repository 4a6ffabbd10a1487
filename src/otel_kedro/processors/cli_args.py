"""Masking of command lines before they are recorded.

This is the conservative first version: option names and Kedro's own command words are kept,
every value and every other positional becomes ``*****``. It keeps the shape of kedro-telemetry's
output (``kedro run --params *****``) without ever recording a value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

MASK: Final = "*****"

# Words of Kedro's own command tree (kedro 1.x). Anything else in a command position is masked.
KEDRO_COMMAND_WORDS: Final = frozenset(
    {
        "catalog", "create", "delete", "describe-datasets", "info", "ipython", "jupyter", "lab",
        "list", "list-patterns", "new", "notebook", "package", "pipeline", "registry", "resolve",
        "run", "server", "setup", "start", "starter", "describe", "resolve-patterns", "otel",
        "consent", "status", "grant", "deny", "check", "replay",
    }
)  # fmt: skip
_PASS_THROUGH: Final = frozenset({"--help", "-h", "--version", "-V", "-v"})


def mask_command_args(args: Sequence[str]) -> list[str]:
    """Mask a ``kedro`` argument list: keep command words and option names, mask all values."""
    masked: list[str] = []
    in_command_path = True
    for arg in args:
        if arg in _PASS_THROUGH:
            masked.append(arg)
        elif arg.startswith("-") and len(arg) > 1:
            name, has_value, _ = arg.partition("=")
            masked.append(name)
            if has_value:
                masked.append(MASK)
            in_command_path = False
        elif in_command_path and arg in KEDRO_COMMAND_WORDS:
            masked.append(arg)
        else:
            masked.append(MASK)
            in_command_path = False
    return masked


def command_path(masked_args: Sequence[str]) -> str:
    """The leading command words of masked args (``pipeline create``), for the span name."""
    words: list[str] = []
    for arg in masked_args:
        if arg.startswith("-") or arg == MASK:
            break
        words.append(arg)
    return " ".join(words)
