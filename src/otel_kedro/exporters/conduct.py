"""con-duct compatible ``info.json`` and ``usage.jsonl`` (schema 0.2.3) from process-tree samples.

``con-duct ls``, ``pp`` and ``plot`` read a run folder written here as if ``duct`` had written it
with the prefix ``<folder>/``. The keys are exactly con-duct 0.23.0's; the numbers are ours:

- ``pcpu`` is the utilisation over the last sampling interval (ΔCPU seconds / elapsed, one busy
  core = 100), not ps's lifetime average, so ``con-duct plot`` (default ``--cpu ps-pcpu``) draws
  the real rate. Its ``--cpu ps-cpu-timepoint`` mode assumes lifetime averages and is
  meaningless on these files.
- ``totals.pcpu`` is the whole tree's utilisation, children that exited between samples
  included, rather than a sum over the processes a sample happened to see.
- a record's values are the maxima over its samples; ``rss`` (per process and in ``totals``)
  also rises to the high-water mark when that mark grew during the record's interval, so a
  spike between two samples is still drawn.
- ``execution_summary`` comes from the sampler's :class:`UsageSummary`.

Richer values con-duct has no key for go in an extra ``otel_kedro`` object in each usage record
(its readers ignore unknown record keys); ``info.json`` has no key con-duct does not know.
"""

from __future__ import annotations

import collections
import datetime
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from otel_kedro import __version__
from otel_kedro.exporters.append import AtomicAppendStream, write_json_atomically
from otel_kedro.exporters.conduct_system import memory_total, system_block
from otel_kedro.model.usage import ProcessUsage, TreeSample, UsageSummary

INFO_FILE: Final = "info.json"
USAGE_FILE: Final = "usage.jsonl"
SCHEMA_VERSION: Final = "0.2.3"
ENV_PREFIXES: Final = ("PBS_", "SLURM_", "OSG")  # the variables con-duct records
# Written as duct_version: no con-duct reader interprets it, and this is not duct's measurement.
WRITER_VERSION: Final = f"otel-kedro {__version__}"
# Adaptive reports (the default): every second for the first minute, then 1/60 of the elapsed
# time, so a 5 s run has ~6 records and a 1 h run ~300: the plot stays detailed at any length
# while the file stays small, and maxima keep every peak whatever the spacing.
MIN_REPORT_INTERVAL: Final = 1.0
REPORTS_PER_ELAPSED: Final = 60.0
_PRECISION: Final = 3
# psutil status names -> ps STAT letters (ps adds modifiers such as "s" or "+"; we cannot).
_STAT: Final = {
    "running": "R", "sleeping": "S", "disk-sleep": "D", "stopped": "T", "tracing-stop": "t",
    "zombie": "Z", "dead": "X", "wake-kill": "K", "waking": "W", "idle": "I", "parked": "P",
    "locked": "L", "waiting": "W", "suspended": "T",
}  # fmt: skip


def iso_time(timestamp: float) -> str:
    """ISO 8601 in UTC with ``+00:00`` and always microseconds (con-duct compares them as text)."""
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    return moment.isoformat(timespec="microseconds")


def etime(seconds: float) -> str:
    """Elapsed time as ps prints it: ``[[DD-]HH:]MM:SS``."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    clock = (
        f"{hours:02d}:{minutes:02d}:{secs:02d}" if days or hours else f"{minutes:02d}:{secs:02d}"
    )
    return f"{days}-{clock}" if days else clock


# Plain classes with slots, not dataclasses: defining a dataclass costs ~0.5 ms, and these are
# defined on every `otel-kedro run`'s start-up path (a 100 ms budget).
class _ProcessRecord:
    """One process's figures over a report interval (maxima, its latest command and state)."""

    __slots__ = (
        "cmd",
        "create_time",
        "etime",
        "pcpu",
        "peak_rss",
        "rss",
        "stat",
        "timestamp",
        "vsz",
    )

    def __init__(self, create_time: float) -> None:
        self.create_time = create_time
        self.pcpu = 0.0
        self.rss = 0
        self.vsz = 0
        self.timestamp = 0.0
        self.etime = ""
        self.cmd = ""
        self.stat: collections.Counter[str] = collections.Counter()
        self.peak_rss = 0  # the process's high-water mark, the highest its samples reported


class _Record:
    """The samples of one report interval, folded as con-duct folds them (maxima, means)."""

    __slots__ = (
        "last", "pcpu", "peak_rss", "processes", "pss", "rss", "samples", "sum_pcpu", "sum_rss",
        "sum_vsz", "timestamp", "vsz",
    )  # fmt: skip

    def __init__(self) -> None:
        self.processes: dict[int, _ProcessRecord] = {}
        self.samples = 0
        self.timestamp = 0.0
        self.rss = 0
        self.vsz = 0
        self.pcpu = 0.0
        self.pss: int | None = None
        self.peak_rss = 0
        self.sum_rss = 0.0
        self.sum_vsz = 0.0
        self.sum_pcpu = 0.0
        self.last: TreeSample | None = None


class ConductWriter:
    """Writes a run folder that con-duct's readers accept, from the sampler's values.

    ``text`` is the destination's text privacy function (``chain.text``), applied to the command,
    to every process's command line, to the message, the working directory and the recorded
    environment values. ``report_interval`` (seconds) fixes the spacing of usage records as
    ``duct --report-interval`` does; ``None`` chooses the adaptive spacing described above.

    ``prefix``, when given, replaces ``folder``: every path is the prefix followed by the file name,
    as with duct's ``--output-prefix`` (``logs/run1_`` gives ``logs/run1_info.json``, ``logs/``
    gives ``logs/info.json``); ``output_paths`` are the captured stdout and stderr files to name in
    ``info.json`` (empty: not captured). ``plain_text``, when given, is applied instead of
    ``text`` to what is not a command line (the message, the working directory, environment
    values), which a command-line masker would reduce to a mask.
    """

    def __init__(  # noqa: PLR0913 - keywords mirroring duct's options
        self,
        folder: Path,
        *,
        command: str,
        working_directory: str,
        text: Callable[[str], str],
        report_interval: float | None = None,
        prefix: str | None = None,
        output_paths: tuple[str, str] = ("", ""),
        plain_text: Callable[[str], str] | None = None,
        reports: int = 0,
    ) -> None:
        if report_interval is not None and not report_interval > 0:
            raise ValueError(f"report_interval must be positive, not {report_interval!r}")
        self._folder = folder
        self._prefix = prefix if prefix is not None else f"{folder}{os.sep}"
        self._output_paths = output_paths
        self._text = text
        self._plain = plain_text or text
        self._command = text(command)
        self._working_directory = self._plain(working_directory)
        self._interval = report_interval
        self._memory_total = memory_total()
        self._usage = AtomicAppendStream(self.usage_path)  # exists from the start, as duct's
        self._lock = threading.Lock()
        self._commands: dict[str, str] = {}
        self._record = _Record()
        self._start: float | None = None
        self._due = 0.0
        self._reports = reports  # records already in usage.jsonl (completing a killed run)
        self._tree_peak = 0  # the tree's high-water mark when the last record was written
        self._peaks: dict[int, tuple[float, int]] = {}  # pid -> (create_time, peak) likewise

    @property
    def info_path(self) -> Path:
        """Where :meth:`finish` writes ``info.json``."""
        return Path(f"{self._prefix}{INFO_FILE}")

    @property
    def usage_path(self) -> Path:
        """The usage records, one JSON object per line."""
        return Path(f"{self._prefix}{USAGE_FILE}")

    def _cmd(self, process: ProcessUsage) -> str:
        raw = process.cmd or f"[{process.name}]"  # ps shows a process without argv this way
        cached = self._commands.get(raw)
        if cached is None:
            cached = self._text(raw)
            if len(self._commands) < 4096:
                self._commands[raw] = cached
        return cached

    def add_sample(self, sample: TreeSample) -> bool:
        """Fold one sample into the current record; write the record when its interval is over
        (then True).
        """
        with self._lock:
            if self._start is None:
                self._start = self._due = sample.timestamp  # con-duct writes its first sample alone
            self._fold(sample)
            if sample.timestamp >= self._due:
                self._write_record()
                elapsed = sample.timestamp - self._start
                step = (
                    self._interval
                    if self._interval is not None
                    else max(MIN_REPORT_INTERVAL, elapsed / REPORTS_PER_ELAPSED)
                )
                self._due = sample.timestamp + step
                return True
            return False

    def _fold(self, sample: TreeSample) -> None:
        record = self._record
        record.samples += 1
        record.timestamp = sample.timestamp
        record.rss = max(record.rss, sample.rss)
        record.vsz = max(record.vsz, sample.vms)
        record.peak_rss = max(record.peak_rss, sample.peak_rss)
        record.pcpu = max(record.pcpu, sample.cpu_percent)
        if sample.pss is not None:
            record.pss = max(record.pss or 0, sample.pss)
        record.sum_rss += sample.rss
        record.sum_vsz += sample.vms
        record.sum_pcpu += sample.cpu_percent
        record.last = sample
        for process in sample.processes:
            stat = _STAT.get(process.status, "?")
            old = record.processes.get(process.pid)
            if old is None or old.create_time != process.create_time:  # new, or pid reused
                old = _ProcessRecord(process.create_time)
                record.processes[process.pid] = old
            old.pcpu = max(old.pcpu, process.cpu_percent)
            old.rss = max(old.rss, process.rss)
            old.vsz = max(old.vsz, process.vms)
            old.timestamp = sample.timestamp
            old.etime = etime(sample.timestamp - process.create_time)
            old.cmd = self._cmd(process)  # the latest: a forked child shows its exec'd command
            old.stat[stat] += 1
            old.peak_rss = max(old.peak_rss, process.peak_rss)

    def _pmem(self, rss: float) -> float:
        return round(rss / self._memory_total * 100.0, _PRECISION)

    def _write_record(self) -> None:
        record, self._record = self._record, _Record()
        last = record.last
        if last is None:
            return
        processes: dict[str, dict[str, Any]] = {}
        for pid, process in record.processes.items():
            create_time, peak = self._peaks.get(pid, (process.create_time, 0))
            if create_time != process.create_time:  # the pid was reused
                peak = 0
            rss = process.rss
            if process.peak_rss > peak:  # the high-water mark was reached in this interval
                rss = max(rss, process.peak_rss)
            self._peaks[pid] = (process.create_time, process.peak_rss)
            processes[str(pid)] = {
                "pcpu": round(process.pcpu, _PRECISION),
                "pmem": self._pmem(rss),
                "rss": rss,
                "vsz": process.vsz,
                "timestamp": iso_time(process.timestamp),
                "etime": process.etime,
                "stat": dict(process.stat),
                "cmd": process.cmd,
            }
        live = {process.pid for process in last.processes}
        self._peaks = {pid: value for pid, value in self._peaks.items() if pid in live}
        tree_peak = record.peak_rss
        total_rss = max(record.rss, tree_peak) if tree_peak > self._tree_peak else record.rss
        self._tree_peak = max(self._tree_peak, tree_peak)
        n = record.samples
        line = {
            "timestamp": iso_time(record.timestamp),
            "num_samples": n,
            "processes": processes,
            "totals": {
                "pmem": self._pmem(total_rss),
                "pcpu": round(record.pcpu, _PRECISION),
                "rss": total_rss,
                "vsz": record.vsz,
            },
            "averages": {
                "rss": record.sum_rss / n,
                "vsz": record.sum_vsz / n,
                "pmem": self._pmem(record.sum_rss / n),
                "pcpu": round(record.sum_pcpu / n, _PRECISION),
                "num_samples": n,
            },
            "otel_kedro": {
                "peak_rss": self._tree_peak,
                "pss": record.pss,
                "cpu_user": last.cpu_user,
                "cpu_system": last.cpu_system,
            },
        }
        self._usage.write(json.dumps(line) + "\n")
        self._usage.flush()
        self._reports += 1

    def finish(
        self, summary: UsageSummary, exit_code: int | None, message: str = "", *, info: bool = True
    ) -> None:
        """Write the last partial record and, unless ``info`` is false (duct's
        ``--record-types processes-samples``), ``info.json`` (atomically; may be called again).
        """
        with self._lock:
            self._write_record()
            self._usage.flush()
            document = self._info(summary, exit_code, message)
        if info:
            _write_info(self.info_path, document)

    def close(self) -> None:
        """Release the usage file (``finish`` first, or the last record is lost)."""
        with self._lock:
            self._usage.close()

    def _info(self, summary: UsageSummary, exit_code: int | None, message: str) -> dict[str, Any]:
        prefix = self._prefix
        memory_total = summary.memory_total or self._memory_total
        return {
            "command": self._command,
            "system": system_block(summary.cpu_total, memory_total),
            "env": {k: self._plain(v) for k, v in os.environ.items() if k.startswith(ENV_PREFIXES)},
            "gpu": None,
            "duct_version": WRITER_VERSION,
            "schema_version": SCHEMA_VERSION,
            "execution_summary": execution_summary(
                summary,
                exit_code,
                self._command,
                prefix,
                reports=self._reports,
                working_directory=self._working_directory,
                memory=memory_total,
            ),
            # Empty paths say the output was not captured (duct with --capture-outputs none
            # names files it never creates).
            "output_paths": {
                "stdout": self._output_paths[0],
                "stderr": self._output_paths[1],
                "usage": f"{prefix}{USAGE_FILE}",
                "info": f"{prefix}{INFO_FILE}",
                "prefix": prefix,
            },
            "working_directory": self._working_directory,
            "message": self._plain(message) if message else "",
        }


def execution_summary(  # noqa: PLR0913 - the facts of con-duct's execution_summary
    summary: UsageSummary,
    exit_code: int | None,
    command: str,
    prefix: str,
    *,
    reports: int | None,
    working_directory: str,
    memory: int,
) -> dict[str, Any]:
    """con-duct's ``execution_summary`` (in ``info.json``, and what its summary template is
    filled with); ``memory`` is the machine's total, for the ``pmem`` percentages.
    """
    memory = memory or 1
    return {
        "exit_code": exit_code,
        "command": command,
        "logs_prefix": prefix,
        "wall_clock_time": summary.wall_clock_time,
        "peak_rss": summary.peak_rss,
        "average_rss": summary.average_rss,
        "peak_vsz": summary.peak_vms,
        "average_vsz": summary.average_vms,
        "peak_pmem": summary.peak_rss / memory * 100.0,
        "average_pmem": summary.average_rss / memory * 100.0,
        "peak_pcpu": summary.peak_pcpu,
        "average_pcpu": summary.average_pcpu,
        "num_samples": summary.num_samples,
        "num_reports": reports,
        "start_time": summary.start_time,
        "end_time": summary.end_time,
        "working_directory": working_directory,
    }


def record_exit_code(folder: Path, exit_code: int) -> None:
    """Put the command's exit code into a finished run's ``info.json`` (written at the run's
    end, before the command's exit code existed); nothing when the run wrote no ``info.json``.
    """
    path = folder / INFO_FILE
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return
    info["execution_summary"]["exit_code"] = exit_code
    _write_info(path, info)


def _write_info(path: Path, info: dict[str, Any]) -> None:
    """Replace ``info.json`` whole (never half a file); a failure is one warning."""
    try:
        write_json_atomically(path, info)
    except OSError as error:
        from otel_kedro.diagnostics import warn_once

        warn_once(
            f"cannot write {path}: [Errno {error.errno}] {error.strerror or error}; "
            "the previous version, if any, is kept whole."
        )
