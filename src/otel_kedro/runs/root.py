"""Kedro project hooks -> the run span, and the hand-over of node hooks to :mod:`.nodes`.

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
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from otel_kedro import attributes as attr
from otel_kedro.diagnostics import warn_once
from otel_kedro.config.consent import resolve_consent
from otel_kedro.exporters.delivery import deliver_in_background
from otel_kedro.runs.remote import remote_jobs
from otel_kedro.runs.tracing import Destination, get_pipeline
from otel_kedro.processors.chain import build_chain, spec_from_json, spec_to_json
from otel_kedro.config.settings import LoadedSettings, Settings, load_settings
from otel_kedro.sources.kedro.command import RECORDER
from otel_kedro.sources.kedro.nodes import NodeTracker, RunScope, mark_failed
from otel_kedro.sources.kedro.propagation import (
    RunEnvironment,
    RunHandoff,
    context_from_traceparent,
    read_handoff,
    traceparent_of,
)
from otel_kedro.sources.kedro.run_attributes import pipeline_label, run_attributes
from otel_kedro.sources.kedro.termination import TerminationGuard

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.trace import Span

    from otel_kedro.processors.chain import Chain
    from otel_kedro.processors.cli_args import Vocabulary
    from otel_kedro.runs.usage import RunUsage


@dataclasses.dataclass(eq=False)
class _Run:
    run_id: str
    pid: int
    span: Span
    scope: RunScope
    usage: RunUsage | None = None


def _package_name() -> str | None:
    from kedro.framework import project

    name = getattr(project, "PACKAGE_NAME", None)
    return str(name) if name else None


class ProjectSource:
    """Implements the project hooks; every method is called through a guard in the plugin."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, _Run] = {}
        self._settings_by_thread: dict[int, LoadedSettings] = {}
        self._joined: dict[str, RunScope | None] = {}
        self._environment = RunEnvironment()
        self._nodes = NodeTracker()
        self._atexit_registered = False
        self._termination = TerminationGuard(self._terminated)
        os.register_at_fork(after_in_child=self._reset_after_fork)
        RECORDER.add_before_finish(self._end_interrupted_runs)

    def _reset_after_fork(self) -> None:
        self._lock = threading.Lock()
        self._runs = {}
        self._settings_by_thread = {}
        self._joined = {}
        self._nodes.reset_after_fork()

    # Run -----------------------------------------------------------------------------------

    def context_created(self, context: Any) -> None:
        """Read settings through the project's config loader, for the run about to start."""
        project_path = Path(context.project_path)
        loaded = load_settings(project_path, context.config_loader, package_name=_package_name())
        with self._lock:
            self._settings_by_thread[threading.get_ident()] = loaded

    def run_started(self, run_params: Mapping[str, Any], pipeline: Any, catalog: Any) -> None:
        """Open the run's folder and span; publish its context for workers and subprocesses."""
        run_id = str(run_params.get("run_id") or "")
        with self._lock:
            loaded = self._settings_by_thread.pop(threading.get_ident(), None)
        if loaded is None:
            project_path = run_params.get("project_path")
            loaded = load_settings(
                Path(project_path) if project_path else None, package_name=_package_name()
            )
        for problem in loaded.problems:
            warn_once(problem)
        settings = loaded.settings
        if not settings.enabled:
            return
        pipeline_ = get_pipeline()
        project_path = Path(str(run_params.get("project_path") or ".")).resolve()
        vocabulary = RECORDER.vocabulary()
        chain = build_chain(
            settings.privacy.files,
            settings.privacy,
            vocabulary=vocabulary,
            project_path=project_path,
        )
        try:
            destination = pipeline_.open_destination(
                settings.output_dir, run_id, chain, announce=settings.announce
            )
        except OSError as error:
            warn_once(
                f"cannot create a run folder under {settings.output_dir} (setting output_dir): "
                f"{error.strerror or error}; this run is not traced. Set output_dir in otel.yml "
                "or OTEL_KEDRO_OUTPUT_DIR to a writable folder."
            )
            return
        self._add_remote_delivery(destination, settings, project_path, vocabulary)
        tracer = pipeline_.tracer(settings.service_name)
        with self._lock:
            inbound = self._environment.inbound()
        parent = (
            RECORDER.span_context_for_run(
                tracer, pipeline_, destination, inbound, settings.privacy.allow_args
            )
            or inbound
        )
        with pipeline_.route_to(destination):
            span = tracer.start_span(
                f"{attr.RUN_SPAN_PREFIX} {pipeline_label(run_params)}",
                context=parent or otel_context.Context(),
                kind=SpanKind.SERVER,
                attributes=run_attributes(run_params, pipeline, catalog),
            )
        run_context = trace.set_span_in_context(span, otel_context.Context())
        scope = RunScope(
            tracer=tracer,
            pipeline=pipeline_,
            destination=destination,
            parent=run_context,
            dataset_spans=settings.dataset_spans,
            catalog=catalog,
        )
        usage = (
            self._start_usage(destination, settings, chain, pipeline_.resource())
            if settings.sampler
            else None
        )
        traceparent, tracestate = traceparent_of(run_context)
        handoff = RunHandoff(
            traceparent=traceparent,
            tracestate=tracestate,
            folder=str(destination.folder),
            service_name=settings.service_name,
            dataset_spans=settings.dataset_spans,
            chain=spec_to_json(settings.privacy.files, settings.privacy),
            project_path=str(project_path),
        )
        with self._lock:
            self._runs[run_id] = _Run(
                run_id=run_id, pid=os.getpid(), span=span, scope=scope, usage=usage
            )
            self._environment.run_started(run_id, run_context, handoff)
            if not self._atexit_registered:
                # Registered after the command's handler, so it runs first (atexit is LIFO).
                atexit.register(self._end_interrupted_runs)
                self._atexit_registered = True
        self._termination.install()

    def _start_usage(
        self, destination: Destination, settings: Settings, chain: Chain, resource: Resource
    ) -> RunUsage | None:
        """Start sampling the process tree for this run's metrics, con-duct files and summary."""
        from otel_kedro.runs.usage import RunUsage

        try:
            usage = RunUsage(destination.folder, settings, chain, resource, self._nodes.usage)
            usage.start()
        except Exception as error:  # noqa: BLE001 - the run goes on without usage figures
            warn_once(f"cannot sample this run's resource usage ({error!r}).")
            return None
        return usage

    def _add_remote_delivery(
        self,
        destination: Destination,
        settings: Settings,
        project_path: Path,
        vocabulary: Vocabulary | None,
    ) -> None:
        """With consent (and only then), deliver the run's files over OTLP, and to Heap when
        opted in, once the run ends; all destinations share one bounded wait.
        """
        decision = resolve_consent(settings, project_path)
        for problem in decision.problems:
            warn_once(problem)
        if not decision.granted:
            return
        jobs = remote_jobs(settings, project_path, vocabulary, _package_name())
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
        run.span.set_attribute(attr.CICD_PIPELINE_RESULT, result)
        if error is not None:
            mark_failed(run.span, error)
        elif result != attr.RESULT_SUCCESS:
            run.span.set_status(Status(StatusCode.ERROR, f"run ended by {result}"))
        run.span.end()
        run.scope.pipeline.flush(run.scope.destination)
        if run.usage is not None:
            run.usage.finish(result)
        if not RECORDER.owns(run.scope.destination):
            run.scope.pipeline.close(run.scope.destination)

    def _terminated(self, signum: int) -> None:
        """SIGTERM: end the command (exit code as Python reports a signal death) and its runs."""
        RECORDER.command_finished(-signum)
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
        from otel_kedro.sources.kedro.propagation import HANDOFF_PREFIX

        return any(name.startswith(HANDOFF_PREFIX) for name in os.environ)

    def _scope_for(self, run_id: str) -> RunScope | None:
        """The run as this process sees it: its own, or joined as a worker through the handoff."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is not None and run.pid == os.getpid():
                return run.scope
            if run_id in self._joined:
                return self._joined[run_id]
        scope = self._join(run_id)
        with self._lock:
            return self._joined.setdefault(run_id, scope)

    def _join(self, run_id: str) -> RunScope | None:
        handoff = read_handoff(run_id)
        if handoff is None:
            return None
        parent = context_from_traceparent(handoff.traceparent, handoff.tracestate)
        if parent is None:
            return None
        pipeline_ = get_pipeline()
        if not self._joined:
            # Pool workers leave through multiprocessing's exit path, not atexit: end what a
            # generator node left open there.
            from multiprocessing import util

            util.Finalize(None, self._end_joined_runs, exitpriority=100)
        run_span = trace.get_current_span(parent).get_span_context()
        spec, privacy = spec_from_json(handoff.chain)
        project_path = Path(handoff.project_path) if handoff.project_path else None
        chain = build_chain(spec, privacy, project_path=project_path)
        return RunScope(
            tracer=pipeline_.tracer(handoff.service_name),
            pipeline=pipeline_,
            destination=pipeline_.join_destination(Path(handoff.folder), run_span, chain),
            parent=parent,
            dataset_spans=handoff.dataset_spans,
        )

    def _end_joined_runs(self) -> None:
        with self._lock:
            scopes = [scope for scope in self._joined.values() if scope is not None]
            self._joined = {}
        for scope in scopes:
            self._nodes.finish_scope(scope, None, only_run=True)
            scope.pipeline.close(scope.destination)

    def node_started(self, node: Any, catalog: Any, is_async: bool, run_id: str) -> None:
        """Open the node span under the run span."""
        scope = self._scope_for(run_id)
        if scope is None:
            self._nodes.discard(node.name)
            return
        scope.catalog = catalog
        self._nodes.node_started(scope, node, is_async)

    def node_finished(self, node: Any, error: BaseException | None = None) -> None:
        """The node function returned or raised."""
        self._nodes.node_finished(node, error)

    def dataset_started(self, node: Any, dataset: str, operation: str) -> None:
        """A load or save begins."""
        if node is not None and self.tracing():
            self._nodes.dataset_started(node.name, dataset, operation)

    def dataset_loaded(self, node: Any, dataset: str, data: Any) -> None:
        """A load ended."""
        if node is not None:
            self._nodes.dataset_loaded(node.name, dataset, data)

    def dataset_saved(self, node: Any, dataset: str, data: Any) -> None:
        """A save ended."""
        if node is not None:
            self._nodes.dataset_saved(node.name, dataset, data)


_source: ProjectSource | None = None
_source_lock = threading.Lock()


def get_source() -> ProjectSource:
    """The process-wide project source, created on first use."""
    global _source  # noqa: PLW0603 - one source per process, created lazily
    with _source_lock:
        if _source is None:
            _source = ProjectSource()
        return _source
