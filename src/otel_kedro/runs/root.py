"""The composition root: builds each run from its resolved configuration and the Kedro hooks.

The plugin resolves settings and consent once per run and hands them here. This is the only
module that puts sources (command, run, node and dataset spans; the process sampler),
processors (each destination's privacy chain) and exporters (run files, OTLP, Heap) together.

Runs are keyed by run id and owning process, so concurrent runs on one hook instance
(``KedroServiceSession``) keep their spans apart, and a ParallelRunner worker, forked or
spawned, recognises that the run is not its own and joins it through the handoff the parent
published in the environment.
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import os
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace

from otel_kedro import attributes as attr
from otel_kedro.config.privacy import spec_from_json, spec_to_json
from otel_kedro.diagnostics import warn_once
from otel_kedro.exporters.delivery import deliver_in_background
from otel_kedro.runs.chains import chain_of, destination_chain
from otel_kedro.runs.retention import apply_keep_runs
from otel_kedro.runs.sensitive import for_workers, known_values_of
from otel_kedro.runs.tracing import Destination, TracingPipeline
from otel_kedro.sources.kedro.nodes import NodeTracker, RunScope, mark_failed
from otel_kedro.sources.kedro.propagation import (
    HANDOFF_PREFIX,
    RunEnvironment,
    RunHandoff,
    context_from_traceparent,
    published_handoffs,
    read_handoff,
    traceparent_of,
)
from otel_kedro.sources.kedro.run_span import end_run_span, start_run_span
from otel_kedro.sources.kedro.startup import record_phases
from otel_kedro.sources.kedro.termination import TerminationGuard

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.trace import Span, Tracer

    from otel_kedro.config.resolved import Configuration
    from otel_kedro.config.settings import Settings
    from otel_kedro.processors.chain import Chain
    from otel_kedro.processors.cli_args import Vocabulary
    from otel_kedro.runs.logs import RunLogs
    from otel_kedro.runs.provenance import RunProvenance
    from otel_kedro.runs.usage import RunUsage
    from otel_kedro.sources.kedro.command import Command, CommandRecorder


@dataclasses.dataclass(eq=False)
class _Run:
    run_id: str
    pid: int
    span: Span
    scope: RunScope
    destination: Destination
    usage: RunUsage | None = None
    provenance: RunProvenance | None = None
    logs: bool = False


@dataclasses.dataclass(frozen=True)
class _Joined:
    """A run of another process that this worker process joined."""

    scope: RunScope
    destination: Destination
    logs: bool = False


class RunRoot:
    """Builds and ends runs for the project hooks; every method is called through a guard in
    the plugin.
    """

    def __init__(self, recorder: CommandRecorder) -> None:
        self._recorder = recorder
        self._tracing = TracingPipeline()
        self._lock = threading.Lock()
        self._runs: dict[str, _Run] = {}
        self._joined: dict[str, _Joined | None] = {}
        self._environment = RunEnvironment()
        self._nodes = NodeTracker()
        self._atexit_registered = False
        self._command_destination: Destination | None = None
        self._logs: RunLogs | None = None
        self._termination = TerminationGuard(self._terminated)
        os.register_at_fork(after_in_child=self._reset_after_fork)
        recorder.add_before_finish(self._end_interrupted_runs)

    def _reset_after_fork(self) -> None:
        self._lock = threading.Lock()
        self._runs = {}
        self._joined = {}
        self._command_destination = None
        self._nodes.reset_after_fork()

    def _run_logs(self) -> RunLogs:
        """The log capture of this process, created with its first run that records logs."""
        with self._lock:  # callers never hold it
            if self._logs is None:
                from otel_kedro.runs.logs import RunLogs

                self._logs = RunLogs(self._tracing, self._nodes)
            return self._logs

    # Run -----------------------------------------------------------------------------------

    def run_started(
        self,
        run_params: Mapping[str, Any],
        pipeline: Any,
        catalog: Any,
        configuration: Configuration,
        credentials: Mapping[str, Any] | None = None,
    ) -> None:
        """Open the run's folder and span; publish its context for workers and subprocesses.

        ``credentials`` is Kedro's credentials configuration: with the runtime params and the
        OTLP secrets, every value of it is redacted from everything this run records.
        """
        run_id = str(run_params.get("run_id") or "")
        for problem in configuration.problems:
            warn_once(problem)
        settings = configuration.settings
        if not settings.enabled:
            return
        project_path = Path(str(run_params.get("project_path") or ".")).resolve()
        command = self._recorder.current()
        vocabulary = _vocabulary(command)
        known = known_values_of(run_params, credentials)
        chain = destination_chain(
            settings.privacy,
            "files",
            vocabulary=vocabulary,
            project_path=project_path,
            known_values=known,
        )
        try:
            destination = self._tracing.open_destination(
                settings.output_dir, run_id, chain, announce=settings.announce
            )
        except OSError as error:
            warn_once(
                f"cannot create a run folder under {settings.output_dir} (setting output_dir): "
                f"{error.strerror or error}; this run is not traced. Set output_dir in otel.yml "
                "or OTEL_KEDRO_OUTPUT_DIR to a writable folder."
            )
            return
        if destination.journal is not None:
            destination.journal.run_started(" ".join(sys.argv), str(Path.cwd()))
        recovered = self._complete_dead_runs(settings.output_dir, destination)
        if settings.report:
            # First of the after-close callbacks: the page is on disk before delivery waits.
            destination.after_close.append(_write_report)
        if configuration.consent.granted:
            self._add_remote_delivery(
                destination, configuration, project_path, vocabulary, recovered, known
            )
        if settings.keep_runs is not None:
            destination.after_close.append(
                functools.partial(apply_keep_runs, settings.output_dir, settings.keep_runs)
            )
        tracer = self._tracing.tracer(settings.service_name)
        with self._lock:
            inbound = self._environment.inbound()
        parent = (
            self._command_context(command, tracer, destination, inbound, settings, vocabulary)
            or inbound
        )
        with self._tracing.route_to(destination):
            span = start_run_span(tracer, run_params, pipeline, catalog, parent)
        provenance = self._provenance(project_path, settings, span, catalog, command)
        run_context = trace.set_span_in_context(span, otel_context.Context())
        scope = RunScope(
            tracer=tracer,
            parent=run_context,
            dataset_spans=settings.dataset_spans,
            catalog=catalog,
            provenance=settings.provenance,
            content_hashes=settings.provenance_hashes,
        )
        usage = (
            self._start_usage(destination, settings, chain, self._tracing.resource())
            if settings.sampler
            else None
        )
        if settings.logs:
            self._run_logs().start(
                destination, run_context, chain, self._tracing.resource(), settings.logs_level
            )
        traceparent, tracestate = traceparent_of(run_context)
        handoff = RunHandoff(
            traceparent=traceparent,
            tracestate=tracestate,
            folder=str(destination.folder),
            service_name=settings.service_name,
            dataset_spans=settings.dataset_spans,
            provenance=settings.provenance,
            provenance_hashes=settings.provenance_hashes,
            chain=spec_to_json(settings.privacy.files, settings.privacy),
            project_path=str(project_path),
            known_values=for_workers(known),
            run_id=run_id,
            logs_level=settings.logs_level if settings.logs else None,
        )
        with self._lock:
            self._runs[run_id] = _Run(
                run_id=run_id,
                pid=os.getpid(),
                span=span,
                scope=scope,
                destination=destination,
                usage=usage,
                provenance=provenance,
                logs=settings.logs,
            )
            self._environment.run_started(run_id, run_context, handoff)
            if not self._atexit_registered:
                # Registered after the command's handler, so it runs first (atexit is LIFO).
                atexit.register(self._end_interrupted_runs)
                self._atexit_registered = True
        self._termination.install()

    @staticmethod
    def _provenance(
        project_path: Path, settings: Settings, span: Span, catalog: Any, command: Command | None
    ) -> RunProvenance | None:
        """Put the code's and parameters' provenance on the run span (and the code's on the
        command span); the dirty flag follows when the run ends.
        """
        if not settings.provenance:
            return None
        from otel_kedro.runs.provenance import RunProvenance

        provenance = RunProvenance(project_path)
        span.set_attributes(provenance.attributes(catalog, settings))
        if command is not None and command.span is not None and command.span.is_recording():
            command.span.set_attributes(provenance.code_attributes())
        return provenance

    def _command_context(  # noqa: PLR0913, PLR0917 - the parts of the command span
        self,
        command: Command | None,
        tracer: Tracer,
        destination: Destination,
        inbound: Context | None,
        settings: Settings,
        vocabulary: Vocabulary | None,
    ) -> Context | None:
        """The command span's context (created with the first run of the command, in that
        run's folder), or None outside a ``kedro`` command.
        """
        if command is None:
            return None
        from otel_kedro.processors.cli_args import command_path, mask_kedro_args

        masked = [
            "kedro",
            *mask_kedro_args(
                command.raw_args,
                vocabulary,
                settings.privacy.allow_args,
                settings.privacy.files.keep_run_options,  # the command span starts in the files
            ),
        ]
        name = f"{attr.COMMAND_SPAN_PREFIX} {command_path(masked[1:])}".strip()
        first = command.span is None
        if first:
            self._command_destination = destination
        with self._tracing.route_to(destination):
            context = self._recorder.span_context_for_run(
                tracer,
                inbound,
                masked,
                name,
                on_end=functools.partial(self._command_ended, destination),
            )
            if first and context is not None:
                record_phases(tracer, context, command.startup, time.time_ns())
        return context

    def command_context_created(self) -> None:
        """Inside the running click command: keep its option vocabulary for the command's
        masking, which may be needed after click's context is gone (a failure before the run).
        """
        command = self._recorder.current()
        if command is not None and command.vocabulary is None:
            command.vocabulary = _vocabulary(command) or {}

    def command_failed_before_run(
        self, configuration: Configuration, project_path: Path, error: BaseException | None
    ) -> None:
        """A ``kedro run`` failed before any run started (an unknown pipeline, a broken registry,
        catalog or setting): still write a run folder with the failed command span, its start-up
        phases, its exception and the con-duct files.
        """
        command = self._recorder.current()
        settings = configuration.settings
        if command is None or command.span is not None or command.raw_args[:1] != ["run"]:
            return
        for problem in configuration.problems:
            warn_once(problem)
        if not settings.enabled:
            return
        from kedro.io.core import generate_timestamp

        vocabulary = _vocabulary(command)
        chain = destination_chain(
            settings.privacy, "files", vocabulary=vocabulary, project_path=project_path
        )
        try:
            destination = self._tracing.open_destination(
                settings.output_dir, generate_timestamp(), chain, announce=settings.announce
            )
        except OSError as error_opening:
            warn_once(f"cannot create a run folder under {settings.output_dir}: {error_opening}")
            return
        tracer = self._tracing.tracer(settings.service_name)
        with self._lock:
            inbound = self._environment.inbound()
        context = self._command_context(command, tracer, destination, inbound, settings, vocabulary)
        if context is not None and error is not None:
            mark_failed(trace.get_current_span(context), error)
        if settings.sampler:  # con-duct's files, from one sample; no summary of a run never run
            quiet = dataclasses.replace(settings, summary=False)
            usage = self._start_usage(destination, quiet, chain, self._tracing.resource())
            if usage is not None:
                usage.finish(attr.RESULT_FAILURE)

    def _command_ended(self, destination: Destination, exit_code: int | None) -> None:
        """The command span has ended: note the exit code in info.json and close its folder."""
        if exit_code is not None:
            from otel_kedro.exporters.conduct import record_exit_code

            record_exit_code(destination.folder, exit_code)
        if self._command_destination is destination:
            self._command_destination = None
        self._tracing.close(destination)

    @staticmethod
    def _complete_dead_runs(output_dir: Path, destination: Destination) -> list[Path]:
        """Complete the runs of this output folder whose process was killed (they are
        delivered with this run's files, consent permitting).
        """
        from otel_kedro.runs.recovery import complete_dead_runs

        completed = complete_dead_runs(output_dir, skip=[destination.folder])
        for completion in completed:
            warn_once(
                f"completed the killed run {completion.folder.name}: {completion.spans} span(s) "
                "in flight ended as killed (otel_kedro.ProcessKilled)."
            )
        return [completion.folder for completion in completed]

    def _start_usage(
        self, destination: Destination, settings: Settings, chain: Chain, resource: Resource
    ) -> RunUsage | None:
        """Start sampling the process tree for this run's metrics, con-duct files and summary."""
        from otel_kedro.runs.usage import RunUsage

        try:
            journal = destination.journal
            usage = RunUsage(
                destination.folder, settings, chain, resource, self._nodes.usage,
                on_sample=journal.seen_alive if journal is not None else None,
            )  # fmt: skip
            usage.start()
            # The duration histograms are recorded as the run's spans end, not read back.
            destination.processor = usage.observing(destination.processor)
        except Exception as error:  # noqa: BLE001 - the run goes on without usage figures
            warn_once(f"cannot sample this run's resource usage ({error!r}).")
            return None
        return usage

    def _add_remote_delivery(  # noqa: PLR0913, PLR0917 - the run's parts delivery needs
        self,
        destination: Destination,
        configuration: Configuration,
        project_path: Path,
        vocabulary: Vocabulary | None,
        recovered: list[Path],
        known: frozenset[str],
    ) -> None:
        """Consent given: deliver the run's files over OTLP, and to Heap when opted in, once
        the run ends, with the killed runs this run completed; all destinations and runs share
        one bounded wait.
        """
        from otel_kedro.runs.remote import remote_jobs, with_folders

        settings = configuration.settings
        package = configuration.package_name
        jobs = with_folders(
            remote_jobs(settings, project_path, vocabulary, package, known_values=known),
            recovered,
        )
        if jobs:
            destination.after_close.append(
                functools.partial(deliver_in_background, jobs=jobs, wait_s=settings.delivery_wait)
            )

    def run_finished(self, run_params: Mapping[str, Any], error: BaseException | None) -> None:
        """End the run span with its result, and write or hand its files to the command."""
        run_id = str(run_params.get("run_id") or "")
        with self._lock:
            run = self._runs.pop(run_id, None)
            if run is None:
                return
            self._environment.run_finished(run_id)
            only_run = not self._runs
        if only_run:
            self._termination.uninstall()
        self._end_run(run, error, attr.RESULT_FAILURE if error else attr.RESULT_SUCCESS, only_run)

    def _end_run(self, run: _Run, error: BaseException | None, result: str, only_run: bool) -> None:
        cancelled = result == attr.RESULT_CANCELLATION
        self._nodes.finish_scope(run.scope, error, only_run=only_run, cancelled=cancelled)
        if run.provenance is not None:
            command = self._recorder.current()
            run.provenance.finish(run.span, command.span if command else None)
        end_run_span(run.span, result, error)
        if run.logs:
            self._run_logs().finish(run.destination)
        self._tracing.flush(run.destination)
        if run.usage is not None:
            run.usage.finish(result)
        if run.destination is not self._command_destination:
            self._tracing.close(run.destination)

    def _terminated(self, signum: int) -> None:
        """SIGTERM: end the command (exit code as Python reports a signal death) and its runs."""
        self._recorder.command_finished(-signum)
        self._end_interrupted_runs()

    def _end_interrupted_runs(self) -> None:
        """End runs still open when their command or the interpreter ends (Ctrl-C reaches no
        Kedro hook) as cancelled, so their spans are written with the rest.
        """
        with self._lock:
            runs = [r for r in self._runs.values() if r.pid == os.getpid()]
            self._runs.clear()
            for run in runs:
                self._environment.run_finished(run.run_id)
        for run in runs:
            self._end_run(run, None, attr.RESULT_CANCELLATION, only_run=True)

    # Nodes ---------------------------------------------------------------------------------

    def tracing(self) -> bool:
        """Whether any run could be traced in this process (cheap gate for dataset hooks)."""
        return bool(self._runs) or any(self._joined.values()) or self._may_join()

    def _may_join(self) -> bool:
        return any(name.startswith(HANDOFF_PREFIX) for name in os.environ)

    def _scope_for(self, run_id: str) -> RunScope | None:
        """The run as this process sees it: its own, or joined as a worker through the handoff."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is not None and run.pid == os.getpid():
                return run.scope
            if run_id in self._joined:
                joined = self._joined[run_id]
                return joined.scope if joined else None
        joined = self._join(run_id)
        with self._lock:
            joined = self._joined.setdefault(run_id, joined)
        return joined.scope if joined else None

    def _join(self, run_id: str) -> _Joined | None:
        handoff = read_handoff(run_id)
        if handoff is None:
            return None
        parent = context_from_traceparent(handoff.traceparent, handoff.tracestate)
        if parent is None:
            return None
        if not self._joined:
            # Pool workers leave through multiprocessing's exit path, not atexit: end what a
            # generator node left open there.
            from multiprocessing import util

            util.Finalize(None, self._end_joined_runs, exitpriority=100)
        run_span = trace.get_current_span(parent).get_span_context()
        spec, privacy = spec_from_json(handoff.chain)
        project_path = Path(handoff.project_path) if handoff.project_path else None
        chain = chain_of(
            spec, privacy, project_path=project_path, known_values=handoff.known_values
        )
        scope = RunScope(
            tracer=self._tracing.tracer(handoff.service_name),
            parent=parent,
            dataset_spans=handoff.dataset_spans,
            provenance=handoff.provenance,
            content_hashes=handoff.provenance_hashes,
        )
        destination = self._tracing.join_destination(Path(handoff.folder), run_span, chain)
        if handoff.logs_level:
            self._run_logs().start(
                destination,
                parent,
                chain,
                self._tracing.resource(),
                handoff.logs_level,
                worker=True,
            )
        return _Joined(scope, destination, logs=bool(handoff.logs_level))

    def _end_joined_runs(self) -> None:
        with self._lock:
            joined = [j for j in self._joined.values() if j is not None]
            self._joined = {}
        for run in joined:
            self._nodes.finish_scope(run.scope, None, only_run=True)
            if run.logs:
                self._run_logs().finish(run.destination)
            self._tracing.close(run.destination)

    def node_started(self, node: Any, catalog: Any, is_async: bool, run_id: str) -> None:
        """Open the node span under the run span."""
        scope = self._scope_for(run_id)
        if scope is None:
            self._nodes.discard(node.name)
            return
        scope.catalog = catalog
        if self._logs is not None:
            self._logs.ensure_attached()
        self._nodes.node_started(scope, node, is_async)
        if self._logs is not None:
            self._logs.node_started(node.name)

    def node_finished(self, node: Any, error: BaseException | None = None) -> None:
        """The node function returned or raised."""
        self._nodes.node_finished(node, error)

    def dataset_started(self, node: Any, dataset: str, operation: str) -> None:
        """A load or save begins (in a worker, the first one joins the run, so the records
        its loads log are the run's too).
        """
        if node is not None and self.tracing():
            if not self._joined and not self._runs and self._may_join():
                for handoff in published_handoffs():
                    self._scope_for(handoff.run_id)
            if self._logs is not None:
                self._logs.ensure_attached()
            self._nodes.dataset_started(node.name, dataset, operation, node)

    def dataset_loaded(self, node: Any, dataset: str, data: Any) -> None:
        """A load ended."""
        if node is not None:
            self._nodes.dataset_loaded(node.name, dataset, data)

    def dataset_saved(self, node: Any, dataset: str, data: Any) -> None:
        """A save ended."""
        if node is not None:
            self._nodes.dataset_saved(node.name, dataset, data)


def _write_report(folder: Path) -> None:
    """Write the run's ``report.html`` once its files are complete; never raises."""
    from otel_kedro.runs.views import automatic_report, write_run_report

    try:
        if automatic_report(folder):
            write_run_report(folder)
    except Exception as error:  # noqa: BLE001 - the report is a bonus; the run is on disk
        warn_once(f"cannot write report.html in {folder} ({error!r}); `otel-kedro report` retries.")


def _vocabulary(command: Command | None) -> Vocabulary | None:
    """The invoked command's option vocabulary, from the click command running right now
    (built for that command only, never for every plugin's); None outside a command.
    """
    if command is None:
        return None
    if command.vocabulary is not None:  # kept while click's context was there
        return command.vocabulary or None
    import click

    from otel_kedro.processors.cli_args import kedro_vocabulary

    context = click.get_current_context(silent=True)
    if context is None:
        return None
    try:
        return kedro_vocabulary(context.find_root().command, command.raw_args)
    except Exception:  # noqa: BLE001 - a broken plugin command: mask conservatively instead
        return None
