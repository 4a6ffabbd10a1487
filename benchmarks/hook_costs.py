"""Where the plugin's time goes in a ``kedro run``: CPU time of each hook and of the parts of the
per-span path, measured inside a real run (not a test: run it on demand).

    .venv/bin/python benchmarks/hook_costs.py [--nodes 500] [--runs 3] [--detail]

A generated chain of trivial nodes (as in ``benchmarks/trivial_nodes.py``) runs with ``kedro
run`` in a fresh interpreter whose ``sitecustomize`` wraps every hook of the plugin (they all go
through :func:`otel_kedro.diagnostics.guarded`) and, with ``--detail``, the pieces they call:
span start and end in the SDK, the journal, the privacy chain, the line encoder, the appends,
node usage and the log capture. Each wrapper adds the calling thread's CPU time
(``time.thread_time``) to its total, so a line says how much CPU that piece took on the thread
that called it; nested pieces are included in their callers. Work on other threads (the log
writer's encoding, the sampler) is not in any line, only in the process total.

With ``--detail`` the detailed modules are imported before the run starts, so the hooks' totals
no longer include importing them (about 0.1 s, in ``after_context_created`` and
``before_pipeline_run`` otherwise). The wrappers cost about a microsecond per call, so the
figures per call are upper bounds. The table is the median of ``--runs`` runs; the process CPU
(user + system) of a run with the plugin disabled (``OTEL_SDK_DISABLED=true``: the hooks are
called and return at once) is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _venvs import measured, run
from tests.support.kedro_projects import BIN, clean_env, write_chain_project

_SITECUSTOMIZE = """
import atexit, functools, json, os, time

_totals = {}

if os.environ.get("_HOOK_COSTS_NO_GC"):
    import gc

    gc.disable()


def _timed(label, function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        start = time.thread_time_ns()
        try:
            return function(*args, **kwargs)
        finally:
            entry = _totals.setdefault(label, [0, 0])
            entry[0] += 1
            entry[1] += time.thread_time_ns() - start
    return wrapper


def _wrap(owner, name, label):
    setattr(owner, name, _timed(label, getattr(owner, name)))


import otel_kedro.diagnostics as _diagnostics

_guarded = _diagnostics.guarded
_diagnostics.guarded = lambda function: _timed(
    "hook " + function.__qualname__, _guarded(function)
)

if os.environ.get("_HOOK_COSTS_DETAIL"):
    from opentelemetry.sdk import trace as _sdk
    from otel_kedro.exporters import append, span_lines
    from otel_kedro.processors import apply, chain
    from otel_kedro.runs import journal, logs as run_logs
    from otel_kedro.sources.kedro import logs, node_usage

    _wrap(_sdk.Tracer, "start_span", "SDK start_span (with on_start)")
    _wrap(_sdk.Span, "end", "SDK Span.end (with on_end)")
    _wrap(journal.SpanJournal, "span_started", "journal: span start record")
    _wrap(journal.WriteThroughProcessor, "on_end", "write-through of an ended span")
    _wrap(apply, "process_span", "  privacy chain on a span")
    _wrap(span_lines.SpanLineEncoder, "line", "  OTLP JSON line encoding")
    _wrap(append.AtomicAppendStream, "_flush_locked", "  locked append (all files)")
    _wrap(chain.Chain, "attributes", "  chain.attributes")
    _wrap(node_usage.NodeUsageMeter, "start", "node usage: start")
    _wrap(node_usage.NodeUsageMeter, "finish", "node usage: finish")
    _wrap(logs.LogCapture, "handle", "log capture: one record")
    _wrap(run_logs.RunLogs, "node_started", "log capture: records held during loads")


@atexit.register
def _report():
    _totals["process CPU"] = [1, int(sum(os.times()[:2]) * 1e9)]
    with open(os.environ["_HOOK_COSTS_OUT"], "a") as out:
        out.write(json.dumps(_totals) + "\\n")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--detail", action="store_true", help="also time the per-span parts")
    parser.add_argument(
        "--no-gc",
        action="store_true",
        help="garbage collection off in every run (both sides): per-call costs without the "
        "collections that Kedro's growing heap triggers inside whichever code allocates",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        project = write_chain_project(root, args.nodes)
        site = root / "site"
        site.mkdir()
        (site / "sitecustomize.py").write_text(_SITECUSTOMIZE)
        out = root / "costs.jsonl"
        src = str(Path(__file__).resolve().parents[1] / "src")
        path = os.pathsep.join([str(site), src, os.environ.get("PYTHONPATH", "")]).rstrip(":")
        env = clean_env(PYTHONPATH=path, _HOOK_COSTS_OUT=str(out))
        if args.detail:
            env["_HOOK_COSTS_DETAIL"] = "1"
        disabled = clean_env(OTEL_SDK_DISABLED="true", PYTHONPATH=src)
        if args.no_gc:
            env["_HOOK_COSTS_NO_GC"] = "1"
            site_off = root / "site-off"
            site_off.mkdir()
            (site_off / "sitecustomize.py").write_text("import gc\ngc.disable()\n")
            disabled["PYTHONPATH"] = os.pathsep.join([str(site_off), src])
        kedro_run = [str(BIN / "kedro"), "run"]
        run(kedro_run, cwd=project, env=env)  # warm caches and byte code; not counted
        out.unlink()
        off = []
        for _ in range(args.runs):
            run(kedro_run, cwd=project, env=env)
            off.append(measured(kedro_run, cwd=project, env=disabled).cpu_s)
        runs = [json.loads(line) for line in out.read_text().splitlines()]
    total_cpu = statistics.median(run.pop("process CPU")[1] for run in runs) / 1e9
    labels = sorted({k for run in runs for k in run}, key=lambda k: -runs[0].get(k, [0, 0])[1])
    print(
        f"kedro run, {args.nodes} trivial nodes: CPU on the calling thread, median of "
        f"{args.runs} runs (load average {os.getloadavg()[0]:.1f})"
        + (", garbage collection off" if args.no_gc else "")
    )
    print(f"  {'':52} {'calls':>6} {'total ms':>9} {'µs/call':>8}")
    for label in labels:
        calls = statistics.median(run.get(label, [0, 0])[0] for run in runs)
        total = statistics.median(run.get(label, [0, 0])[1] for run in runs) / 1e6
        per_call = total * 1000 / calls if calls else 0.0
        print(f"  {label:52} {calls:6.0f} {total:9.1f} {per_call:8.1f}")
    print(f"  process CPU (user + system), plugin active: {total_cpu:.2f} s")
    print(f"  process CPU, plugin disabled (OTEL_SDK_DISABLED): {statistics.median(off):.2f} s")


if __name__ == "__main__":
    main()
