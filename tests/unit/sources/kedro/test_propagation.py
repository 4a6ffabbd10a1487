"""sources.kedro.propagation: the SDK-free traceparent parser agrees with OpenTelemetry's."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from otel_kedro.sources.kedro.traceparent import format_traceparent, parse_traceparent

hex_digits = "0123456789abcdefABCDEF"
fields = st.tuples(
    st.sampled_from(["00", "01", "ff", "0", "zz"]),
    st.one_of(
        st.text(hex_digits, min_size=32, max_size=32), st.just("0" * 32), st.text(max_size=33)
    ),
    st.one_of(st.text(hex_digits, min_size=16, max_size=16), st.just("0" * 16)),
    st.sampled_from(["00", "01", "03", "1", "xx"]),
    st.sampled_from(["", "-extra"]),
)


def sdk_parse(value: str) -> tuple[str, str, str] | None:
    context = TraceContextTextMapPropagator().extract({"traceparent": value})
    span = trace.get_current_span(context).get_span_context()
    if not span.is_valid:
        return None
    return f"{span.trace_id:032x}", f"{span.span_id:016x}", f"{span.trace_flags:02x}"


@given(fields)
def test_agrees_with_the_sdk(parts: tuple[str, str, str, str, str]) -> None:
    """Valid headers give the SDK's ids and flags; whatever the SDK rejects is None."""
    version, trace_id, span_id, flags, extra = parts
    value = f"{version}-{trace_id}-{span_id}-{flags}{extra}"
    assert parse_traceparent(value) == sdk_parse(value)


def test_round_trip_and_absent() -> None:
    """What format_traceparent writes parses back; nothing or blank is None."""
    header = format_traceparent("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
    assert parse_traceparent(header) == (
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "00f067aa0ba902b7",
        "01",
    )
    assert parse_traceparent(None) is None
    assert parse_traceparent("  ") is None
