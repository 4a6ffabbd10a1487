"""Kedro pipeline hooks -> the run span (``RUN <pipeline>``, CICD pipeline-run conventions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry.trace import SpanKind, Status, StatusCode

from otel_kedro import attributes as attr
from otel_kedro.sources.kedro.nodes import mark_failed
from otel_kedro.sources.kedro.run_attributes import pipeline_label, run_attributes

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span, Tracer


def start_run_span(
    tracer: Tracer,
    run_params: Mapping[str, Any],
    pipeline: Any,
    catalog: Any,
    parent: Context | None,
) -> Span:
    """Start the run span under ``parent`` (the command span, an inbound trace, or none)."""
    return tracer.start_span(
        f"{attr.RUN_SPAN_PREFIX} {pipeline_label(run_params)}",
        context=parent or otel_context.Context(),
        kind=SpanKind.SERVER,
        attributes=run_attributes(run_params, pipeline, catalog),
    )


def end_run_span(span: Span, result: str, error: BaseException | None) -> None:
    """End the run span with its ``cicd.pipeline.result``; a failure or cancellation is an
    ERROR status (with the exception recorded when there is one).
    """
    span.set_attribute(attr.CICD_PIPELINE_RESULT, result)
    if error is not None:
        mark_failed(span, error)
    elif result != attr.RESULT_SUCCESS:
        span.set_status(Status(StatusCode.ERROR, f"run ended by {result}"))
    span.end()
