"""The options and files of ``otel-kedro run``: duct's options and defaults, and the run's file
names under duct's ``--output-prefix`` with its placeholders, created as duct creates them.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Final, NamedTuple

from otel_kedro.exporters.duct_summary import SUMMARY_FORMAT

DEFAULT_PREFIX: Final = ".duct/logs/{datetime}-{pid}_"
"""duct 0.23's default ``--output-prefix`` (``DUCT_OUTPUT_PREFIX``)."""
SUFFIXES: Final = {
    "stdout": "stdout",
    "stderr": "stderr",
    "usage": "usage.jsonl",
    "info": "info.json",
    "traces": "traces.jsonl",
    "metrics": "metrics.jsonl",
}


class WrappedError(Exception):
    """A usage error of ``otel-kedro run`` (reported on one line, exit code 1)."""


# A named tuple rather than a frozen dataclass: as immutable, and a tenth of the cost to define
# (~0.5 ms of `otel-kedro run`'s 100 ms start-up budget, which imports this module).
class WrappedOptions(NamedTuple):
    """duct's options, with duct's defaults and meanings."""

    command: str
    args: tuple[str, ...] = ()
    output_prefix: str = DEFAULT_PREFIX
    sample_interval: float = 1.0
    report_interval: float = 60.0
    fail_time: float = 3.0
    clobber: bool = False
    capture_outputs: str = "all"  # all, none, stdout, stderr
    outputs: str = "all"
    record_types: str = "all"  # all, system-summary, processes-samples
    summary_format: str = SUMMARY_FORMAT
    colors: bool = False
    mode: str = "new-session"  # or current-session
    message: str = ""


def log_paths(prefix_template: str, pid: int, now: datetime.datetime) -> dict[str, str]:
    """Every file of the run: duct's placeholders filled, each suffix after the prefix."""
    stamp = now.strftime("%Y.%m.%dT%H.%M.%S")
    try:
        prefix = prefix_template.format(pid=pid, datetime=stamp, datetime_filesafe=stamp)
    except (KeyError, IndexError, ValueError) as error:
        raise WrappedError(
            f"--output-prefix {prefix_template!r} has an unknown placeholder ({error}); "
            "allowed: {datetime}, {datetime_filesafe}, {pid}."
        ) from None
    return {"prefix": prefix, **{name: f"{prefix}{suffix}" for name, suffix in SUFFIXES.items()}}


def prepare_paths(paths: dict[str, str], options: WrappedOptions) -> None:
    """Refuse to overwrite without ``--clobber``; create the folders and duct's empty files."""
    files = {name: path for name, path in paths.items() if name != "prefix"}
    conflicts = [path for path in files.values() if Path(path).exists()]
    if conflicts and not options.clobber:
        listed = "\n".join(f"- {path}" for path in conflicts)
        raise WrappedError(
            f"Conflicting files:\n{listed}\nUse --clobber to overwrite conflicting files."
        )
    prefix = paths["prefix"]
    folder = prefix if prefix.endswith(os.sep) else os.path.dirname(prefix)  # noqa: PTH120
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
    for name in ("usage", "info", "stdout", "stderr"):
        if name in {"stdout", "stderr"} and options.capture_outputs not in {"all", name}:
            continue
        Path(files[name]).write_bytes(b"")
    for name in ("traces", "metrics"):
        Path(files[name]).unlink(missing_ok=True)


def remove_files(paths: dict[str, str]) -> None:
    """Remove every file of the run (a quick failure, or a command that never started)."""
    for name, path in paths.items():
        if name != "prefix":
            Path(path).unlink(missing_ok=True)


def exit_status(returncode: int) -> int:
    """A child's return code as a shell reports it: killed by signal N is 128 + N."""
    return 128 - returncode if returncode < 0 else returncode
