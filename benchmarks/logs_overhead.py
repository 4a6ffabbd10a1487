"""The cost of recording log records, per record and per run. (Not a test: on demand.)

Per record: N ``logger.info`` calls with arguments, inside a node span, through a logger whose
console handler writes to /dev/null (as Kedro's does to a terminal), with and without the run's
log capture (its translation, the files chain, the batching JSON Lines writer); the
"with" figures include the final flush, so the writer thread's encoding is counted too. Both
wall time and process CPU time (all threads), because on a shared machine wall time mostly
measures the neighbours. Alternating rounds, medians.

Per run: the fixed part (starting and finishing one run's log pipeline, and importing its
modules once); then the example project run in this process (``otel_kedro.testing.run_session``)
with ``logs`` on and off in alternation, the median of the paired CPU differences; and
``kedro run`` subprocesses, interleaved, medians of wall time and of the child's CPU time.

    .venv/bin/python benchmarks/logs_overhead.py [--records N] [--rounds N] [--pairs N] [--runs N]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from tests.support.kedro_projects import clean_env, copy_example, run_folders, run_kedro

from otel_kedro.config.privacy import PrivacySettings
from otel_kedro.runs.chains import destination_chain
from otel_kedro.runs.logs import RunLogs
from otel_kedro.runs.tracing import Destination
from otel_kedro.sources.kedro.nodes import NodeTracker


class _Tracing:
    """The piece of the tracing pipeline the capture asks: which run a span belongs to."""

    def __init__(self) -> None:
        self.routes: dict[tuple[int, int], Destination] = {}

    def destination_of(self, context: trace.SpanContext) -> Destination | None:
        return self.routes.get((context.trace_id, context.span_id))


def _log(logger: logging.Logger, count: int) -> None:
    for index in range(count):
        logger.info("Loading data from %s (%s)...", f"dataset_{index % 50}", "CSVDataset")


def per_record(records: int, rounds: int) -> dict[str, float]:
    """Median seconds per record, wall and CPU, without and with the capture (incl. writer)."""
    logger = logging.getLogger("benchmark.logs")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    with open(os.devnull, "w") as devnull:  # noqa: PTH123
        console = logging.StreamHandler(devnull)
        console.setFormatter(logging.Formatter("%(asctime)s - %(name)s - %(message)s"))
        logger.addHandler(console)
        tracer = TracerProvider().get_tracer("benchmark")
        tracing = _Tracing()
        chain = destination_chain(PrivacySettings(), "files")
        samples: dict[str, list[float]] = {
            "wall without": [],
            "wall with": [],
            "cpu without": [],
            "cpu with": [],
        }
        with tempfile.TemporaryDirectory() as tmp_name:
            for round_ in range(rounds):
                start, cpu = time.perf_counter(), time.process_time()
                _log(logger, records)
                samples["wall without"].append((time.perf_counter() - start) / records)
                samples["cpu without"].append((time.process_time() - cpu) / records)

                folder = Path(tmp_name) / str(round_)
                folder.mkdir()
                destination = Destination(folder=folder, processor=None, announce=False)  # type: ignore[arg-type]
                run_span = tracer.start_span("RUN")
                node_span = tracer.start_span("node", trace.set_span_in_context(run_span))
                for span in (run_span, node_span):
                    context = span.get_span_context()
                    tracing.routes[(context.trace_id, context.span_id)] = destination
                logs = RunLogs(tracing, NodeTracker())  # type: ignore[arg-type]
                logs.start(
                    destination,
                    trace.set_span_in_context(run_span),
                    chain,
                    TracerProvider().resource,
                    "INFO",
                )
                logger.addHandler(logging.getLogger().handlers[-1])  # the capture, on this logger
                with trace.use_span(node_span):
                    start, cpu = time.perf_counter(), time.process_time()
                    _log(logger, records)
                    logs.finish(destination)
                    samples["wall with"].append((time.perf_counter() - start) / records)
                    samples["cpu with"].append((time.process_time() - cpu) / records)
                logger.removeHandler(logger.handlers[-1])
                lines = (folder / "logs.jsonl").read_text().count("logRecords")
                assert lines >= 1, "records were written"
        logger.removeHandler(console)
    return {name: statistics.median(values) for name, values in samples.items()}


def fixed_per_run(repeats: int = 20) -> tuple[float, float]:
    """CPU seconds to import the log modules once, and (median) to start and finish a run's
    log pipeline with one record.
    """
    import importlib
    import subprocess

    probe = (
        "import time, otel_kedro.runs.root; c = time.process_time(); "
        "import otel_kedro.runs.logs, opentelemetry.exporter.otlp.json.common._log_encoder; "
        "print(time.process_time() - c)"
    )
    imports = float(subprocess.check_output([sys.executable, "-c", probe], text=True))
    importlib.import_module("otel_kedro.runs.logs")
    tracing = _Tracing()
    chain = destination_chain(PrivacySettings(), "files")
    span = TracerProvider().get_tracer("benchmark").start_span("RUN")
    logs = RunLogs(tracing, NodeTracker())  # type: ignore[arg-type]
    cpu = []
    with tempfile.TemporaryDirectory() as tmp_name:
        for index in range(repeats):
            folder = Path(tmp_name) / str(index)
            folder.mkdir()
            destination = Destination(folder=folder, processor=None, announce=False)  # type: ignore[arg-type]
            start = time.process_time()
            logs.start(
                destination,
                trace.set_span_in_context(span),
                chain,
                TracerProvider().resource,
                "INFO",
            )
            logging.getLogger("benchmark.fixed").warning("one record")
            logs.finish(destination)
            cpu.append(time.process_time() - start)
    return imports, statistics.median(cpu)


def per_run_in_process(pairs: int) -> tuple[float, float, float, int]:
    """Median, min and max of the paired CPU differences (logs on minus off) of the example's
    ``data_processing`` run in this process, and the records one run wrote.
    """
    from otel_kedro.model.run_folder import read_logs
    from otel_kedro.testing import run_session

    quiet = {"OTEL_KEDRO_SUMMARY": "false", "OTEL_KEDRO_ANNOUNCE": "false"}
    os.environ.update(quiet)
    diffs, records = [], 0
    with tempfile.TemporaryDirectory() as tmp_name:
        project = copy_example(Path(tmp_name))
        output = Path(tmp_name) / "runs"
        for index in range(pairs + 1):  # the first pair warms imports and caches up
            cpu = {}
            for logs in ("false", "true"):
                os.environ["OTEL_KEDRO_LOGS"] = logs
                with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):  # noqa: PTH123
                    start = time.process_time()
                    captured = run_session(project, output, pipeline_name="data_processing")
                    cpu[logs] = time.process_time() - start
                if logs == "true":
                    records = sum(len(line) for line in read_logs(captured.folder).items)
            if index:
                diffs.append(cpu["true"] - cpu["false"])
    for name in (*quiet, "OTEL_KEDRO_LOGS"):
        os.environ.pop(name, None)
    return statistics.median(diffs), min(diffs), max(diffs), records


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def per_run(runs: int) -> tuple[dict[str, float], int]:
    """Median wall and CPU seconds of ``kedro run`` (example project), logs off and on."""
    times: dict[str, list[float]] = {"false": [], "true": [], "cpu false": [], "cpu true": []}
    records = 0
    with tempfile.TemporaryDirectory() as tmp_name:
        project = copy_example(Path(tmp_name))
        for _ in range(runs):
            for logs in ("false", "true"):
                start, cpu = time.perf_counter(), _children_cpu()
                result = run_kedro(project, "run", env=clean_env(OTEL_KEDRO_LOGS=logs))
                times[logs].append(time.perf_counter() - start)
                times[f"cpu {logs}"].append(_children_cpu() - cpu)
                if result.returncode != 0:
                    raise SystemExit(result.stderr[-2000:])
                if logs == "true":
                    text = (run_folders(project)[-1] / "logs.jsonl").read_text()
                    records = text.count('"severityNumber"')
    return {name: statistics.median(values) for name, values in times.items()}, records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pairs", type=int, default=11)
    args = parser.parse_args()
    figures = per_record(args.records, args.rounds)
    us = {name: value * 1e6 for name, value in figures.items()}
    print(
        f"per record ({args.records} records, median of {args.rounds}): "
        f"CPU {us['cpu without']:.1f} us without, {us['cpu with']:.1f} us with "
        f"(+{us['cpu with'] - us['cpu without']:.1f} us); wall {us['wall without']:.1f} us "
        f"without, {us['wall with']:.1f} us with (+{us['wall with'] - us['wall without']:.1f} us)"
    )
    imports, setup = fixed_per_run()
    print(
        f"per run, fixed: importing the log modules {imports * 1e3:.1f} ms CPU once; starting "
        f"and finishing a run's log pipeline {setup * 1e3:.2f} ms CPU"
    )
    median, low, high, records = per_run_in_process(args.pairs)
    print(
        f"per run, in process (example data_processing, {records} records, {args.pairs} pairs): "
        f"CPU difference median {median * 1e3:+.1f} ms (from {low * 1e3:+.1f} to {high * 1e3:+.1f})"
    )
    run, records = per_run(args.runs)
    print(
        f"per run (example project, median of {args.runs} interleaved, {records} records): "
        f"wall {run['false']:.3f} s off, {run['true']:.3f} s on "
        f"({run['true'] - run['false']:+.3f} s); "
        f"CPU {run['cpu false']:.3f} s off, {run['cpu true']:.3f} s on "
        f"({run['cpu true'] - run['cpu false']:+.3f} s)"
    )


if __name__ == "__main__":
    main()
