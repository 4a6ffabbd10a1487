"""exporters.duct_summary: con-duct's summary templates print the same with ours as with its own
formatter (con-duct is in the test extra).
"""

from __future__ import annotations

import math

from con_duct._duct_main import EXECUTION_SUMMARY_FORMAT
from con_duct._formatter import SummaryFormatter as DuctFormatter
from hypothesis import given, settings
from hypothesis import strategies as st

from otel_kedro.exporters.duct_summary import SUMMARY_FORMAT, format_summary, natural_size

numbers = st.one_of(
    st.none(),
    st.integers(min_value=0, max_value=10**15),
    st.floats(min_value=0, max_value=1e15, allow_nan=False),
)
summaries = st.fixed_dictionaries(
    {
        "exit_code": st.one_of(st.none(), st.integers(0, 255)),
        "command": st.text(max_size=20),
        "logs_prefix": st.text(max_size=20),
        "wall_clock_time": st.floats(0, 1e6, allow_nan=False),
        "peak_rss": numbers,
        "average_rss": numbers,
        "peak_vsz": numbers,
        "average_vsz": numbers,
        "peak_pmem": numbers,
        "average_pmem": numbers,
        "peak_pcpu": numbers,
        "average_pcpu": numbers,
        "num_samples": st.integers(0, 100),
        "num_reports": st.integers(0, 100),
        "start_time": st.floats(1e9, 2e9),
        "end_time": st.floats(1e9, 2e9),
        "working_directory": st.text(max_size=10),
    }
)
TEMPLATES = (
    EXECUTION_SUMMARY_FORMAT,
    "{exit_code!X} {peak_rss!N} {average_pcpu!P} {wall_clock_time!T} {start_time!D}",
    "{peak_rss:.1f!S} {command!r} {num_samples:>5}",
)


def test_default_template_is_ducts() -> None:
    """The default template is con-duct's, word for word."""
    assert SUMMARY_FORMAT == EXECUTION_SUMMARY_FORMAT


@settings(max_examples=150, deadline=None)
@given(values=summaries, colors=st.booleans(), template=st.sampled_from(TEMPLATES))
def test_same_text_as_con_ducts_formatter(
    values: dict[str, object], colors: bool, template: str
) -> None:
    """Any summary, with or without colours, fills every template as con-duct fills it."""
    expected = DuctFormatter(enable_colors=colors).format(template, **values)
    assert format_summary(template, values, colors=colors) == expected


@given(st.one_of(st.integers(-(10**20), 10**20), st.floats(-1e20, 1e20, allow_nan=False)))
def test_natural_size_is_ducts(size: float) -> None:
    """Sizes in decimal units, as con-duct's naturalsize."""
    assert natural_size(size) == DuctFormatter().naturalsize(size)
    assert not math.isnan(float(natural_size(size).split()[0]))
