"""commands.run: the parser is duct's: same option strings, defaults, DUCT_* variables, choices."""

from __future__ import annotations

import argparse
import datetime
import os
import signal

import pytest
from con_duct import cli as duct_cli

from otel_kedro.commands.run import build_parser
from otel_kedro.runs.wrapped import exit_status, log_paths
from otel_kedro.sources.resource import build_resource, resource_attributes

ENVIRONMENT = {
    "DUCT_OUTPUT_PREFIX": "/tmp/x/{pid}_",
    "DUCT_SUMMARY_FORMAT": "{exit_code}",
    "DUCT_SAMPLE_INTERVAL": "0.5",
    "DUCT_REPORT_INTERVAL": "30",
    "DUCT_FAIL_TIME": "-1",
    "DUCT_CAPTURE_OUTPUTS": "stderr",
    "DUCT_MESSAGE": "hello",
    "DUCT_LOG_LEVEL": "debug",
    "DUCT_COLORS": "1",
}


def duct_parser() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        parents=[duct_cli._create_common_parser(), duct_cli._create_run_parser()],
        allow_abbrev=False,
    )


def options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {action.dest: action for action in parser._actions if action.dest != "help"}


def test_same_option_strings_and_choices() -> None:
    """Every duct option exists with the same names and short forms, and the same choices."""
    ours, theirs = options(build_parser()), options(duct_parser())
    assert ours.keys() == theirs.keys()
    for dest, action in theirs.items():
        assert set(ours[dest].option_strings) == set(action.option_strings), dest
        if action.choices is not None:
            assert [str(c) for c in ours[dest].choices] == [str(c) for c in action.choices]  # type: ignore[union-attr]


@pytest.mark.parametrize("environment", [{}, ENVIRONMENT])
def test_same_defaults_and_environment(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]
) -> None:
    """With and without DUCT_* variables, both parsers give the same values for a command."""
    for name in [k for k in os.environ if k.startswith("DUCT_")]:
        monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(  # con-duct reads its default prefix once, at import
        duct_cli,
        "DUCT_OUTPUT_PREFIX",
        environment.get("DUCT_OUTPUT_PREFIX", ".duct/logs/{datetime}-{pid}_"),
    )
    argv = ["sleep", "1", "--not-ours"]
    ours = vars(build_parser().parse_args(argv))
    theirs = {k: str(v) if k in {"capture_outputs", "outputs", "record_types", "mode"} else v
              for k, v in vars(duct_parser().parse_args(argv)).items()}  # fmt: skip
    theirs["colors"] = bool(theirs["colors"])
    assert ours == theirs


def test_everything_after_the_command_is_the_commands() -> None:
    """Options after COMMAND belong to it, as with duct (-p here is the command's)."""
    parsed = build_parser().parse_args(["-q", "kedro", "run", "-p", "x", "--clobber"])
    assert parsed.command == "kedro"
    assert parsed.command_args == ["run", "-p", "x", "--clobber"]
    assert not parsed.clobber


def test_abbreviations_are_refused() -> None:
    """--sample is not --sample-interval (allow_abbrev off, as duct)."""
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--sample", "2", "true"])


def test_log_paths_fill_ducts_placeholders() -> None:
    """{datetime} and {datetime_filesafe} are duct's local stamp; {pid} the wrapper's pid."""
    now = datetime.datetime(2026, 12, 4, 15, 1, 2)
    paths = log_paths("logs/{datetime}-{pid}/{datetime_filesafe}_", 77, now)
    assert paths["prefix"] == "logs/2026.12.04T15.01.02-77/2026.12.04T15.01.02_"
    assert paths["info"] == paths["prefix"] + "info.json"
    assert paths["traces"] == paths["prefix"] + "traces.jsonl"


def test_exit_status_as_a_shell() -> None:
    """Killed by signal N is 128 + N; anything else passes through."""
    assert exit_status(-signal.SIGTERM) == 143
    assert exit_status(0) == 0
    assert exit_status(3) == 3


def test_resource_without_the_sdk_equals_the_sdks(monkeypatch: pytest.MonkeyPatch) -> None:
    """resource_attributes has build_resource's facts, OTEL_RESOURCE_ATTRIBUTES included."""
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "team=data%20eng,service.name=ignored")
    sdk = dict(build_resource("svc").attributes)
    plain = resource_attributes("svc")
    assert plain["telemetry.sdk.name"] == "otel-kedro"
    assert {k: v for k, v in plain.items() if not k.startswith("telemetry.sdk.")} == {
        k: v for k, v in sdk.items() if not k.startswith("telemetry.sdk.")
    }
