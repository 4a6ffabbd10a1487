"""A Python ``logging`` record -> a :class:`~otel_kedro.model.log_record.CapturedLog`, field for
field as the OpenTelemetry SDK's ``LoggingHandler`` translates it (a property test holds the
two equal on generated records), with ``exception.type`` the fully qualified class name as the
semantic conventions ask (and as ``error.type`` of our spans says it).

What the SDK's handler does, without its objects: attributes are the record's extra fields
plus ``code.file.path``, ``code.function.name`` and ``code.line.number`` and, with an
exception, ``exception.type``, ``.message`` and ``.stacktrace``; the body is the formatted
message (or the logged object itself when it was not text and had no arguments); severity
follows the SDK's table. The attribute limits of ``OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT`` and
``..._VALUE_LENGTH_LIMIT`` (and their ``OTEL_ATTRIBUTE_*`` fallbacks) apply through the SDK's
own ``BoundedAttributes`` whenever it could change something: a limit that applies, an empty
key, or a value other than text, bool, int or float (extra fields can be anything).
"""

from __future__ import annotations

import logging
import os
import time
import traceback
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from otel_kedro import attributes as attr
from otel_kedro.model.log_record import CapturedLog
from otel_kedro.sources.kedro.nodes import error_type

if TYPE_CHECKING:
    from opentelemetry.trace import SpanContext

# The fields every ``logging.LogRecord`` has (and two a formatter adds): not attributes.
_RESERVED: Final = frozenset(
    (
        "asctime", "args", "created", "exc_info", "exc_text", "filename", "funcName",
        "getMessage", "message", "levelname", "levelno", "lineno", "module", "msecs", "msg",
        "name", "pathname", "process", "processName", "relativeCreated", "stack_info",
        "thread", "threadName", "taskName",
    )
)  # fmt: skip
_SEVERITY_TEXT: Final = {"WARNING": "WARN", "CRITICAL": "FATAL"}
# The variables the SDK's LogRecordLimits reads; with none of them set its limits are its
# defaults below, so a run need not import the SDK's logs package (≈ 4 ms) to learn them.
_LIMIT_VARIABLES: Final = (
    "OTEL_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    "OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT",
)
_DEFAULT_MAX_ATTRIBUTES: Final = 128
# A body the OTLP AnyValue can carry as it is (anything else is sent as its str()).
_ANY_VALUE_TYPES: Final = (type(None), bool, bytes, int, float, str, Sequence, Mapping)
# Attribute values the SDK's cleaning keeps as they are when no length limit is set.
_PLAIN: Final = frozenset((str, bool, int, float))


def severity_number(levelno: int) -> int:
    """The OTLP SeverityNumber of a ``logging`` level: DEBUG 5, INFO 9, WARN 13, ERROR 17,
    FATAL 21, and the three steps above each for the levels just above it.
    """
    if levelno < logging.DEBUG:
        return 0  # UNSPECIFIED
    if levelno > logging.CRITICAL + 3:
        return 24  # FATAL4
    tens, step = divmod(levelno, 10)
    return 5 + (tens - 1) * 4 + min(step, 3)


# The standard levels and those between them, looked up instead of computed per record.
_SEVERITY_NUMBERS: Final = {level: severity_number(level) for level in range(1, 60)}


class LogTranslator:
    """Translates records under one set of attribute limits (read from the environment once,
    when a run starts, as the SDK reads them when its provider is built).
    """

    def __init__(self) -> None:
        self._max_attributes: int | None = _DEFAULT_MAX_ATTRIBUTES
        self._max_length: int | None = None
        if not any(name in os.environ for name in _LIMIT_VARIABLES):
            return
        from opentelemetry.sdk._logs import LogRecordLimits

        limits = LogRecordLimits()
        self._max_attributes = limits.max_log_record_attributes
        self._max_length = limits.max_log_record_attribute_length

    def translate(self, record: logging.LogRecord, span: SpanContext) -> CapturedLog:
        """``record`` as logged inside ``span`` (an invalid span context: outside any)."""
        fields = vars(record)
        extra = fields.keys() - _RESERVED  # a set difference in C; usually one key (markup)
        attributes: dict[str, Any]
        if len(extra) == 1:
            key = next(iter(extra))
            attributes = {key: fields[key]}
        elif extra:  # in the record's order, as the SDK's handler keeps them
            attributes = {k: v for k, v in fields.items() if k in extra}
        else:
            attributes = {}
        attributes[attr.CODE_FILE_PATH] = record.pathname
        attributes[attr.CODE_FUNCTION_NAME] = record.funcName
        attributes[attr.CODE_LINE_NUMBER] = record.lineno
        if record.exc_info:
            _add_exception(attributes, record.exc_info)
        dropped = 0
        if not self._unbounded(attributes):
            attributes, dropped = self._bounded(attributes)
        return CapturedLog(
            timestamp=int(record.created * 1e9),
            observed_timestamp=time.time_ns(),
            severity_number=_SEVERITY_NUMBERS.get(record.levelno)
            or severity_number(record.levelno),
            severity_text=_SEVERITY_TEXT.get(record.levelname, record.levelname),
            body=_body(record),
            attributes=attributes,
            dropped_attributes=dropped,
            trace_id=span.trace_id,
            span_id=span.span_id,
            trace_flags=int(span.trace_flags),
            scope=record.name,
        )

    def _unbounded(self, attributes: dict[str, Any]) -> bool:
        """Whether the SDK's limits and cleaning would keep ``attributes`` as they are: no
        length limit, not too many, and only non-empty keys with text, bool, int or float
        values (Kedro's own records carry ``markup: True`` for its console handler).
        """
        if self._max_length is not None:
            return False
        if self._max_attributes is not None and len(attributes) > self._max_attributes:
            return False
        return "" not in attributes and _PLAIN.issuperset(map(type, attributes.values()))

    def _bounded(self, attributes: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """The SDK's limits and value cleaning, applied by its own ``BoundedAttributes``."""
        from opentelemetry.attributes import BoundedAttributes

        bounded = BoundedAttributes(
            maxlen=self._max_attributes,
            attributes=attributes,
            immutable=False,
            max_value_len=self._max_length,
            extended_attributes=True,
        )
        return dict(bounded), bounded.dropped


def _add_exception(attributes: dict[str, Any], exc_info: Any) -> None:
    kind, value, trace = exc_info
    if value is not None:  # fully qualified, where the SDK writes the bare class name
        attributes[attr.EXCEPTION_TYPE] = error_type(value)
    elif kind is not None:
        attributes[attr.EXCEPTION_TYPE] = kind.__name__
    if value is not None and value.args:
        attributes[attr.EXCEPTION_MESSAGE] = str(value.args[0])
    if trace is not None:
        attributes[attr.EXCEPTION_STACKTRACE] = "".join(traceback.format_exception(*exc_info))


def _body(record: logging.LogRecord) -> Any:
    """The formatted message; the logged object itself when it is not text and has no
    arguments (the OTLP body is AnyValue), as its ``str()`` when AnyValue cannot carry it.
    """
    if not record.args and not isinstance(record.msg, str):
        return record.msg if isinstance(record.msg, _ANY_VALUE_TYPES) else str(record.msg)
    return record.getMessage()
