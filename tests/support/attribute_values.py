"""Hypothesis strategies for OpenTelemetry attribute values, shared by the tests that hold our
fast OTLP JSON encoders to the reference one."""

from __future__ import annotations

from hypothesis import strategies as st

TEXT = st.text(max_size=12)
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
# A scalar of every kind the specification allows, non-finite floats included.
SCALARS = st.one_of(TEXT, st.booleans(), INT64, st.floats(allow_nan=True, allow_infinity=True))
# Homogeneous arrays of strings, integers and finite floats.
ARRAYS = st.one_of(
    st.lists(TEXT, max_size=3),
    st.lists(INT64, max_size=3),
    st.lists(st.floats(allow_nan=False), max_size=3),
)
