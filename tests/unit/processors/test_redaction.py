"""Known-value redaction: each known value is masked wherever it occurs, nothing else changes."""

from __future__ import annotations

import json
import string
from urllib.parse import quote

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from otel_kedro.processors import MASK
from otel_kedro.processors.chain import build_chain
from otel_kedro.processors.redaction import (
    MIN_LENGTH,
    Redactor,
    known_values,
    worth_redacting,
)


class TestKnownValues:
    def test_every_leaf_of_nested_params_and_credentials(self) -> None:
        """Leaves of any depth, in mappings and lists, strings and numbers, are gathered."""
        params = {"quality": {"note": "pvhmswruuozy", "limits": [123456789, "abcdefgh"]}}
        creds = {"db": {"con": "postgresql://scott:tiger9x7@127.0.0.1/db"}}
        values = known_values(params, creds)
        assert {"pvhmswruuozy", "123456789", "abcdefgh"} <= values
        assert "postgresql://scott:tiger9x7@127.0.0.1/db" in values
        assert "tiger9x7" in values, "the password inside a URL is redacted on its own too"

    def test_short_common_and_small_numbers_are_not_redacted_everywhere(self) -> None:
        """``true``, ``local``, short words and numbers of few digits would erase a trace."""
        values = known_values({"a": True, "b": "true", "c": "local", "d": 100000, "e": "abc"})
        assert values == frozenset()
        assert not worth_redacting("x" * (MIN_LENGTH - 1))
        assert worth_redacting("x" * MIN_LENGTH)
        assert not worth_redacting("1234567")
        assert worth_redacting("12345678")
        assert not worth_redacting("Production")

    def test_printed_spellings_are_known_too(self) -> None:
        """A value is also found as repr, JSON and URL encoding print it."""
        value = "pa'ss\\wörd 12"
        values = known_values([value])
        assert repr(value)[1:-1] in values
        assert json.dumps(value)[1:-1] in values
        assert quote(value, safe="") in values


class TestRedactor:
    def test_masks_every_occurrence_in_text(self) -> None:
        redactor = Redactor(["pvhmswruuozy"])
        text = "params {'fail': True, 'note': 'pvhmswruuozy'} pvhmswruuozy!"
        assert redactor.text(text) == f"params {{'fail': True, 'note': '{MASK}'}} {MASK}!"

    def test_longest_value_is_masked_whole(self) -> None:
        redactor = Redactor(["secret", "secretvalue99"])
        assert redactor.text("x secretvalue99 y") == f"x {MASK} y"

    def test_attributes_keys_values_and_sequences(self) -> None:
        redactor = Redactor(["pvhmswruuozy"])
        attributes = {
            "exception.message": "bad pvhmswruuozy",
            "kedro.node.tags": ("a", "pvhmswruuozy"),
            "x.pvhmswruuozy": 1,
            "count": 3,
        }
        assert redactor.attributes(attributes) == {
            "exception.message": f"bad {MASK}",
            "kedro.node.tags": ("a", MASK),
            f"x.{MASK}": 1,
            "count": 3,
        }

    def test_unchanged_attributes_are_returned_as_they_are(self) -> None:
        """No copy when nothing matched (the common case)."""
        attributes = {"kedro.dataset.name": "companies", "n": 1}
        assert Redactor(["pvhmswruuozy"]).attributes(attributes) is attributes
        assert Redactor([]).attributes(attributes) is attributes
        assert not Redactor([])

    @settings(max_examples=300, deadline=None)
    @given(
        value=st.text(alphabet=string.ascii_letters + string.digits + "!#%&*+-/=?@^_~", min_size=6),
        before=st.text(max_size=40),
        after=st.text(max_size=40),
    )
    def test_no_known_value_survives(self, value: str, before: str, after: str) -> None:
        """Whatever surrounds it, a known value is gone from text and from attributes."""
        assume(worth_redacting(value))
        redactor = Redactor(known_values([value]))
        text = before + value + after
        assert value not in redactor.text(text).replace(MASK, "\x00")
        processed = redactor.attributes({"exception.message": text, "argv": [text, "x"]})
        assert all(value not in str(v).replace(MASK, "\x00") for v in processed.values())


class TestInChains:
    def test_every_chain_redacts_first_whatever_its_processors(self) -> None:
        """Even a chain with no privacy processors, or one that clips, never shows the value."""
        for processors in ([], ["scrub_secrets"], ["mask_args", "scrub_secrets", "drop_keys"]):
            chain = build_chain(processors, max_length=10, known_values=["pvhmswruuozy"])
            assert "pvhmswruuozy" not in str(chain.attributes({"m": "abc pvhmswruuozy"}))
            assert chain.text("RUN pvhmswruuozy") == f"RUN {MASK}"

    def test_without_known_values_a_chain_is_unchanged(self) -> None:
        assert build_chain([]).steps == ()
