"""Kedro entry points: the hook instances Kedro loads through ``kedro.hooks``/``kedro.cli_hooks``.

Kept thin and cheap: this module loads on every ``kedro`` command (``kedro --version`` too), so
it imports nothing beyond Kedro's hook markers, returns at once when ``OTEL_SDK_DISABLED`` is
set, and guards every hook body so a telemetry failure can never fail the user's run.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from kedro.framework.cli.hooks import cli_hook_impl
from kedro.framework.hooks import hook_impl

from otel_kedro.diagnostics import guarded
from otel_kedro.config.environment import sdk_disabled

if TYPE_CHECKING:
    from otel_kedro.runs.root import ProjectSource


_project_source: ProjectSource | None = None


def _source() -> ProjectSource | None:
    """The project source, created (and OpenTelemetry imported) on the first traced hook."""
    global _project_source  # noqa: PLW0603 - created lazily, once per process
    if _project_source is None:
        if sdk_disabled(os.environ):
            return None
        from otel_kedro.runs.root import get_source

        _project_source = get_source()
    return _project_source


class ProjectHooks:
    """Run, node and dataset hooks: one trace per run, under every runner."""

    @hook_impl
    @guarded
    def after_context_created(self, context: Any) -> None:
        """Read this project's otel-kedro settings through its config loader."""
        if (source := _source()) is not None:
            source.context_created(context)

    @hook_impl
    @guarded
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        """Start the run span."""
        if (source := _source()) is not None:
            source.run_started(run_params, pipeline, catalog)

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
        if (source := _source()) is not None:
            source.node_started(node, catalog, is_async, run_id)

    @hook_impl
    @guarded
    def after_node_run(self, node: Any) -> None:
        """The node function returned."""
        if (source := _source()) is not None:
            source.node_finished(node)

    @hook_impl
    @guarded
    def on_node_error(self, error: Exception, node: Any) -> None:
        """The node function raised."""
        if (source := _source()) is not None:
            source.node_finished(node, error)

    @hook_impl
    @guarded
    def before_dataset_loaded(self, dataset_name: str, node: Any) -> None:
        """A load begins."""
        if (source := _source()) is not None:
            source.dataset_started(node, dataset_name, "load")

    @hook_impl
    @guarded
    def after_dataset_loaded(self, dataset_name: str, data: Any, node: Any) -> None:
        """A load ended."""
        if (source := _source()) is not None:
            source.dataset_loaded(node, dataset_name, data)

    @hook_impl
    @guarded
    def before_dataset_saved(self, dataset_name: str, node: Any) -> None:
        """A save begins."""
        if (source := _source()) is not None:
            source.dataset_started(node, dataset_name, "save")

    @hook_impl
    @guarded
    def after_dataset_saved(self, dataset_name: str, data: Any, node: Any) -> None:
        """A save ended."""
        if (source := _source()) is not None:
            source.dataset_saved(node, dataset_name, data)


class CliHooks:
    """Command hooks: the ``kedro …`` span that is the parent of the run."""

    @cli_hook_impl
    @guarded
    def before_command_run(self, command_args: list[str]) -> None:
        """Note the command's start and masked arguments (cheap: no OpenTelemetry import)."""
        if not sdk_disabled(os.environ):
            from otel_kedro.sources.kedro.command import RECORDER

            RECORDER.command_started(command_args)

    @cli_hook_impl
    @guarded
    def after_command_run(self, exit_code: int) -> None:
        """End the command span with the exit code and write the run's files."""
        from otel_kedro.sources.kedro.command import RECORDER

        RECORDER.command_finished(exit_code)


project_hooks = ProjectHooks()
cli_hooks = CliHooks()
