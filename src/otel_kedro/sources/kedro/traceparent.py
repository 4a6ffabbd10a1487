"""The W3C ``traceparent`` text, parsed and formatted without OpenTelemetry or any other import:
``otel-kedro run`` reads its inbound context and names its span for the child on its start-up
path (:mod:`.propagation`, which carries a Kedro run's context, needs more).
"""

from __future__ import annotations

TRACEPARENT = "TRACEPARENT"
TRACESTATE = "TRACESTATE"


def parse_traceparent(value: str | None) -> tuple[str, str, str] | None:
    """A W3C ``traceparent`` as (trace id, parent span id, flags), lowercase hex, without
    importing OpenTelemetry (``otel-kedro run`` parses its inbound context on its start-up
    path); None when absent or invalid (all-zero ids, version ``ff``, wrong shape).
    """
    if not value:
        return None
    parts = value.strip().split("-")  # W3C: lowercase hex only, as the SDK reads it
    if len(parts) < 4:
        return None
    version, trace_id, span_id, flags = parts[:4]
    shapes = ((version, 2), (trace_id, 32), (span_id, 16), (flags, 2))
    if any(len(text) != size or not _is_hex(text) for text, size in shapes):
        return None
    if version == "ff" or (version == "00" and len(parts) != 4):
        return None
    if not int(trace_id, 16) or not int(span_id, 16):
        return None
    return trace_id, span_id, flags


def format_traceparent(trace_id: str, span_id: str, sampled: bool = True) -> str:
    """The W3C ``traceparent`` naming ``span_id`` as the parent of what reads it."""
    return f"00-{trace_id}-{span_id}-{'01' if sampled else '00'}"


def _is_hex(text: str) -> bool:
    return all(char in "0123456789abcdef" for char in text)
