"""Regular expressions compiled on first use instead of at import.

The scrubber declares a few dozen patterns, each behind a cheap substring gate, so most
processes use a handful of them; compiling all at import cost a few milliseconds of every
``otel-kedro run`` (whose start-up budget is 100 ms). A lazy pattern is the same pattern with
the same flags: only the moment of compilation moves. After the first use its methods are the
compiled pattern's own bound methods, stored on the instance, so matching costs what it did.
"""

from __future__ import annotations

import re
from typing import Any, Final, cast

_METHODS: Final = ("search", "match", "fullmatch", "sub", "subn", "split", "findall", "finditer")


class _LazyPattern:
    """Compiles ``pattern`` when any attribute is first asked for, then caches its methods."""

    def __init__(self, pattern: str, flags: int) -> None:
        self._source = pattern
        self._flags = flags
        self._compiled: re.Pattern[str] | None = None

    def __getattr__(self, name: str) -> Any:  # called only for attributes not yet set
        if name.startswith("__"):  # copy, pickle and friends probe dunders: not a use
            raise AttributeError(name)
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(self._source, self._flags)
            for method in _METHODS:
                setattr(self, method, getattr(compiled, method))
        return getattr(compiled, name)  # methods once, other attributes (groups...) each time

    def __repr__(self) -> str:
        return f"lazy_compile({self._source!r}, {self._flags!r})"


def lazy_compile(pattern: str, flags: int | re.RegexFlag = 0) -> re.Pattern[str]:
    """``re.compile(pattern, flags)``, deferred until the pattern is first used.

    Typed as the compiled pattern it stands for; it offers that pattern's attributes and
    methods but is not an ``re.Pattern`` instance (do not pass it to ``re.sub`` and friends).
    """
    return cast("re.Pattern[str]", _LazyPattern(pattern, int(flags)))
