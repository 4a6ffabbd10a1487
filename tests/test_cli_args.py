"""The first, conservative command-line masking: option names and Kedro's words only."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otel_kedro.processors.cli_args import (
    KEDRO_COMMAND_WORDS,
    MASK,
    command_path,
    mask_command_args,
)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "--pipelines=data_science"], ["run", "--pipelines", MASK]),
        (["run", "-p", "bar"], ["run", "-p", MASK]),
        (["run", "--params", "a=1,b=secret"], ["run", "--params", MASK]),
        (["run", "--runner", "ParallelRunner"], ["run", "--runner", MASK]),
        (["pipeline", "create", "mypipeline"], ["pipeline", "create", MASK]),
        (["catalog", "describe-datasets"], ["catalog", "describe-datasets"]),
        (["notacommand", "secret"], [MASK, MASK]),
        (["--version"], ["--version"]),
        (["-V"], ["-V"]),
        (["run", "--help"], ["run", "--help"]),
        (["run", "--async"], ["run", "--async"]),
    ],
)
def test_masking_table(args: list[str], expected: list[str]) -> None:
    assert mask_command_args(args) == expected


def test_command_path_is_the_leading_words() -> None:
    assert command_path(["pipeline", "create", MASK]) == "pipeline create"
    assert command_path(["run", "--params", MASK]) == "run"
    assert command_path([MASK, "run"]) == ""


_values = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FFF, exclude_characters="-="),
    min_size=6,
    max_size=40,
).filter(lambda value: value not in KEDRO_COMMAND_WORDS)  # Kedro's own words are not values


@settings(max_examples=300, deadline=None)
@given(
    secret=_values,
    prefix=st.lists(
        st.sampled_from(["run", "--runner", "-p", "--async", "--env", "x"]), max_size=4
    ),
    style=st.sampled_from(["separate", "equals", "positional"]),
)
def test_no_value_ever_survives(secret: str, prefix: list[str], style: str) -> None:
    if style == "separate":
        args = [*prefix, "--params", secret]
    elif style == "equals":
        args = [*prefix, f"--params={secret}"]
    else:
        args = [*prefix, secret]
    masked = mask_command_args(args)
    assert all(secret not in token for token in masked), masked
