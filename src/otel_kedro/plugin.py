"""Kedro entry points: the hook instances Kedro loads through ``kedro.hooks``/``kedro.cli_hooks``.

Kept thin and cheap: this module loads on every ``kedro`` command (``kedro --version`` too), so
it imports nothing beyond Kedro's hook markers, returns at once when ``OTEL_SDK_DISABLED`` is
set, and guards every hook body so a telemetry failure can never fail the user's run. It resolves
each run's settings and consent once (through the project's config loader) and hands them to
the composition root, :class:`otel_kedro.runs.root.RunRoot`, created on the first traced run.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kedro.framework.cli.hooks import cli_hook_impl
from kedro.framework.hooks import hook_impl

from otel_kedro.config.environment import sdk_disabled
from otel_kedro.diagnostics import guarded

if TYPE_CHECKING:
    from otel_kedro.config.resolved import Configuration
    from otel_kedro.runs.root import RunRoot
    from otel_kedro.sources.kedro.command import CommandRecorder


class _Process:
    """The command recorder and composition root of this process, each created on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._recorder: CommandRecorder | None = None
        self._root: RunRoot | None = None

    def recorder(self) -> CommandRecorder:
        """The recorder of ``kedro`` commands (cheap: no OpenTelemetry import)."""
        with self._lock:
            if self._recorder is None:
                from otel_kedro.sources.kedro.command import CommandRecorder

                self._recorder = CommandRecorder()
            return self._recorder

    def existing_recorder(self) -> CommandRecorder | None:
        """The recorder, if a hook created it."""
        return self._recorder

    def root(self) -> RunRoot | None:
        """The composition root (OpenTelemetry is imported here), or None when disabled."""
        if sdk_disabled(os.environ):
            return None
        if self._root is not None:  # every hook asks: no lock once it exists
            return self._root
        recorder = self.recorder()
        with self._lock:
            if self._root is None:
                from otel_kedro.runs.root import RunRoot

                self._root = RunRoot(recorder)
            return self._root

    def root_for_node(self) -> RunRoot | None:
        """The root for node and dataset hooks: once it exists, without reading the
        environment again for every call (``OTEL_SDK_DISABLED`` was read when the run started;
        a root with no run for the node ignores it).
        """
        root = self._root
        return root if root is not None else self.root()


_process = _Process()


def _source() -> RunRoot | None:
    return _process.root()


def _node_source() -> RunRoot | None:
    return _process.root_for_node()


def _package_name() -> str | None:
    from kedro.framework import project

    name = getattr(project, "PACKAGE_NAME", None)
    return str(name) if name else None


def _startup_context_created() -> None:
    """Mark the context's creation, time the pipeline registry's first load from here, and
    keep the running command's option vocabulary (click's context is still there).
    """
    from otel_kedro.sources.kedro.startup import CONTEXT, watch_registry

    command = _process.recorder().mark(CONTEXT)
    if command is None:
        return
    undo = watch_registry(command.startup)
    if undo is not None:
        command.cleanups.append(undo)
    if (source := _source()) is not None:
        source.command_context_created()


def _configure(project_path: Path | None, config_loader: Any = None) -> Configuration:
    from otel_kedro.config.resolved import resolve

    return resolve(project_path, config_loader, package_name=_package_name())


class ProjectHooks:
    """Run, node and dataset hooks: one trace per run, under every runner."""

    def __init__(self) -> None:
        # Resolved in after_context_created, used by the run that the same thread starts next.
        self._configured: dict[int, Configuration] = {}
        # Kedro's credentials, from after_catalog_created, for the run this thread starts next:
        # each of their values is redacted from the run's telemetry.
        self._credentials: dict[int, Any] = {}
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._configured.clear)
        os.register_at_fork(after_in_child=self._credentials.clear)

    @hook_impl
    @guarded
    def after_context_created(self, context: Any) -> None:
        """Resolve this project's settings (through its config loader) and consent, once."""
        if sdk_disabled(os.environ):
            return
        _startup_context_created()
        configuration = _configure(Path(context.project_path), context.config_loader)
        with self._lock:
            self._configured[threading.get_ident()] = configuration

    @hook_impl
    @guarded
    def after_catalog_created(self, conf_creds: Any) -> None:
        """Note the end of the catalog's creation (a start-up phase of the command), and keep
        the credentials Kedro read, so the run can redact their values.
        """
        if sdk_disabled(os.environ):
            return
        from otel_kedro.sources.kedro.startup import CATALOG_CREATED

        _process.recorder().mark(CATALOG_CREATED)
        with self._lock:
            self._credentials[threading.get_ident()] = conf_creds

    def configuration_left(self) -> Configuration | None:
        """The configuration resolved for this thread's session that no run took."""
        with self._lock:
            return self._configured.pop(threading.get_ident(), None)

    @hook_impl
    @guarded
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        """Start the run span with the configuration resolved for this thread's session."""
        if (source := _source()) is None:
            return
        with self._lock:
            configuration = self._configured.pop(threading.get_ident(), None)
            credentials = self._credentials.pop(threading.get_ident(), None)
        if configuration is None:  # a session without a context hook (e.g. another plugin's)
            project_path = run_params.get("project_path")
            configuration = _configure(Path(project_path) if project_path else None)
        source.run_started(run_params, pipeline, catalog, configuration, credentials)

    @hook_impl
    @guarded
    def after_pipeline_run(self, run_params: dict[str, Any]) -> None:
        """End the run span as a success."""
        if (source := _source()) is not None:
            source.run_finished(run_params, None)

    @hook_impl
    @guarded
    def on_pipeline_error(self, error: Exception, run_params: dict[str, Any]) -> None:
        """End the run span as a failure."""
        if (source := _source()) is not None:
            source.run_finished(run_params, error)

    @hook_impl
    @guarded
    def before_node_run(self, node: Any, catalog: Any, is_async: bool, run_id: str) -> None:
        """Start the node span."""
        if (source := _node_source()) is not None:
            source.node_started(node, catalog, is_async, run_id)

    @hook_impl
    @guarded
    def after_node_run(self, node: Any) -> None:
        """The node function returned."""
        if (source := _node_source()) is not None:
            source.node_finished(node)

    @hook_impl
    @guarded
    def on_node_error(self, error: Exception, node: Any) -> None:
        """The node function raised."""
        if (source := _node_source()) is not None:
            source.node_finished(node, error)

    @hook_impl
    @guarded
    def before_dataset_loaded(self, dataset_name: str, node: Any) -> None:
        """A load begins."""
        if (source := _node_source()) is not None:
            source.dataset_started(node, dataset_name, "load")

    @hook_impl
    @guarded
    def after_dataset_loaded(self, dataset_name: str, data: Any, node: Any) -> None:
        """A load ended."""
        if (source := _node_source()) is not None:
            source.dataset_loaded(node, dataset_name, data)

    @hook_impl
    @guarded
    def before_dataset_saved(self, dataset_name: str, node: Any) -> None:
        """A save begins."""
        if (source := _node_source()) is not None:
            source.dataset_started(node, dataset_name, "save")

    @hook_impl
    @guarded
    def after_dataset_saved(self, dataset_name: str, data: Any, node: Any) -> None:
        """A save ended."""
        if (source := _node_source()) is not None:
            source.dataset_saved(node, dataset_name, data)


class CliHooks:
    """Command hooks: the ``kedro …`` span that is the parent of the run."""

    @cli_hook_impl
    @guarded
    def before_command_run(self, command_args: list[str]) -> None:
        """Note the command's start and arguments (cheap: no OpenTelemetry import)."""
        if not sdk_disabled(os.environ):
            _process.recorder().command_started(command_args)

    @cli_hook_impl
    @guarded
    def after_command_run(self, project_metadata: Any, exit_code: int) -> None:
        """End the command span with the exit code and write the run's files; a ``kedro run``
        that failed before its run started still gets a run folder with its failure.
        """
        recorder = _process.existing_recorder()
        if recorder is None:  # no command was recorded (OTEL_SDK_DISABLED): import nothing
            return
        command = recorder.current()
        if command is not None and command.span is None and exit_code not in (0, None):
            _failed_before_run(project_metadata)
        recorder.command_finished(exit_code)


def _failed_before_run(project_metadata: Any) -> None:
    """Hand a failed command to the composition root, with the exception being handled (Kedro
    calls ``after_command_run`` from its ``except`` block).
    """
    import sys

    if (source := _source()) is None:
        return
    path = getattr(project_metadata, "project_path", None)
    project_path = Path(path) if path else Path.cwd()
    configuration = project_hooks.configuration_left() or _configure(project_path)
    error = sys.exc_info()[1]
    if isinstance(error, SystemExit):  # click's exit: the cause, if any, is the failure
        error = error.__context__ if isinstance(error.__context__, Exception) else None
    source.command_failed_before_run(configuration, project_path.resolve(), error)


project_hooks = ProjectHooks()
cli_hooks = CliHooks()
