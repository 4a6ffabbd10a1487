"""Per-span cost of a run's files destination, on the thread that ends the span (not a test).

    .venv/bin/python benchmarks/span_write_cost.py [SRC ...] [--spans 3000]

For each ``src`` folder given (default: this checkout's ``src``), in a fresh interpreter:
start and end ``--spans`` node-like spans (5 attributes, 3 of them lists) under a run span in
a run destination built by ``TracingPipeline.open_destination``, and report the median over 5
repeats of the time per span spent in ``start_span`` + ``end`` (what a Kedro hook waits for),
and including a final flush to disk (what the run pays in all, wherever it is paid). Pass the
``src`` of another checkout to compare side by side, e.g. the batching writer of before:
``benchmarks/span_write_cost.py /path/to/old/src src``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

_PROBE = """
import statistics, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from opentelemetry import trace
from otel_kedro.config.settings import Settings
from otel_kedro.runs.chains import destination_chain
from otel_kedro.runs.tracing import TracingPipeline

count = int(sys.argv[2])
chain = destination_chain(Settings().privacy, "files", project_path=Path("/tmp"))
attributes = {
    "cicd.pipeline.task.name": "n1", "kedro.node.tags": ["a"], "kedro.node.inputs": ["d1"],
    "kedro.node.outputs": ["d2"], "code.function.name": "pkg.mod.step",
}
hook, total = [], []
for _ in range(5):
    with tempfile.TemporaryDirectory() as tmp:
        pipeline = TracingPipeline()
        destination = pipeline.open_destination(Path(tmp), "bench", chain, announce=False)
        tracer = pipeline.tracer("bench")
        with pipeline.route_to(destination):
            run = tracer.start_span("RUN bench")
        context = trace.set_span_in_context(run)
        start = time.perf_counter()
        for index in range(count):
            tracer.start_span(f"n{index}", context=context, attributes=attributes).end()
        hook.append((time.perf_counter() - start) / count * 1e6)
        pipeline.flush(destination)
        total.append((time.perf_counter() - start) / count * 1e6)
        run.end()
        pipeline.close(destination)
print(f"{statistics.median(hook):.1f} {statistics.median(total):.1f}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("src", nargs="*", default=[str(Path(__file__).parents[1] / "src")])
    parser.add_argument("--spans", type=int, default=3000)
    args = parser.parse_args()
    print(f"per span, median of 5 x {args.spans} spans: on the ending thread / including flush")
    for src in args.src:
        out = subprocess.run(
            [sys.executable, "-c", _PROBE, src, str(args.spans)],
            check=True, capture_output=True, text=True,
        ).stdout.split()  # fmt: skip
        print(f"  {src}: {out[0]} us / {out[1]} us")


if __name__ == "__main__":
    main()
