"""Wires one run's process-tree sampler (a source) through the files chain to its writers:
``metrics.jsonl``, con-duct's ``info.json``/``usage.jsonl``, the node usage meter, and the
end-of-run summary.

Samples are streamed to the con-duct writer as they come and written to ``metrics.jsonl`` at
each of its report intervals (every second for the first minute, then 1/60 of the time so far),
so a long run's files grow as it goes and a killed run keeps its samples up to its last report.
The Kedro duration histograms are recorded as the run's spans end (:meth:`RunUsage.observing`
puts a :class:`~otel_kedro.runs.span_durations.DurationTee` in front of the run's writer); at the
end, only the lines other processes (ParallelRunner workers) appended to ``traces.jsonl`` are
streamed in, and the histograms are written once.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final

from otel_kedro import __version__
from otel_kedro import attributes as attr
from otel_kedro.diagnostics import warn_once
from otel_kedro.processors.apply import apply_to_resource
from otel_kedro.processors.series import apply_to_series

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import SpanProcessor

    from otel_kedro.config.settings import Settings
    from otel_kedro.exporters.conduct import ConductWriter
    from otel_kedro.exporters.metrics_line import MetricsLineWriter
    from otel_kedro.model.metric_series import MetricSeries
    from otel_kedro.model.usage import NodeFigure, TreeSample, UsageSummary
    from otel_kedro.processors.chain import Chain
    from otel_kedro.runs.span_durations import DurationTee
    from otel_kedro.sources.kedro.node_usage import NodeUsageMeter
    from otel_kedro.sources.process.metrics import ProcessMetrics
    from otel_kedro.sources.process.sampler import ProcessTreeSampler

_EXIT_CODES: Final = {attr.RESULT_SUCCESS: 0, attr.RESULT_FAILURE: 1}
# Duration points per metrics.jsonl line at the end of a run (about 300 kB of JSON).
_POINTS_PER_LINE: Final = 1000


class RunUsage:
    """The sampler and writers of one run, started with it and finished at its end."""

    def __init__(  # noqa: PLR0913 - the run's parts, and a keyword-only callback
        self,
        folder: Path,
        settings: Settings,
        chain: Chain,
        resource: Resource,
        meter: NodeUsageMeter,
        *,
        on_sample: Callable[[TreeSample], None] | None = None,
    ) -> None:
        from otel_kedro.exporters.conduct import ConductWriter
        from otel_kedro.exporters.metrics_line import MetricsLineWriter
        from otel_kedro.model.run_folder import METRICS_FILE, TRACES_FILE
        from otel_kedro.runs.span_durations import traces_offset
        from otel_kedro.sources.kedro.durations import KedroDurations
        from otel_kedro.sources.process.metrics import ProcessMetrics
        from otel_kedro.sources.process.sampler import DEFAULT_INTERVAL, ProcessTreeSampler

        self._folder = folder
        self._settings = settings
        self._chain = chain
        self._meter = meter
        self._start = time.time()
        self._lock = threading.Lock()
        self._pending: list[TreeSample] = []
        self._also_on_sample = on_sample  # e.g. the run journal's "last seen alive"
        self._finished = False
        self._process_metrics: ProcessMetrics = ProcessMetrics(start_time=self._start)
        self._durations = KedroDurations(start_time=self._start)
        self._traces = folder / TRACES_FILE
        self._traces_offset = traces_offset(self._traces)  # workers' lines come after this
        self._tee: DurationTee | None = None
        processed = apply_to_resource(resource, chain)
        self._metrics: MetricsLineWriter = MetricsLineWriter(
            folder / METRICS_FILE, processed.attributes, __version__,  # type: ignore[arg-type]
            resource_schema_url=processed.schema_url,
        )  # fmt: skip
        self._conduct: ConductWriter = ConductWriter(
            folder,
            command=" ".join(sys.argv),
            working_directory=str(Path.cwd()),
            text=self._command_text,
        )
        self._sampler: ProcessTreeSampler = ProcessTreeSampler(
            interval=settings.sample_interval or DEFAULT_INTERVAL,
            pss=settings.pss,
            on_sample=self.add_sample,
        )

    def _command_text(self, text: str) -> str:
        """A command line as the files chain masks and scrubs it (``python -c *****``)."""
        masked = self._chain.attributes({"process.command_line": text})
        return str(masked.get("process.command_line", ""))

    @property
    def started(self) -> float:
        """When the run's usage began (Unix s): every cumulative series starts there."""
        return self._start

    def start(self) -> None:
        """Start sampling (a first sample is taken at once)."""
        self._sampler.start()

    def observing(self, writer: SpanProcessor) -> SpanProcessor:
        """``writer`` (the run's span processor), with every span it ends timed for the
        duration histograms.
        """
        from otel_kedro.runs.span_durations import DurationTee

        self._tee = DurationTee(writer, self._durations)
        return self._tee

    def add_sample(self, sample: TreeSample) -> None:
        """Runs on the sampler's thread: stream to con-duct, write metrics at each con-duct
        report, feed the meter, note the processes alive.
        """
        own = next((p for p in sample.processes if p.pid == os.getpid()), None)
        if own is not None:
            self._meter.observe_rss(own.rss)
        if self._also_on_sample is not None:
            self._also_on_sample(sample)
        reported = self._conduct.add_sample(sample)
        with self._lock:
            self._pending.append(sample)
            batch = self._take() if reported else []
        self._write_samples(batch)

    def _write_samples(self, samples: list[TreeSample]) -> None:
        """Samples as process metrics, through the files chain, into ``metrics.jsonl``."""
        if samples:
            self._write(self._process_metrics.series(samples))

    def _write(self, series: list[MetricSeries]) -> None:
        self._metrics.add_series(apply_to_series(series, self._chain))

    def _take(self) -> list[TreeSample]:
        batch, self._pending = self._pending, []
        return batch

    def finish(self, result: str) -> UsageSummary | None:
        """Stop sampling and write every file; print the summary once. Never raises."""
        with self._lock:
            if self._finished:
                return None
            self._finished = True
        try:
            summary = self._sampler.stop()
            with self._lock:
                batch = self._take()
            self._write_samples(batch)
            self._write(self._process_metrics.flush_series())
            nodes = self._write_durations(result)
            self._conduct.finish(summary, _EXIT_CODES.get(result), message=result)
        except Exception as error:  # noqa: BLE001 - usage files are a bonus; never break a run
            warn_once(f"resource usage of this run is incomplete ({error!r}).")
            return None
        finally:
            self._metrics.close()
            self._conduct.close()
        if self._settings.summary:
            from otel_kedro.exporters.console import format_summary
            from otel_kedro.runs.views import report_line

            report = report_line(self._folder) if self._settings.report else None
            text = format_summary(summary, result, nodes, self._folder, report)
            print(text, file=sys.stderr)  # noqa: T201
        return summary

    def _write_durations(self, result: str) -> list[NodeFigure]:
        """Kedro's duration histograms, with the spans worker processes wrote; returns the
        nodes the summary names.
        """
        from otel_kedro.runs.span_durations import record_other_processes
        from otel_kedro.sources.kedro.durations import in_chunks

        own = self._tee.own_pids if self._tee is not None else {os.getpid()}
        record_other_processes(self._durations, self._traces, self._traces_offset, own)
        self._durations.decide(result)
        for chunk in in_chunks(self._durations.series(), _POINTS_PER_LINE):
            self._write(chunk)
        return self._durations.top_nodes()
