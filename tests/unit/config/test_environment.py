"""Environment variables: documented constants, one strict boolean parser, the SDK switch."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otel_kedro.config import environment
from otel_kedro.config.environment import (
    BOOLEAN_SPELLINGS,
    OTEL_KEDRO_PREFIX,
    PRIVACY_VARIABLES,
    parse_bool,
    sdk_disabled,
    setting_variable,
)

TRUE = ("true", "1", "yes", "on")
FALSE = ("false", "0", "no", "off")
CONFIG = Path(environment.__file__).parent


def _random_case(draw: st.DrawFn, word: str) -> str:
    return "".join(c.upper() if draw(st.booleans()) else c for c in word)


@st.composite
def _spelled(draw: st.DrawFn) -> tuple[str, bool]:
    """A listed spelling in random case with surrounding whitespace, and what it means."""
    word = draw(st.sampled_from(TRUE + FALSE))
    pad = st.text(alphabet=" \t\n", max_size=3)
    return draw(pad) + _random_case(draw, word) + draw(pad), word in TRUE


class TestParseBool:
    """``parse_bool`` accepts exactly the listed spellings and real bools."""

    def test_the_listed_spellings_are_the_accepted_ones(self) -> None:
        """The public set of spellings is exactly true/false/1/0/yes/no/on/off."""
        assert set(TRUE + FALSE) == BOOLEAN_SPELLINGS

    @given(_spelled())
    def test_listed_spellings_in_any_case_parse(self, spelled: tuple[str, bool]) -> None:
        """Every listed spelling, in any case and with surrounding blanks, means what it says."""
        text, meaning = spelled
        assert parse_bool(text) is meaning

    @given(st.text())
    def test_any_other_text_is_rejected(self, text: str) -> None:
        """Text that is not a listed spelling raises ValueError naming what is allowed."""
        if text.strip().lower() in BOOLEAN_SPELLINGS:
            assert isinstance(parse_bool(text), bool)
            return
        with pytest.raises(ValueError, match=r"^true or false$"):
            parse_bool(text)

    @pytest.mark.parametrize("value", [True, False])
    def test_real_bools_pass_through(self, value: bool) -> None:
        """A YAML or TOML boolean is its own value."""
        assert parse_bool(value) is value

    @pytest.mark.parametrize("value", [1, 0, 12, 1.0, None, [], {"true": 1}, b"true"])
    def test_other_types_are_rejected(self, value: object) -> None:
        """Numbers, None, bytes and containers are not booleans, even 1 and 0 from YAML."""
        with pytest.raises(ValueError, match="true or false"):
            parse_bool(value)


class TestSdkDisabled:
    """``sdk_disabled`` reads ``OTEL_SDK_DISABLED`` through the same parser."""

    @pytest.mark.parametrize("value", ["true", "TRUE", " True ", "1", "yes", "on"])
    def test_true_spellings_disable(self, value: str) -> None:
        """A true value switches the SDK off."""
        assert sdk_disabled({"OTEL_SDK_DISABLED": value})

    @pytest.mark.parametrize("value", ["false", "0", "off", "", "maybe", "truthy", "disabled"])
    def test_false_empty_and_invalid_values_do_not_disable(self, value: str) -> None:
        """False, empty and invalid values all mean "not disabled", as the OTel spec says."""
        assert not sdk_disabled({"OTEL_SDK_DISABLED": value})

    def test_unset_does_not_disable(self) -> None:
        """Without the variable the SDK is on."""
        assert not sdk_disabled({})


class TestConstants:
    """Every variable name is a documented module constant, used instead of a string literal."""

    def test_every_constant_has_a_docstring(self) -> None:
        """Each upper-case constant of the module is followed by a string literal documenting it."""
        tree = ast.parse(inspect.getsource(environment))
        body = tree.body
        undocumented = []
        for index, node in enumerate(body):
            target = node.target if isinstance(node, ast.AnnAssign) else None
            if not isinstance(target, ast.Name) or not target.id.isupper():
                continue
            if target.id.startswith("_"):
                continue
            after = body[index + 1] if index + 1 < len(body) else None
            if not (
                isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
                and after.value.value.strip()
            ):
                undocumented.append(target.id)
        assert undocumented == []

    def test_variable_constants_are_their_own_names(self) -> None:
        """A constant named after a variable holds exactly that name."""
        names = [
            "OTEL_SDK_DISABLED",
            "OTEL_SERVICE_NAME",
            "OTEL_RESOURCE_ATTRIBUTES",
            "DO_NOT_TRACK",
            "KEDRO_DISABLE_TELEMETRY",
            "OTEL_KEDRO_ALLOW_ARGS",
            "OTEL_KEDRO_MAX_ATTRIBUTE_LENGTH",
            "OTEL_KEDRO_HASH_KEY_FILE",
            "OTEL_KEDRO_CONFIG_DIR",
        ]
        assert {name: getattr(environment, name) for name in names} == {n: n for n in names}
        assert environment.VETOES == ("DO_NOT_TRACK", "KEDRO_DISABLE_TELEMETRY")

    def test_privacy_variables_name_their_option(self) -> None:
        """Each privacy variable is the prefix plus its option's name in upper case."""
        assert all(name == setting_variable(key) for name, key in PRIVACY_VARIABLES.items())
        assert setting_variable("output_dir") == OTEL_KEDRO_PREFIX + "OUTPUT_DIR"

    def test_no_variable_name_is_spelled_out_elsewhere_in_config(self) -> None:
        """Other config modules refer to variables through the constants, not string literals."""
        names = {"OTEL_SDK_DISABLED", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES"}
        names |= {"DO_NOT_TRACK", "KEDRO_DISABLE_TELEMETRY", "OTEL_KEDRO_"}
        found = []
        for path in CONFIG.glob("*.py"):
            if path.name == "environment.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                text = node.value if isinstance(node, ast.Constant) else None
                if isinstance(text, str) and text.startswith(tuple(names)):
                    found.append((path.name, text))
        assert found == []
