"""Formatting shared by the run commands (`ls`, `show`, `diff`)."""

from __future__ import annotations

import datetime as dt

RESULT_STYLES = {"success": "green", "failure": "bold red", "cancellation": "yellow"}


def size(value: float | None) -> str:
    """Bytes in B/KB/MB/GB (decimal), or a dash."""
    if value is None:
        return "—"
    for unit in ("B", "KB", "MB"):
        if abs(value) < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def seconds(value: float | None) -> str:
    """Seconds with a precision that suits their size, or a dash."""
    if value is None:
        return "—"
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def when(ns: int) -> str:
    """A UTC instant, to the second, or a dash."""
    if not ns:
        return "—"
    moment = dt.datetime.fromtimestamp(ns / 1e9, dt.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def result(text: str) -> str:
    """A run or node result in rich markup."""
    style = RESULT_STYLES.get(text, "dim")
    return f"[{style}]{text}[/]"
