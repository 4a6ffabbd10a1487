"""Known-value redaction: every value the run knows is sensitive is masked wherever it occurs.

The pattern scrubber (:mod:`otel_kedro.processors.secrets`) recognises credentials by their
shape; a ``--params`` value or a password from ``credentials.yml`` can have any shape (a 12-letter
lowercase word), so the run also masks the values themselves. The composition root gathers them
at run start (each leaf of the runtime params and of the credentials, OTLP header values and
endpoint userinfo) and every chain masks each occurrence as a substring, in attribute keys and
values, span and event names, status descriptions and resources, before any other processor.

Values shorter than :data:`MIN_LENGTH` characters, numbers shorter than :data:`MIN_NUMBER_LENGTH`
digits and a few common words are not redacted everywhere: masking ``true`` or ``10`` in every
string of a trace would destroy it while hiding nothing (such values are guessable anyway). Those
values are still kept out where they are recorded on purpose: ``--params`` values are never
attributes, command lines are masked, credentials are never read into spans.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Final
from urllib.parse import quote, unquote

from opentelemetry.util.types import AttributeValue

from otel_kedro.processors import MASK

MIN_LENGTH: Final = 6
"""Shortest value redacted wherever it occurs (a 6-character value is a substring of few words)."""
MIN_NUMBER_LENGTH: Final = 8
"""Shortest number redacted (``100000`` or ``0.0001`` occur in counts and timings everywhere)."""
# Words that are values of ordinary settings, not secrets; masking them would erase the trace.
COMMON_VALUES: Final = frozenset(
    {"true", "false", "none", "null", "local", "base", "default", "enabled", "disabled",
     "localhost", "127.0.0.1", "http", "https", "utf-8", "pandas", "parquet",
     "string", "object", "integer", "number", "boolean", "public", "private", "production",
     "staging", "develop", "development", "testing", "admin", "postgres", "postgresql"}
)  # fmt: skip
_NUMBER: Final = re.compile(r"[-+]?[0-9][0-9_]*(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?")
_USERINFO: Final = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:)?//([^/?#@\s]*)@")

Attributes = Mapping[str, AttributeValue]


def _leaves(tree: object) -> Iterator[str]:
    """Every scalar leaf of nested mappings and sequences, as text (booleans and None skipped)."""
    if isinstance(tree, Mapping):
        for value in tree.values():
            yield from _leaves(value)
    elif isinstance(tree, list | tuple | set | frozenset):
        for value in tree:
            yield from _leaves(value)
    elif isinstance(tree, str):
        yield tree
    elif isinstance(tree, int | float) and not isinstance(tree, bool):
        yield str(tree)


def worth_redacting(value: str) -> bool:
    """Whether ``value`` is long and specific enough to mask in every string of a trace."""
    stripped = value.strip()
    if len(stripped) < MIN_LENGTH or stripped.lower() in COMMON_VALUES:
        return False
    return not (_NUMBER.fullmatch(stripped) and len(stripped) < MIN_NUMBER_LENGTH)


def _forms(value: str) -> Iterator[str]:
    """The value and the ways it is spelled inside printed text: ``repr`` and JSON escapes,
    URL-encoded and URL-decoded, and the password inside a URL's userinfo.
    """
    yield value
    yield value.strip()
    yield repr(value)[1:-1]
    yield json.dumps(value)[1:-1]
    yield json.dumps(value, ensure_ascii=False)[1:-1]
    yield quote(value, safe="")
    yield unquote(value)
    match = _USERINFO.match(value)
    if match:
        user, _, password = match.group(1).partition(":")
        yield from (user, password, unquote(user), unquote(password))


def known_values(*trees: object) -> frozenset[str]:
    """The strings to redact from nested parameter or credential trees and plain values."""
    values: set[str] = set()
    for tree in trees:
        for leaf in _leaves(tree):
            if worth_redacting(leaf):
                values.update(form for form in _forms(leaf) if worth_redacting(form))
    return frozenset(values)


class Redactor:
    """Masks each known value wherever it occurs as a substring; a cheap no-op without values."""

    def __init__(self, values: Iterable[str]) -> None:
        # Longest first, so a value containing another is masked whole.
        self.values = tuple(sorted({v for v in values if v}, key=lambda v: (-len(v), v)))
        self._pattern = re.compile("|".join(map(re.escape, self.values))) if self.values else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def _occurs(self, text: str) -> bool:
        """Whether any known value occurs in ``text``: one C-level substring search per value,
        several times cheaper than the alternation regex on text that holds none (measured in
        ``benchmarks/redaction.py``), which is nearly all text.
        """
        return any(map(text.__contains__, self.values))

    def text(self, text: str) -> str:
        """``text`` with every known value replaced by the mask."""
        if self._pattern is None or not text or not self._occurs(text):
            return text
        return self._pattern.sub(MASK, text)

    def value(self, value: AttributeValue) -> AttributeValue:
        """A string, or each string of a sequence, redacted (other types are never secrets)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list | tuple):
            items = [self.text(v) if isinstance(v, str) else v for v in value]
            if all(a is b for a, b in zip(items, value, strict=True)):
                return value
            return items if isinstance(value, list) else tuple(items)
        return value

    def attributes(self, attributes: Attributes) -> Attributes:
        """The attribute set with known values masked in keys and values; the input itself when
        nothing matched (the common case: checking is cheaper than copying).
        """
        pattern = self._pattern
        if pattern is None or not attributes:
            return attributes
        # One search over every key and string joined, instead of one per string: a value
        # that occurs in any of them occurs in the joined text (a match across a separator is
        # only a false alarm, settled string by string below).
        parts = list(attributes)
        for value in attributes.values():
            if isinstance(value, str):
                parts.append(value)
            elif isinstance(value, list | tuple):
                parts.extend(item for item in value if isinstance(item, str))
        if not self._occurs("\x00".join(parts)):
            return attributes
        result: dict[str, AttributeValue] | None = None
        for index, (key, value) in enumerate(attributes.items()):
            new_value = self.value(value)
            new_key = pattern.sub(MASK, key) if pattern.search(key) else key
            if result is None:
                if new_value is value and new_key is key:
                    continue
                result = dict(list(attributes.items())[:index])
            result[new_key] = new_value
        return attributes if result is None else result
