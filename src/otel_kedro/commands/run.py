"""``otel-kedro run [OPTIONS] COMMAND [ARGS…]``: any command, recorded; a drop-in for ``duct``.

The options are con-duct 0.23's, with the same names, short forms, defaults, ``DUCT_*``
environment variables and meanings, parsed by argparse as duct parses them (``allow_abbrev``
off; everything from COMMAND on belongs to the command). The parser is argparse rather than
click so that a script written for ``duct`` parses identically, and so that the console script
reaches it without importing click (``otel-kedro run true`` has a 100 ms budget).
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:  # argparse when run, click when listed: Kedro imports this on every command
    import argparse

    import click

CHOICES_OUTPUTS = ("all", "none", "stdout", "stderr")
CHOICES_RECORDS = ("all", "system-summary", "processes-samples")
CHOICES_MODES = ("new-session", "current-session")
LOG_LEVELS = ("NONE", "CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
LOG_FORMAT = "%(asctime)s [%(levelname)-8s] %(name)s: %(message)s"
LOG_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"

DESCRIPTION = """\
Run COMMAND under otel-kedro's process-tree sampler and record it as con-duct's duct does:
{prefix}info.json and {prefix}usage.jsonl (con-duct ls/pp/plot read them), the captured
{prefix}stdout and {prefix}stderr, plus one OpenTelemetry trace ({prefix}traces.jsonl: the
command span, masked; a `kedro run` inside nests under it through TRACEPARENT) and
{prefix}metrics.jsonl. Exit status is the command's (128+N when killed by signal N).
"""


def _float_env(name: str, default: str) -> float:
    return float(os.environ.get(name, default))


def build_parser() -> argparse.ArgumentParser:
    """The parser of duct's ``run``: the same options and ``DUCT_*`` defaults."""
    import argparse

    from otel_kedro import __version__
    from otel_kedro.exporters.duct_summary import SUMMARY_FORMAT
    from otel_kedro.runs.wrapped import DEFAULT_PREFIX

    parser = argparse.ArgumentParser(
        prog="otel-kedro run",
        description=DESCRIPTION,
        allow_abbrev=False,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("command", metavar="command [command_args ...]", help="The command to execute.")
    add("command_args", nargs=argparse.REMAINDER, help="Arguments for the command.")
    add("--version", action="version", version=f"%(prog)s {__version__}")
    add(
        "-l", "--log-level", type=str.upper, choices=LOG_LEVELS,
        default=os.environ.get("DUCT_LOG_LEVEL", "INFO").upper(),
        help="Level of log output to stderr, use NONE to entirely disable.",
    )  # fmt: skip
    add("-q", "--quiet", action="store_true", help="Same as --log-level NONE.")
    add(
        "-p", "--output-prefix", default=os.environ.get("DUCT_OUTPUT_PREFIX", DEFAULT_PREFIX),
        help="Prefix of every file ({datetime}, {datetime_filesafe} and {pid} are filled in; "
        "a trailing / makes it a folder). Env: DUCT_OUTPUT_PREFIX. Default: %(default)s",
    )  # fmt: skip
    add(
        "--summary-format", default=os.environ.get("DUCT_SUMMARY_FORMAT", SUMMARY_FORMAT),
        help="Template of the summary printed at the end, with con-duct's conversions "
        "(!S sizes, !E exit code, !X truthy, !N missing). Env: DUCT_SUMMARY_FORMAT.",
    )  # fmt: skip
    add(
        "--colors", action="store_true", default=bool(os.environ.get("DUCT_COLORS", "")),
        help="Use colours in the summary. Env: DUCT_COLORS.",
    )  # fmt: skip
    add("--clobber", action="store_true", help="Replace log files if they already exist.")
    add(
        "--sample-interval", "--s-i", type=float,
        default=_float_env("DUCT_SAMPLE_INTERVAL", "1.0"),
        help="Seconds between samples of the process tree. Env: DUCT_SAMPLE_INTERVAL.",
    )  # fmt: skip
    add(
        "--report-interval", "--r-i", type=float,
        default=_float_env("DUCT_REPORT_INTERVAL", "60.0"),
        help="Seconds between usage.jsonl records. Env: DUCT_REPORT_INTERVAL.",
    )  # fmt: skip
    add(
        "--fail-time", "--f-t", type=float, default=_float_env("DUCT_FAIL_TIME", "3.0"),
        help="A command failing faster than this (seconds) leaves no files; 0 keeps them "
        "always, a negative value never keeps a failure's. Env: DUCT_FAIL_TIME.",
    )  # fmt: skip
    add(
        "-c", "--capture-outputs", choices=CHOICES_OUTPUTS,
        default=os.environ.get("DUCT_CAPTURE_OUTPUTS", "all"),
        help="Record stdout, stderr, all or none to files. Env: DUCT_CAPTURE_OUTPUTS.",
    )  # fmt: skip
    add(
        "-o", "--outputs", choices=CHOICES_OUTPUTS, default="all",
        help="Print stdout, stderr, all or none to our stdout/stderr.",
    )  # fmt: skip
    add(
        "-t", "--record-types", choices=CHOICES_RECORDS, default="all",
        help="Record system-summary (info.json), processes-samples (usage.jsonl) or all.",
    )  # fmt: skip
    add(
        "-m", "--message", default=os.environ.get("DUCT_MESSAGE", ""),
        help="A message about this run, kept in info.json. Env: DUCT_MESSAGE.",
    )  # fmt: skip
    add(
        "--mode", choices=CHOICES_MODES, default="new-session",
        help="new-session starts the command in a session of its own (default); "
        "current-session keeps it in ours (e.g. a Slurm step).",
    )  # fmt: skip
    return parser


def setup_logging(level: str, quiet: bool) -> None:
    """Logging as duct's: its format on stderr at ``level``; NONE (or ``--quiet``): nothing."""
    if quiet or level == "NONE":
        logging.disable(logging.CRITICAL)
        return
    logging.basicConfig(format=LOG_FORMAT, datefmt=LOG_DATE_FORMAT, level=level)


def run_main(argv: Sequence[str]) -> NoReturn:
    """Parse duct's options, run the command, exit with its status.

    The cyclic garbage collector is paused until the command has started: start-up allocates
    tens of thousands of objects (imports, the parser), none of them garbage cycles, and the
    collections they trigger cost ~5 ms of the 100 ms budget. It runs as usual afterwards (and
    is left as the caller had it).
    """
    if not gc.isenabled():
        _run(argv, on_spawn=None)
    gc.disable()
    try:
        _run(argv, on_spawn=gc.enable)
    finally:
        gc.enable()


def _run(argv: Sequence[str], on_spawn: Callable[[], object] | None) -> NoReturn:
    from otel_kedro.runs.wrapped import WrappedError, WrappedOptions, run_wrapped

    try:
        parsed = build_parser().parse_args(list(argv))
    except ValueError as error:  # a DUCT_* number that is not one
        sys.stderr.write(f"otel-kedro run: {error} (in a DUCT_* environment variable)\n")
        raise SystemExit(2) from None
    setup_logging(parsed.log_level, parsed.quiet)
    options = WrappedOptions(
        command=parsed.command,
        args=tuple(parsed.command_args),
        output_prefix=parsed.output_prefix,
        sample_interval=parsed.sample_interval,
        report_interval=parsed.report_interval,
        fail_time=parsed.fail_time,
        clobber=parsed.clobber,
        capture_outputs=parsed.capture_outputs,
        outputs=parsed.outputs,
        record_types=parsed.record_types,
        summary_format=parsed.summary_format,
        colors=parsed.colors,
        mode=parsed.mode,
        message=parsed.message,
    )
    try:
        status = run_wrapped(options, on_spawn=on_spawn)
    except WrappedError as error:
        logging.getLogger("otel_kedro.run").error("%s", error)  # noqa: TRY400 - a usage error
        raise SystemExit(1) from None
    raise SystemExit(status)


def click_command() -> click.Command:
    """``run`` as a click command for ``otel-kedro --help`` and ``kedro otel run``; its arguments
    go to the argparse parser unchanged.
    """
    import click

    @click.command(
        name="run",
        context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
        add_help_option=False,
    )
    @click.option(
        "--help", "-h", is_flag=True, expose_value=False, is_eager=True,
        callback=_print_help, help="Show duct's options and exit.",
    )  # fmt: skip
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def run(args: tuple[str, ...]) -> None:
        """Run any command and record it (a drop-in for con-duct's duct; --help for options)."""
        run_main(args)

    return run


def _print_help(context: click.Context, _param: click.Parameter, value: bool) -> None:
    """``--help`` before COMMAND shows the argparse parser's help, whichever CLI was used."""
    if value:
        build_parser().print_help()
        context.exit(0)
