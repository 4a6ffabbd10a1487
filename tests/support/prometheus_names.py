"""The names OTLP metrics get in Prometheus, for checking the Grafana dashboard's queries.

The translation assumed (Prometheus 3's OTLP receiver with ``translation_strategy:
UnderscoreEscapingWithSuffixes``, its default, and the Collector's Prometheus exporters with
metric suffixes on, which share Prometheus' ``otlptranslator`` rules):

- every character outside ``[a-zA-Z0-9_:]`` becomes ``_`` and runs of ``_`` collapse to one
  (``process.cpu.time`` -> ``process_cpu_time``); attribute keys become labels the same way;
- the unit is appended unless the name already ends with it: ``s`` -> ``_seconds``, ``ms`` ->
  ``_milliseconds``, ``By`` -> ``_bytes``; annotations in braces (``{thread}``) add nothing;
  ``1`` adds ``_ratio`` to gauges only;
- monotonic sums (counters) end in ``_total``; non-monotonic sums are gauges;
- a histogram is stored as ``<name>_bucket`` (label ``le``), ``<name>_sum`` and ``<name>_count``.
"""

from __future__ import annotations

import re
from typing import Final, Literal

Kind = Literal["counter", "gauge", "histogram"]

_INVALID: Final = re.compile(r"[^a-zA-Z0-9_:]+")
_UNITS: Final = {"s": "seconds", "ms": "milliseconds", "By": "bytes", "KiBy": "kibibytes"}


def label_name(key: str) -> str:
    """The Prometheus label an OTLP attribute key becomes."""
    return re.sub(r"__+", "_", _INVALID.sub("_", key))


def metric_name(name: str, unit: str, kind: Kind) -> str:
    """The Prometheus name of an OTLP metric (histograms: the base of ``_bucket``/``_sum``)."""
    base = label_name(name)
    suffix = ""
    unit = re.sub(r"\{[^}]*\}", "", unit).strip()
    if unit == "1":
        suffix = "ratio" if kind == "gauge" else ""
    elif unit:
        if unit not in _UNITS:
            raise ValueError(f"unit {unit!r} has no translation here; add it from otlptranslator")
        suffix = _UNITS[unit]
    if suffix and not base.endswith(f"_{suffix}"):
        base = f"{base}_{suffix}"
    if kind == "counter" and not base.endswith("_total"):
        base = f"{base}_total"
    return base


def series_names(name: str, unit: str, kind: Kind) -> set[str]:
    """Every series name the metric is stored under."""
    base = metric_name(name, unit, kind)
    if kind == "histogram":
        return {f"{base}_bucket", f"{base}_sum", f"{base}_count"}
    return {base}
