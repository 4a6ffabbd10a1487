"""The composition root of ``otel-kedro run COMMAND``: any command, recorded as ``duct`` records it.

Wires the process-tree sampler (a source) to the con-duct writer, ``metrics.jsonl`` and one
command span, each through the files privacy chain, under duct's file names
(``{prefix}info.json``, ``usage.jsonl``, ``stdout``, ``stderr``, plus our ``traces.jsonl`` and
``metrics.jsonl``). The child gets ``TRACEPARENT`` naming the command span, so a ``kedro run``
with otel-kedro (or any OpenTelemetry program) nests its spans under it.

This module spawns, forwards signals, waits and reports; :mod:`.wrapped_files` holds duct's
options and the run's file names, :mod:`.wrapped_record` the masked command line, the metrics
and the span. Nothing here imports the OpenTelemetry SDK, click or psutil (``otel-kedro run
true`` has a 100 ms budget, and the SDK's import alone takes about that).

The child is never orphaned: SIGINT, SIGTERM, SIGHUP and SIGQUIT are forwarded to its process
group (a third SIGINT sends SIGKILL, as duct does) while we wait for it, and every file is
written after it exits, whatever ended it. Its exit status is ours; killed by signal N is
128 + N, as a shell reports it.
"""

from __future__ import annotations

import datetime
import logging
import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

from otel_kedro import __version__
from otel_kedro.diagnostics import warn_once
from otel_kedro.exporters.duct_summary import SUMMARY_FORMAT
from otel_kedro.runs.wrapped_files import (
    DEFAULT_PREFIX,
    WrappedError,
    WrappedOptions,
    exit_status,
    log_paths,
    prepare_paths,
    remove_files,
)
from otel_kedro.runs.wrapped_record import CommandRecord

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable
    from types import FrameType

    from otel_kedro.exporters.conduct import ConductWriter
    from otel_kedro.model.usage import TreeSample, UsageSummary
    from otel_kedro.sources.process.sampler import ProcessTreeSampler

__all__ = [
    "DEFAULT_PREFIX",
    "WrappedError",
    "WrappedOptions",
    "exit_status",
    "log_paths",
    "run_wrapped",
]

log = logging.getLogger("otel_kedro.run")

FORWARDED_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
COMMAND_NOT_FOUND: Final = 127
NOT_EXECUTABLE: Final = 126


def run_wrapped(options: WrappedOptions, on_spawn: Callable[[], object] | None = None) -> int:
    """Run the command, record it, print duct's summary; return its exit status.
    ``on_spawn`` is called once the command is running (``otel-kedro run`` resumes the garbage
    collector it paused for start-up).
    """
    if options.report_interval < options.sample_interval:
        raise WrappedError("--report-interval must be greater than or equal to --sample-interval.")
    paths = log_paths(options.output_prefix, os.getpid(), datetime.datetime.now())
    prepare_paths(paths, options)
    return _WrappedRun(options, paths, on_spawn).run()


class _WrappedRun:
    """One wrapped command, from spawn to the last file."""

    def __init__(
        self,
        options: WrappedOptions,
        paths: dict[str, str],
        on_spawn: Callable[[], object] | None = None,
    ) -> None:
        self.options = options
        self.paths = paths
        self.on_spawn = on_spawn
        self.record = CommandRecord([options.command, *options.args], paths)
        self.signals: dict[int, int] = {}
        self.held: list[int] = []  # signals received before the child existed
        self.child: subprocess.Popen[bytes] | None = None

    def run(self) -> int:
        import subprocess

        from otel_kedro.runs.child_output import child_outputs
        from otel_kedro.sources.kedro.traceparent import (
            TRACEPARENT,
            format_traceparent,
            parse_traceparent,
        )

        options = self.options
        inbound = parse_traceparent(os.environ.get(TRACEPARENT))
        trace_id = inbound[0] if inbound else os.urandom(16).hex()
        span_id = os.urandom(8).hex()
        sampled = inbound is None or int(inbound[2], 16) & 1 == 1
        environment = dict(os.environ)
        if self.record.enabled:  # disabled: no span is written, so none is named
            environment[TRACEPARENT] = format_traceparent(trace_id, span_id, sampled)
        outputs = child_outputs(
            (self.paths["stdout"], self.paths["stderr"]),
            options.capture_outputs,
            options.outputs,
        )
        conduct = self._conduct_writer()
        self.record.read_provenance()
        for signum in FORWARDED_SIGNALS:  # before the spawn: a signal then is held, not fatal
            signal.signal(signum, self._forward)
        start_ns = time.time_ns()
        try:
            self.child = child = subprocess.Popen(
                [options.command, *options.args],
                stdout=outputs[0].target,
                stderr=outputs[1].target,
                start_new_session=options.mode == "new-session",
                env=environment,
            )
        except OSError as error:
            for output in outputs:
                output.close()
            conduct.close()
            remove_files(self.paths)
            if isinstance(error, FileNotFoundError):
                log.error("%s: command not found", options.command)  # noqa: TRY400 - as a shell says it
                return COMMAND_NOT_FOUND
            log.error("%s: %s", options.command, error.strerror or error)  # noqa: TRY400
            return NOT_EXECUTABLE
        for held in self.held:
            self._forward(held, None)
        if self.on_spawn is not None:
            self.on_spawn()
        log.info("otel-kedro %s is executing %r...", __version__, self.record.shown_command)
        log.info("Log files will be written to %s", self.paths["prefix"])
        sampler = self._sampler(child.pid, conduct)
        sampler.start()
        rusage = _wait(child)
        end_ns = time.time_ns()
        summary = _with_rusage(sampler.stop(), rusage, start_ns, end_ns)
        for output in outputs:
            output.close()
        status = exit_status(child.returncode)
        self._finish(conduct, summary, status)
        if self.record.enabled:
            self.record.write_span(trace_id, span_id, inbound, start_ns, end_ns, child.pid, status)
        self._report(summary, status, (end_ns - start_ns) / 1e9)
        return status

    # Sampling ------------------------------------------------------------------------------

    def _conduct_writer(self) -> ConductWriter:
        from otel_kedro.exporters.conduct import ConductWriter

        options = self.options
        captured = (
            self.paths["stdout"] if options.capture_outputs in {"all", "stdout"} else "",
            self.paths["stderr"] if options.capture_outputs in {"all", "stderr"} else "",
        )
        return ConductWriter(
            Path(os.path.dirname(self.paths["prefix"]) or "."),  # noqa: PTH120
            command=self.record.shown_command,
            working_directory=str(Path.cwd()),
            text=self.record.text,
            report_interval=options.report_interval,
            prefix=self.paths["prefix"],
            output_paths=captured,
            plain_text=self.record.chain.text,
        )

    def _sampler(self, pid: int, conduct: ConductWriter) -> ProcessTreeSampler:
        from otel_kedro.sources.process.sampler import ProcessTreeSampler

        records = self.options.record_types in {"all", "processes-samples"}
        record = self.record

        def on_sample(sample: TreeSample) -> None:
            if records:
                conduct.add_sample(sample)
            record.add_sample(sample)

        # In its own session, the command's orphans (a subshell's or nohup's children) stay
        # in it: sample the session too, as duct does, besides the tree (setsid children).
        session = pid if self.options.mode == "new-session" else None
        return ProcessTreeSampler(
            root_pid=pid,
            interval=self.options.sample_interval,
            on_sample=on_sample,
            session=session,
        )

    # The end -------------------------------------------------------------------------------

    def _forward(self, signum: int, _frame: FrameType | None) -> None:
        """Pass a signal to the child's process group (its pid only in current-session mode,
        where the group is ours); the third SIGINT is a SIGKILL, as duct escalates.
        """
        child = self.child
        if child is None:
            self.held.append(signum)
            return
        count = self.signals[signum] = self.signals.get(signum, 0) + 1
        sent = signal.SIGKILL if signum == signal.SIGINT and count >= 3 else signum
        log.info("Received %s, passing to command", signal.Signals(signum).name)
        try:
            if self.options.mode == "new-session":
                os.killpg(child.pid, sent)
            else:
                os.kill(child.pid, sent)
        except (ProcessLookupError, PermissionError):
            pass  # the group has gone already

    def _finish(self, conduct: ConductWriter, summary: UsageSummary, status: int) -> None:
        """Write the con-duct files and the last metrics; never raises."""
        self.record.finish_metrics()
        try:
            conduct.finish(
                summary,
                status,
                self.options.message,
                info=self.options.record_types in {"all", "system-summary"},
            )
        except Exception as error:  # noqa: BLE001 - the command's status must still be ours
            warn_once(f"cannot write {self.paths['info']} ({error!r}).")
        finally:
            conduct.close()

    def _report(self, summary: UsageSummary, status: int, elapsed: float) -> None:
        """The last words, as duct's: remove the files of a quick failure, else log the summary."""
        fail_time = self.options.fail_time
        if status != 0 and (elapsed < fail_time or fail_time < 0):
            log.info(
                "Removing log files since command failed%s.",
                f" in less than {fail_time} seconds" if fail_time > 0 else "",
            )
            remove_files(self.paths)
            return
        from otel_kedro.exporters.conduct import execution_summary
        from otel_kedro.exporters.duct_summary import format_summary

        values = execution_summary(
            summary,
            status,
            self.record.shown_command,
            self.paths["prefix"],
            reports=None,
            working_directory=str(Path.cwd()),
            memory=summary.memory_total,
        )
        try:
            text = format_summary(self.options.summary_format, values, colors=self.options.colors)
        except (KeyError, IndexError, ValueError) as error:
            log.warning("--summary-format cannot be filled (%s); using the default", error)
            text = format_summary(SUMMARY_FORMAT, values, colors=self.options.colors)
        log.info(text)


def _wait(child: subprocess.Popen[bytes]) -> object | None:
    """Wait for the child to exit (signals forwarded meanwhile), let the sampler see it as a
    zombie once more, then reap it; returns its resource usage where the platform has it.
    """
    if not hasattr(os, "wait4"):  # Windows
        child.wait()
        return None
    if hasattr(os, "waitid"):
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
    _, status, rusage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return rusage


def _with_rusage(
    summary: UsageSummary, rusage: object | None, start_ns: int, end_ns: int
) -> UsageSummary:
    """The summary over the command's own wall time, with the CPU seconds the kernel counted
    for the child and every descendant it waited for, which no sample can miss. Its
    ``ru_maxrss`` is not used: it counts the interpreter's pages the child had between fork
    and exec.
    """
    start, end = start_ns / 1e9, end_ns / 1e9
    user = max(summary.cpu_user, float(getattr(rusage, "ru_utime", 0.0)))
    system = max(summary.cpu_system, float(getattr(rusage, "ru_stime", 0.0)))
    wall = end - start
    return summary._replace(
        start_time=start,
        end_time=end,
        cpu_user=user,
        cpu_system=system,
        average_pcpu=(user + system) / wall * 100 if wall > 0 else 0.0,
    )
