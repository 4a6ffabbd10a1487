"""Lazily compiled patterns: compiled on first use, then exactly the compiled pattern's methods."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from otel_kedro.processors.lazy_pattern import lazy_compile

SOURCE = r"(?i:to)(k+)en|[0-9]{2,}"


def test_not_compiled_until_used() -> None:
    """An invalid pattern raises only when first used, as proof nothing compiled at creation."""
    broken = lazy_compile("(unclosed")
    try:
        broken.search("x")
    except re.error:
        pass
    else:
        raise AssertionError("the broken pattern compiled")


@given(st.text(alphabet="tokenTOKEN0123 x", max_size=40))
def test_same_results_as_re_compile(text: str) -> None:
    """Every method gives what the eagerly compiled pattern gives, flags included."""
    lazy, eager = lazy_compile(SOURCE, re.ASCII), re.compile(SOURCE, re.ASCII)
    assert lazy.sub("*", text) == eager.sub("*", text)
    assert lazy.findall(text) == eager.findall(text)
    assert lazy.split(text) == eager.split(text)
    assert [m.span() for m in lazy.finditer(text)] == [m.span() for m in eager.finditer(text)]
    for method in ("search", "match", "fullmatch"):
        ours, theirs = getattr(lazy, method)(text), getattr(eager, method)(text)
        assert (ours and ours.span()) == (theirs and theirs.span())
    assert (lazy.pattern, lazy.flags, lazy.groups) == (eager.pattern, eager.flags, eager.groups)
