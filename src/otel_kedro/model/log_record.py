"""A Python ``logging`` record of a run, as an OpenTelemetry log record: the value the log
capture produces, the privacy chain rewrites and the ``logs.jsonl`` encoder writes.

A named tuple rather than the SDK's ``LogRecord`` and ``ReadableLogRecord``: building those
(with a ``BoundedAttributes``, a copy and a context per record, through a ``Logger`` and a
processor) cost about 40 µs on the logging thread for each of the five records Kedro logs per
node. The fields are the OTLP ``LogRecord`` fields ``logs.jsonl`` holds; the run's resource is
the same for every record of a run, so it is not repeated here.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class CapturedLog(NamedTuple):
    """One log record, translated as the SDK's ``LoggingHandler`` translates it."""

    timestamp: int  # when it was logged (``LogRecord.created``), epoch ns
    observed_timestamp: int  # when the capture saw it, epoch ns
    severity_number: int  # OTLP SeverityNumber value (INFO = 9)
    severity_text: str  # the level's name, "WARN" and "FATAL" as OpenTelemetry spells them
    body: Any  # the message: text, or the logged object when it was not text
    attributes: dict[str, Any]
    dropped_attributes: int
    trace_id: int  # 0 outside any span
    span_id: int
    trace_flags: int
    scope: str  # the logger's name: the instrumentation scope's name
