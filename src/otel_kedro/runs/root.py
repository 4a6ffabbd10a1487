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
from otel_kedro.config.privacy import spec_to_json
from otel_kedro.diagnostics import warn_once
from otel_kedro.runs.chains import destination_chain
from otel_kedro.runs.run_parts import (
    add_remote_delivery,
    complete_dead_runs_of,
    provenance_of,
    start_usage,
    vocabulary_of,
    write_report,
)
from otel_kedro.runs.sensitive import for_workers, known_values_of
from otel_kedro.runs.tracing import Destination, TracingPipeline
from otel_kedro.runs.workers import JoinedRuns, may_join
from otel_kedro.sources.kedro.nodes import NodeTracker, RunScope, mark_failed
from otel_kedro.sources.kedro.propagation import (
    RunEnvironment,
    RunHandoff,
    traceparent_of,
)
from otel_kedro.sources.kedro.run_span import end_run_span, start_run_span
from otel_kedro.sources.kedro.startup import record_phases
from otel_kedro.sources.kedro.termination import TerminationGuard

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span, Tracer

    from otel_kedro.config.resolved import Configuration
    from otel_kedro.config.settings import Settings
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


class RunRoot:
    """Builds and ends runs for the project hooks; every method is called through a guard in
    the plugin.
    """

    def __init__(self, recorder: CommandRecorder) -> None:
        self._recorder = recorder
        self._tracing = TracingPipeline()
        self._lock = threading.Lock()
        self._runs: dict[str, _Run] = {}
        self._environment = RunEnvironment()
        self._nodes = NodeTracker()
        self._workers = JoinedRuns(self._tracing, self._nodes, self._run_logs)
        self._atexit_registered = False
        self._command_destination: Destination | None = None
        self._logs: RunLogs | None = None
        self._termination = TerminationGuard(self._terminated)
        os.register_at_fork(after_in_child=self._reset_after_fork)
        recorder.add_before_finish(self._end_interrupted_runs)

    def _reset_after_fork(self) -> None:
        self._lock = threading.Lock()
        self._runs = {}
        self._workers.reset_after_fork()
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
        vocabulary = vocabulary_of(command)
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
        recovered = complete_dead_runs_of(settings.output_dir, destination)
        if settings.report:
            # First of the after-close callbacks: the page is on disk before delivery waits.
            destination.after_close.append(write_report)
        if configuration.consent.granted:
            add_remote_delivery(
                destination, configuration, project_path, vocabulary, recovered, known
            )
        if settings.keep_runs is not None:
            from otel_kedro.runs.retention import apply_keep_runs

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
        provenance = provenance_of(project_path, settings, span, catalog, command)
        run_context = trace.set_span_in_context(span, otel_context.Context())
        scope = RunScope(
            tracer=tracer,
            parent=run_context,
            dataset_spans=settings.dataset_spans,
            catalog=catalog,
            provenance=settings.provenance,
            content_hashes=settings.provenance_hashes,
            record_span=self._tracing.finished_spans(),
        )
        usage = (
            start_usage(destination, settings, chain, self._tracing.resource(), self._nodes.usage)
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
            command.vocabulary = vocabulary_of(command) or {}

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

        vocabulary = vocabulary_of(command)
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
            usage = start_usage(
                destination, quiet, chain, self._tracing.resource(), self._nodes.usage
            )
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
        return bool(self._runs) or self._workers.any() or may_join()

    def _scope_for(self, run_id: str) -> RunScope | None:
        """The run as this process sees it: its own, or joined as a worker through the handoff."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is not None and run.pid == os.getpid():
                return run.scope
        return self._workers.scope(run_id)

    def node_started(self, node: Any, catalog: Any, is_async: bool, run_id: str) -> None:
        """Open the node span under the run span."""
        scope = self._scope_for(run_id)
        if scope is None:
            self._nodes.discard(node.name)
            return
        scope.use_catalog(catalog)
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
            if not self._runs and not self._workers.any() and may_join():
                self._workers.join_published()
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
