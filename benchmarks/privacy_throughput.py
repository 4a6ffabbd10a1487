"""Spans per second through the file exporter with the files destination's default privacy chain
vs with no processors, measured side by side in one run (not a test: run it on demand).

    .venv/bin/python benchmarks/privacy_throughput.py [--spans 6000] [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from otel_kedro.config.privacy import PrivacySettings
from otel_kedro.exporters.span_lines import SpanLineExporter
from otel_kedro.model.run_folder import TRACES_FILE
from otel_kedro.processors.apply import ProcessedSpanExporter
from otel_kedro.processors.chain import Chain
from otel_kedro.runs.chains import destination_chain
from otel_kedro.sources.resource import build_resource

_BATCH = 512


def realistic_spans(count: int) -> list[ReadableSpan]:
    """Spans shaped like a Kedro run's: a node span with two dataset spans, some failures."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=build_resource("retail_demo"))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("otel_kedro", "0.1.0")
    for index in range(count // 3):
        node = tracer.start_span(
            f"north.filter_region_{index}",
            attributes={
                "cicd.pipeline.task.name": f"north.filter_region_{index}",
                "kedro.node.namespace": "north",
                "kedro.node.tags": ["report", "north"],
                "kedro.node.inputs": ["sales_features", "params:north.region"],
                "kedro.node.outputs": ["north.region_sales"],
                "code.function.name": "retail_demo.pipelines.reporting.nodes.filter_region",
            },
        )
        for operation, dataset in (("LOAD", "sales_features"), ("SAVE", "north.region_sales")):
            child = tracer.start_span(
                f"{operation} {dataset}",
                attributes={
                    "kedro.dataset.name": dataset,
                    "kedro.dataset.type": "kedro_datasets.pandas.csv_dataset.CSVDataset",
                    "kedro.dataset.rows": 480,
                },
            )
            child.end()
        if index % 25 == 0:
            node.record_exception(ValueError(f"quality check failed for batch {index}"))
        node.end()
    return list(memory.get_finished_spans())


def _paired(spans: list[ReadableSpan], folder: Path, chain: Chain) -> tuple[float, float]:
    """Seconds for each exporter over the same batches, alternating batch by batch so that the
    shared machine's slow moments hit both sides alike."""
    (folder / "plain").mkdir(parents=True)
    (folder / "chained").mkdir()
    plain: SpanExporter = SpanLineExporter(folder / "plain" / TRACES_FILE)
    chained: SpanExporter = ProcessedSpanExporter(
        SpanLineExporter(folder / "chained" / TRACES_FILE), chain
    )
    times = [0.0, 0.0]
    for number, offset in enumerate(range(0, len(spans), _BATCH)):
        batch = spans[offset : offset + _BATCH]
        order = [(0, plain), (1, chained)]
        for side, exporter in order if number % 2 else order[::-1]:
            start = time.perf_counter()
            exporter.export(batch)
            times[side] += time.perf_counter() - start
    plain.shutdown()
    chained.shutdown()
    return times[0], times[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spans", type=int, default=6000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    spans = realistic_spans(args.spans)
    privacy = PrivacySettings()
    chain = destination_chain(privacy, "files")
    plain: list[float] = []
    chained: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            plain_s, chained_s = _paired(spans, Path(tmp) / str(repeat), chain)
            plain.append(len(spans) / plain_s)
            chained.append(len(spans) / chained_s)
    median_plain, median_chained = statistics.median(plain), statistics.median(chained)
    print(f"{len(spans)} spans through the OTLP JSON file exporter, median of {args.repeats}:")
    print(f"  no processors        : {median_plain:,.0f} spans/s")
    chain_names = ", ".join(privacy.files.processors)
    print(f"  default files chain  : {median_chained:,.0f} spans/s  ({chain_names})")
    print(f"  ratio                : {median_chained / median_plain:.3f}   (target >= 0.8)")


if __name__ == "__main__":
    main()
