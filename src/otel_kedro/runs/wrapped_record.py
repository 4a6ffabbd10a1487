"""What ``otel-kedro run`` records of a command besides con-duct's files: the masked command line,
``metrics.jsonl`` from the sampler's samples and the command span in ``traces.jsonl``, each
through the files privacy chain, with the git state of the working directory on the span.

The span and the metrics are encoded as OTLP JSON by ``exporters.span_line`` and
``exporters.metrics_line`` (a test holds them to the SDK encoder's output), so nothing here
imports the OpenTelemetry SDK; the modules only needed at the end are imported there.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

from otel_kedro import __version__
from otel_kedro import attributes as attr
from otel_kedro.diagnostics import warn_once

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

    from otel_kedro.config.settings import Settings
    from otel_kedro.exporters.metrics_line import MetricsLineWriter
    from otel_kedro.model.usage import TreeSample
    from otel_kedro.processors.chain import Chain
    from otel_kedro.sources.process.metrics import ProcessMetrics
    from otel_kedro.sources.vcs import DirtyCheck, GitState

_METRICS_BATCH_SECONDS: Final = 10.0


class CommandRecord:
    """The settings, files chain, masked command line, metrics and span of one command."""

    def __init__(self, argv: list[str], paths: dict[str, str]) -> None:
        from otel_kedro.processors.cli_args import mask_command_args

        self.paths = paths
        self.settings = _settings()
        self.chain = _files_chain(self.settings)
        # Masked word by word (a joined line loses its quoting), then through the chain.
        self.masked_args = mask_command_args(argv, None, self.settings.privacy.allow_args)
        self.shown_command = self.text(" ".join(self.masked_args))
        self.pending: list[TreeSample] = []
        self.lock = threading.Lock()
        self.flushed_at = time.monotonic()
        self.metrics_writer: tuple[MetricsLineWriter, ProcessMetrics] | None = None
        self.metrics_failed = False
        self.git: GitState | None = None
        self.dirty: DirtyCheck | None = None

    @property
    def enabled(self) -> bool:
        """Whether the span and the metrics are written (``OTEL_KEDRO_ENABLED``)."""
        return self.settings.enabled

    def text(self, text: str) -> str:
        """A command line as the files chain masks and scrubs it."""
        return str(self.chain.attributes({"process.command_line": text})["process.command_line"])

    def read_provenance(self) -> None:
        """The git state of the working directory as the command starts: the ``.git`` files now,
        ``git status`` on a thread (started before the child, collected after it).
        """
        if not (self.settings.enabled and self.settings.provenance):
            return
        from otel_kedro.sources.vcs import DirtyCheck, read_git_state

        self.git = read_git_state(Path.cwd())
        if self.git is not None:
            self.dirty = DirtyCheck(self.git.work_tree)

    # Metrics -------------------------------------------------------------------------------

    def add_sample(self, sample: TreeSample) -> None:
        """Keep a sample; every ten seconds, write the kept ones to ``metrics.jsonl``."""
        with self.lock:
            self.pending.append(sample)
            due = time.monotonic() - self.flushed_at >= _METRICS_BATCH_SECONDS
            batch = self._take() if due else []
        if batch:
            self._write_metrics(batch)

    def finish_metrics(self) -> None:
        """Write the samples not yet written and close ``metrics.jsonl``."""
        with self.lock:
            batch = self._take()
        self._write_metrics(batch, last=True)
        if self.metrics_writer is not None:
            self.metrics_writer[0].close()

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
        from otel_kedro.processors.series import apply_to_series

        try:
            writer, metrics = self._metrics()
            writer.add_series(apply_to_series(metrics.series(batch), self.chain))
            if last:
                writer.add_series(apply_to_series(metrics.flush_series(), self.chain))
        except Exception as error:  # noqa: BLE001 - usage files are a bonus; never break a run
            self.metrics_failed = True
            warn_once(f"cannot write {self.paths['metrics']} ({error!r}).")

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

    # The span ------------------------------------------------------------------------------

    def write_span(  # noqa: PLR0913, PLR0917 - the facts of one span
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
