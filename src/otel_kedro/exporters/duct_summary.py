"""The end-of-run summary of ``otel-kedro run`` in con-duct's words and template language.

``duct`` prints its summary through a ``string.Formatter`` whose templates (``--summary-format``,
``DUCT_SUMMARY_FORMAT``) use custom conversions: ``!S`` a size in decimal units, ``!E`` an exit
code (red when non-zero), ``!X`` truthy green, ``!N`` red when missing, ``!P`` a percentage,
``!T`` a duration, ``!D`` a date, also after a format spec (``{peak_pcpu:.2f!N}``). A template
written for duct must print the same here, so this follows con-duct 0.23.0's formatter.
"""

from __future__ import annotations

import datetime
import string
from typing import Any, Final

SUMMARY_FORMAT: Final = (
    "Summary:\n"
    "Exit Code: {exit_code!E}\n"
    "Command: {command}\n"
    "Log files location: {logs_prefix}\n"
    "Wall Clock Time: {wall_clock_time:.3f} sec\n"
    "Memory Peak Usage (RSS): {peak_rss!S}\n"
    "Memory Average Usage (RSS): {average_rss!S}\n"
    "Virtual Memory Peak Usage (VSZ): {peak_vsz!S}\n"
    "Virtual Memory Average Usage (VSZ): {average_vsz!S}\n"
    "Memory Peak Percentage: {peak_pmem:.2f!N}%\n"
    "Memory Average Percentage: {average_pmem:.2f!N}%\n"
    "CPU Peak Usage: {peak_pcpu:.2f!N}%\n"
    "Average CPU Usage: {average_pcpu:.2f!N}%\n"
)
"""con-duct's default template, word for word."""

_UNITS: Final = ("kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
_NONE: Final = "-"
_RED: Final = 31
_GREEN: Final = 32


def natural_size(value: float | str, spec: str = "%.1f") -> str:
    """Bytes in decimal units as con-duct writes them (``3.0 MB``, ``999 Bytes``, ``1 Byte``)."""
    size = float(value)
    magnitude = abs(size)
    if magnitude == 1:
        return f"{int(size)} Byte"
    if magnitude < 1000:
        return f"{int(size)} Bytes"
    unit, divisor = _UNITS[0], 1000.0
    for power, name in enumerate(_UNITS, start=1):
        if magnitude / 1000.0**power >= 1:
            unit, divisor = name, 1000.0**power
    return f"{spec % (size / divisor)} {unit}"


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{int(seconds // 3600)}h {int((seconds % 3600) // 60)}m {seconds % 60:.1f}s"
    if seconds >= 60:
        return f"{int(seconds // 60)}m {seconds % 60:.1f}s"
    return f"{seconds:.2f}s"


class SummaryFormatter(string.Formatter):
    """con-duct's conversions and colours (ANSI, only with ``colors``)."""

    def __init__(self, colors: bool = False) -> None:
        self.colors = colors

    def _color(self, text: object, color: int) -> str:
        return f"\033[1;{color}m{text}\033[0m" if self.colors else str(text)

    def convert_field(self, value: Any, conversion: str | None) -> Any:  # noqa: PLR0911
        """Apply one of con-duct's conversions, or Python's own (``!r``, ``!s``, ``!a``)."""
        if conversion == "S":
            return self._color(natural_size(value), _GREEN) if value is not None else self._none()
        if conversion == "E":
            shown = value if value is not None else _NONE
            return self._color(shown, _RED if value or value is None else _GREEN)
        if conversion == "X":
            return self._color(value if value is not None else _NONE, _GREEN if value else _RED)
        if conversion == "N":
            return self._none() if value is None else self._color(value, _GREEN)
        if conversion == "P":
            return f"{float(value):.2f}%" if value is not None else self._none()
        if conversion == "T":
            return _duration(float(value)) if value is not None else self._none()
        if conversion == "D":
            if value is None:
                return self._none()
            try:
                moment = datetime.datetime.fromtimestamp(float(value))
            except (ValueError, OSError):
                return str(value)
            return moment.strftime("%b %d, %Y %I:%M %p")
        return super().convert_field(value, conversion)

    def _none(self) -> str:
        return self._color(_NONE, _RED)

    def format_field(self, value: Any, format_spec: str) -> Any:
        """A missing value is ``-``; ``spec!X`` formats with ``spec`` then converts with ``X``."""
        if value is None:
            return _NONE
        conversion = None
        if "!" in format_spec and format_spec.index("!") > 1:
            format_spec, conversion = format_spec.split("!", 1)
        try:
            formatted = super().format_field(value, format_spec)
        except ValueError:
            return str(value)
        return self.convert_field(formatted, conversion) if conversion else formatted


def format_summary(template: str, values: dict[str, Any], *, colors: bool = False) -> str:
    """``template`` filled with an ``execution_summary`` as con-duct fills it."""
    return SummaryFormatter(colors).format(template, **values)
