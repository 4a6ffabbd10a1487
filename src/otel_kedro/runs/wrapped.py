"""The composition root of ``otel-kedro run COMMAND``: any command, recorded as ``duct`` records it.

Wires the process-tree sampler (a source) to the con-duct writer, ``metrics.jsonl`` and one
command span, each through the files privacy chain, under duct's file names
(``{prefix}info.json``, ``usage.jsonl``, ``stdout``, ``stderr``, plus our ``traces.jsonl`` and
``metrics.jsonl``). The child gets ``TRACEPARENT`` naming the command span, so a ``kedro run``
with otel-kedro (or any OpenTelemetry program) nests its spans under it.

Nothing here imports the OpenTelemetry SDK, click or psutil (``otel-kedro run true`` has a
100 ms budget, and the SDK's import alone takes about that): the span and the metrics are
encoded as OTLP JSON by ``exporters.span_line`` and ``exporters.metrics_line``, which a test
holds to the SDK encoder's output.

The child is never orphaned: SIGINT, SIGTERM, SIGHUP and SIGQUIT are forwarded to its process
group (a third SIGINT sends SIGKILL, as duct does) while we wait for it, and every file is
written after it exits, whatever ended it. Its exit status is ours; killed by signal N is
128 + N, as a shell reports it.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import os
import signal
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

from otel_kedro import __version__
from otel_kedro import attributes as attr
from otel_kedro.diagnostics import warn_once
from otel_kedro.exporters.duct_summary import SUMMARY_FORMAT

if TYPE_CHECKING:
    import subprocess
    from types import FrameType

    from opentelemetry.util.types import AttributeValue

    from otel_kedro.config.settings import Settings
    from otel_kedro.exporters.conduct import ConductWriter
    from otel_kedro.exporters.metrics_line import MetricsLineWriter
    from otel_kedro.model.metric_series import MetricSeries
    from otel_kedro.model.usage import TreeSample, UsageSummary
    from otel_kedro.processors.chain import Chain
    from otel_kedro.sources.process.metrics import ProcessMetrics
    from otel_kedro.sources.process.sampler import ProcessTreeSampler
    from otel_kedro.sources.vcs import DirtyCheck, GitState

log = logging.getLogger("otel_kedro.run")

DEFAULT_PREFIX: Final = ".duct/logs/{datetime}-{pid}_"
"""duct 0.23's default ``--output-prefix`` (``DUCT_OUTPUT_PREFIX``)."""
FORWARDED_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
SUFFIXES: Final = {
    "stdout": "stdout",
    "stderr": "stderr",
    "usage": "usage.jsonl",
    "info": "info.json",
    "traces": "traces.jsonl",
    "metrics": "metrics.jsonl",
}
COMMAND_NOT_FOUND: Final = 127
NOT_EXECUTABLE: Final = 126
_METRICS_BATCH_SECONDS: Final = 10.0


class WrappedError(Exception):
    """A usage error of ``otel-kedro run`` (reported on one line, exit code 1)."""


@dataclasses.dataclass(frozen=True)
class WrappedOptions:
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


def exit_status(returncode: int) -> int:
    """A child's return code as a shell reports it: killed by signal N is 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


def run_wrapped(options: WrappedOptions) -> int:
    """Run the command, record it, print duct's summary; return its exit status."""
    if options.report_interval < options.sample_interval:
        raise WrappedError("--report-interval must be greater than or equal to --sample-interval.")
    paths = log_paths(options.output_prefix, os.getpid(), datetime.datetime.now())
    prepare_paths(paths, options)
    return _WrappedRun(options, paths).run()


class _WrappedRun:
    """One wrapped command, from spawn to the last file."""

    def __init__(self, options: WrappedOptions, paths: dict[str, str]) -> None:
        self.options = options
        self.paths = paths
        self.settings = _settings()
        self.chain = _files_chain(self.settings)
        from otel_kedro.processors.cli_args import mask_command_args

        # Masked word by word (a joined line loses its quoting), then through the chain.
        self.masked_args = mask_command_args(
            [options.command, *options.args], None, self.settings.privacy.allow_args
        )
        self.shown_command = self._text(" ".join(self.masked_args))
        self.pending: list[TreeSample] = []
        self.lock = threading.Lock()
        self.flushed_at = time.monotonic()
        self.metrics_writer: tuple[MetricsLineWriter, ProcessMetrics] | None = None
        self.metrics_failed = False
        self.signals: dict[int, int] = {}
        self.held: list[int] = []  # signals received before the child existed
        self.child: subprocess.Popen[bytes] | None = None
        self.git: GitState | None = None
        self.dirty: DirtyCheck | None = None

    def _text(self, text: str) -> str:
        """A command line as the files chain masks and scrubs it."""
        return str(self.chain.attributes({"process.command_line": text})["process.command_line"])

    def run(self) -> int:
        import subprocess

        from otel_kedro.runs.child_output import child_outputs
        from otel_kedro.sources.kedro.propagation import (
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
        if self.settings.enabled:  # disabled: no span is written, so none is named
            environment[TRACEPARENT] = format_traceparent(trace_id, span_id, sampled)
        outputs = child_outputs(
            (self.paths["stdout"], self.paths["stderr"]),
            options.capture_outputs,
            options.outputs,
        )
        conduct = self._conduct_writer()
        if self.settings.enabled and self.settings.provenance:
            self._read_provenance()
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
            _remove(self.paths)
            if isinstance(error, FileNotFoundError):
                log.error("%s: command not found", options.command)  # noqa: TRY400 - as a shell says it
                return COMMAND_NOT_FOUND
            log.error("%s: %s", options.command, error.strerror or error)  # noqa: TRY400
            return NOT_EXECUTABLE
        for held in self.held:
            self._forward(held, None)
        log.info("otel-kedro %s is executing %r...", __version__, self.shown_command)
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
        if self.settings.enabled:
            self._write_span(trace_id, span_id, inbound, start_ns, end_ns, child.pid, status)
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
            command=self.shown_command,
            working_directory=str(Path.cwd()),
            text=self._text,
            report_interval=options.report_interval,
            prefix=self.paths["prefix"],
            output_paths=captured,
            plain_text=self.chain.text,
        )

    def _sampler(self, pid: int, conduct: ConductWriter) -> ProcessTreeSampler:
        from otel_kedro.sources.process.sampler import ProcessTreeSampler

        records = self.options.record_types in {"all", "processes-samples"}

        def on_sample(sample: TreeSample) -> None:
            if records:
                conduct.add_sample(sample)
            with self.lock:
                self.pending.append(sample)
                due = time.monotonic() - self.flushed_at >= _METRICS_BATCH_SECONDS
                batch = self._take() if due else []
            if batch:
                self._write_metrics(batch)

        # In its own session, the command's orphans (a subshell's or nohup's children) stay
        # in it: sample the session too, as duct does, besides the tree (setsid children).
        session = pid if self.options.mode == "new-session" else None
        return ProcessTreeSampler(
            root_pid=pid,
            interval=self.options.sample_interval,
            on_sample=on_sample,
            session=session,
        )

    def _take(self) -> list[TreeSample]:
        batch, self.pending = self.pending, []
        self.flushed_at = time.monotonic()
        return batch

    def _write_metrics(self, batch: list[TreeSample], *, last: bool = False) -> None:
        """Samples as OTLP metrics through the files chain into ``{prefix}metrics.jsonl``
        (``last``: with the points of the window still open).
        """
        if not self.settings.enabled or self.metrics_failed:
            return
        if not batch and (not last or self.metrics_writer is None):
            return
        try:
            writer, metrics = self._metrics()
            writer.add_series(self._processed(metrics.series(batch)))
            if last:
                writer.add_series(self._processed(metrics.flush_series()))
        except Exception as error:  # noqa: BLE001 - usage files are a bonus; never break a run
            self.metrics_failed = True
            warn_once(f"cannot write {self.paths['metrics']} ({error!r}).")

    def _processed(self, series: list[MetricSeries]) -> list[MetricSeries]:
        """Every point's attributes through the files chain, as ``apply_to_metrics`` does."""
        attributes = self.chain.attributes
        return [
            dataclasses.replace(
                one,
                points=tuple(
                    dataclasses.replace(point, attributes=attributes(point.attributes))  # type: ignore[arg-type]
                    for point in one.points
                ),
            )
            for one in series
        ]

    def _metrics(self) -> tuple[MetricsLineWriter, ProcessMetrics]:
        from otel_kedro.exporters.metrics_line import MetricsLineWriter
        from otel_kedro.sources.process.metrics import ProcessMetrics
        from otel_kedro.sources.resource import resource_attributes

        if self.metrics_writer is None:
            resource = self.chain.attributes(resource_attributes(self.settings.service_name))
            self.metrics_writer = (
                MetricsLineWriter(Path(self.paths["metrics"]), resource, __version__),  # type: ignore[arg-type]
                ProcessMetrics(),
            )
        return self.metrics_writer

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
        with self.lock:
            batch = self._take()
        self._write_metrics(batch, last=True)
        if self.metrics_writer is not None:
            self.metrics_writer[0].close()
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

    def _write_span(  # noqa: PLR0913, PLR0917 - the facts of one span
        self,
        trace_id: str,
        span_id: str,
        inbound: tuple[str, str, str] | None,
        start_ns: int,
        end_ns: int,
        pid: int,
        status: int,
    ) -> None:
        """The command span, through the files chain, into ``{prefix}traces.jsonl``."""
        from otel_kedro.exporters.span_line import (
            STATUS_ERROR,
            FinishedSpan,
            append_span,
            span_request,
        )
        from otel_kedro.processors.cli_args import command_path
        from otel_kedro.sources.resource import resource_attributes

        try:
            masked = self.masked_args
            attributes = self.chain.attributes(self._span_attributes(pid, status))
            span = FinishedSpan(
                trace_id=trace_id,
                span_id=span_id,
                parent_span_id=inbound[1] if inbound else "",
                name=self.chain.text(command_path(masked) or masked[0]),
                start_ns=start_ns,
                end_ns=end_ns,
                attributes=attributes,  # type: ignore[arg-type]
                status_code=STATUS_ERROR if status else 0,
                status_message=f"exit code {status}" if status else "",
                remote_parent=inbound is not None,
                trace_state=os.environ.get("TRACESTATE", "") if inbound else "",
            )
            resource = self.chain.attributes(resource_attributes(self.settings.service_name))
            request = span_request(
                span,
                resource,  # type: ignore[arg-type]
                scope_name=attr.INSTRUMENTATION_SCOPE,
                scope_version=__version__,
                schema_url=attr.SCHEMA_URL,
            )
            append_span(Path(self.paths["traces"]), request)
        except Exception as error:  # noqa: BLE001 - the command's status must still be ours
            warn_once(f"cannot write {self.paths['traces']} ({error!r}).")

    def _span_attributes(self, pid: int, status: int) -> dict[str, AttributeValue]:
        """The command span's attributes before the files chain. Facts about where the command
        ran (git revision, dataset provenance) belong here, computed after the command exits.
        """
        attributes: dict[str, AttributeValue] = {
            attr.PROCESS_COMMAND_ARGS: self.masked_args,
            attr.PROCESS_PID: pid,
            attr.PROCESS_EXIT_CODE: status,
        }
        if self.git is not None:
            attributes.update(self.git.attributes())
        dirty = self.dirty.result() if self.dirty is not None else None
        if dirty is not None:
            attributes[attr.KEDRO_VCS_DIRTY] = dirty
        return attributes

    def _read_provenance(self) -> None:
        """The git state of the working directory as the command starts: the ``.git`` files now,
        ``git status`` on a thread (started before the child, collected after it).
        """
        from otel_kedro.sources.vcs import DirtyCheck, read_git_state

        self.git = read_git_state(Path.cwd())
        if self.git is not None:
            self.dirty = DirtyCheck(self.git.work_tree)

    def _report(self, summary: UsageSummary, status: int, elapsed: float) -> None:
        """The last words, as duct's: remove the files of a quick failure, else log the summary."""
        fail_time = self.options.fail_time
        if status != 0 and (elapsed < fail_time or fail_time < 0):
            log.info(
                "Removing log files since command failed%s.",
                f" in less than {fail_time} seconds" if fail_time > 0 else "",
            )
            _remove(self.paths)
            return
        from otel_kedro.exporters.conduct import execution_summary
        from otel_kedro.exporters.duct_summary import format_summary

        values = execution_summary(
            summary,
            status,
            self.shown_command,
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
    return dataclasses.replace(
        summary,
        start_time=start,
        end_time=end,
        cpu_user=user,
        cpu_system=system,
        average_pcpu=(user + system) / wall * 100 if wall > 0 else 0.0,
    )


def _remove(paths: dict[str, str]) -> None:
    for name, path in paths.items():
        if name != "prefix":
            Path(path).unlink(missing_ok=True)


def _settings() -> Settings:
    """otel-kedro's settings for a command outside Kedro: ``[tool.otel_kedro]`` of the working
    directory's ``pyproject.toml`` and the ``OTEL_KEDRO_*`` variables (``otel.yml`` needs Kedro's
    config loader, a second of start-up; it is not read here).
    """
    from otel_kedro.config.settings import load_settings

    cwd = Path.cwd()
    project = cwd if (cwd / "pyproject.toml").is_file() else None
    loaded = load_settings(project)
    for problem in loaded.problems:
        warn_once(problem)
    return loaded.settings


def _files_chain(settings: Settings) -> Chain:
    from otel_kedro.runs.chains import destination_chain

    return destination_chain(settings.privacy, "files", project_path=Path.cwd())
