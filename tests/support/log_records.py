"""Log records for tests, both ways: the OpenTelemetry SDK's own ``LoggingHandler`` (the
reference the capture's translation is held to) and the capture's translation."""

from __future__ import annotations

import logging
import warnings

from opentelemetry import trace
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.util.types import Attributes

from otel_kedro.attributes import EXCEPTION_TYPE
from otel_kedro.model.log_record import CapturedLog
from otel_kedro.sources.kedro.log_translation import LogTranslator
from otel_kedro.sources.kedro.nodes import error_type


class _SdkHandler(LoggingHandler):
    """The SDK's translation, with ``exception.type`` the fully qualified class name (what the
    capture promises on top of the SDK's handler)."""

    @staticmethod
    def _get_attributes(record: logging.LogRecord) -> Attributes:
        attributes = dict(LoggingHandler._get_attributes(record) or {})
        if record.exc_info and record.exc_info[1] is not None:
            attributes[EXCEPTION_TYPE] = error_type(record.exc_info[1])
        return attributes


def sdk_handler(provider: LoggerProvider, level: int = logging.NOTSET) -> LoggingHandler:
    """The SDK's ``LoggingHandler`` into ``provider`` (its deprecation notice silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return _SdkHandler(level=level, logger_provider=provider)


class Translating(logging.Handler):
    """Translates every record it handles as the capture does, inside the current span."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.translator = LogTranslator()
        self.records: list[CapturedLog] = []

    def emit(self, record: logging.LogRecord) -> None:
        span = trace.get_current_span().get_span_context()
        self.records.append(self.translator.translate(record, span))


def translated(logger_name: str, *messages: str) -> list[CapturedLog]:
    """Each message logged at INFO through ``logger_name`` inside a span, translated."""
    logger = logging.getLogger(logger_name)
    handler = Translating()
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        with TracerProvider().get_tracer("tests").start_as_current_span("node"):
            for message in messages:
                logger.info(message)
    finally:
        logger.removeHandler(handler)
    return handler.records
