"""Where the plugin's time goes in a ``kedro run``: CPU time of each hook, of the parts of the
per-span path, of its imports and threads, measured inside a real run (not a test: run it on
demand).

    .venv/bin/python benchmarks/hook_costs.py [--nodes 500] [--runs 3] [--detail] [--no-gc]
        [--project DIR --bin VENV_BIN [--kedro-args "--pipeline data_science"]]

By default a generated chain of trivial nodes (as in ``benchmarks/trivial_nodes.py``) runs with
``kedro run``; ``--project`` runs an existing project instead (e.g. the spaceflights starter of
``benchmarks/partial_run.py``) with the Kedro of ``--bin``, a venv holding its dependencies. The
plugin is this checkout's ``src`` either way. Every run is a fresh interpreter whose
``sitecustomize`` wraps every hook of the plugin (they all go through
:func:`otel_kedro.diagnostics.guarded`) and, with ``--detail``, the pieces they call: span start
and end in the SDK, the journal, the privacy chain, the line encoder, the appends, node usage
and the log capture. Each wrapper adds the calling thread's CPU time (``time.thread_time``) to
its total, so a line says how much CPU that piece took on the thread that called it; an indented
piece is part of a line above it.

Also recorded in every run: the CPU spent importing the plugin and its dependencies (the
outermost imports of ``otel_kedro``, ``opentelemetry``, ``psutil``, ``platformdirs``,
``google`` and ``grpc``, with whatever they import in turn), the CPU of every thread but the
main one (the plugin's log writer, sampler and ``git status`` waiter by name, others by the first
word of theirs, such as the SDK's resource detection pool), the CPU of child
processes reaped (``git status``) and the time in garbage collections (``gc.callbacks``, on
whichever thread triggered them). The same ``sitecustomize`` runs with the plugin disabled
(``OTEL_SDK_DISABLED=true``: the hooks are called and return at once), so both sides' process
CPU and collections are read the same way.

With ``--detail`` the detailed modules are imported before the run starts, so the hooks no
longer include importing them (about 0.1 s, in ``after_context_created`` and
``before_pipeline_run`` otherwise), and an account is printed: the extra process CPU against the
disabled runs, split into the hooks, the log capture (Kedro's log calls, outside our hooks), the
imports, our threads, and what is left (collections, Kedro's own work that differs, the wrappers
themselves). The wrappers cost about a microsecond per call, so figures per call are upper
bounds. ``--no-gc`` turns garbage collection off on both sides, for per-call costs without the
collections that Kedro's growing heap triggers inside whichever code allocates. Each figure is
the median of ``--runs`` runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _venvs import run
from tests.support.kedro_projects import BIN, clean_env, write_chain_project

_SITECUSTOMIZE = """
import atexit, functools, gc, importlib._bootstrap as _bootstrap, json, os, threading, time

_totals = {}


def _add(label, nanoseconds, calls=1):
    entry = _totals.setdefault(label, [0, 0])
    entry[0] += calls
    entry[1] += nanoseconds


if os.environ.get("_HOOK_COSTS_NO_GC"):
    gc.disable()

# Per thread: CPU so far in collections and in our outermost imports. Every timed line leaves
# out the collections and imports that happened inside it; they have lines of their own.
_thread = threading.local()


def _so_far(name):
    return getattr(_thread, name, 0)


def _on_gc(phase, info):
    if phase == "start":
        _thread.gc_start = time.thread_time_ns()
        return
    elapsed = time.thread_time_ns() - _thread.gc_start
    _thread.gc = _so_far("gc") + elapsed
    _add("garbage collections, full" if info["generation"] == 2 else (
        "garbage collections, young"), elapsed)


gc.callbacks.append(_on_gc)


# CPU since start on this thread, less the collections and imports since then.
def _net(start, gc_start, imports_start):
    return (
        time.thread_time_ns() - start - (_so_far("gc") - gc_start)
        - (_so_far("imports") - imports_start)
    )


_OURS = ("otel_kedro", "opentelemetry", "psutil", "platformdirs", "google", "grpc")
_find_and_load = _bootstrap._find_and_load


def _timed_find_and_load(name, import_):
    if getattr(_thread, "importing", False) or not name.startswith(_OURS):
        return _find_and_load(name, import_)
    _thread.importing = True
    start, gc_start = time.thread_time_ns(), _so_far("gc")
    try:
        if name.startswith("otel_kedro") and _diagnostics is None:
            _time_hooks()  # before any hook is decorated
        return _find_and_load(name, import_)
    finally:
        _thread.importing = False
        elapsed = _net(start, gc_start, _so_far("imports"))
        _thread.imports = _so_far("imports") + elapsed
        _add("imports of the plugin and its dependencies", elapsed)
        if os.environ.get("_HOOK_COSTS_IMPORTS"):
            _add("  import " + name, elapsed)
        if _DETAIL:
            _wrap_loaded()


_bootstrap._find_and_load = _timed_find_and_load

_thread_run = threading.Thread.run


def _thread_label(thread):
    return "thread " + thread.name.split("-")[0] if not thread.name.startswith("otel-kedro") else (
        "thread " + thread.name
    )


def _timed_thread_run(self):
    try:
        return _thread_run(self)
    finally:
        _add(_thread_label(self), time.thread_time_ns())


threading.Thread.run = _timed_thread_run


def _timed(label, function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        marks = time.thread_time_ns(), _so_far("gc"), _so_far("imports")
        try:
            return function(*args, **kwargs)
        finally:
            _add(label, _net(*marks))
            if label == "hook CliHooks.after_command_run":
                _phases["command ended"] = time.thread_time_ns()
    return wrapper


def _wrap(owner, name, label):
    setattr(owner, name, _timed(label, getattr(owner, name)))


_diagnostics = None
_phases = {}


# Every hook goes through guarded: time what it decorates (imported when Kedro first loads the
# plugin, so the import lands where it always does).
def _time_hooks():
    global _diagnostics
    _phases["plugin loaded"] = time.thread_time_ns()
    import otel_kedro.diagnostics as _diagnostics

    guarded = _diagnostics.guarded
    _diagnostics.guarded = lambda function: _timed(
        "hook " + function.__qualname__, guarded(function)
    )


# With --detail, each piece is wrapped as soon as its module is loaded (after the outermost
# import that brought it), so the plugin imports everything where and when it always does.
_DETAIL = [
    ("opentelemetry.sdk.trace", "Tracer", "start_span", "  SDK start_span (with on_start)"),
    ("opentelemetry.sdk.trace", "Span", "end", "  SDK Span.end (with on_end)"),
    ("otel_kedro.runs.journal", "SpanJournal", "span_started", "    journal: span start record"),
    ("otel_kedro.runs.journal", "WriteThroughProcessor", "on_end",
     "    write-through of an ended span"),
    ("otel_kedro.processors.apply", None, "process_span", "      privacy chain on a span"),
    ("otel_kedro.exporters.span_lines", "SpanLineEncoder", "line", "      OTLP JSON line encoding"),
    ("otel_kedro.exporters.append", "AtomicAppendStream", "_flush_locked",
     "  locked append (all files)"),
    ("otel_kedro.processors.chain", "Chain", "attributes", "  chain.attributes (all callers)"),
    ("otel_kedro.sources.kedro.node_usage", "NodeUsageMeter", "start", "  node usage: start"),
    ("otel_kedro.sources.kedro.node_usage", "NodeUsageMeter", "finish", "  node usage: finish"),
    ("otel_kedro.sources.kedro.logs", "LogCapture", "handle", "log capture: one record"),
    ("otel_kedro.runs.logs", "RunLogs", "node_started", "  log capture: records held during loads"),
] if os.environ.get("_HOOK_COSTS_DETAIL") and not os.environ.get("OTEL_SDK_DISABLED") else []


def _wrap_loaded():
    import sys

    for entry in list(_DETAIL):
        module_name, owner, name, label = entry
        module = sys.modules.get(module_name)
        if module is not None and hasattr(module, owner or name):
            _wrap(getattr(module, owner) if owner else module, name, label)
            _DETAIL.remove(entry)


@atexit.register
def _report():
    import resource

    for thread in threading.enumerate():  # still running: read its CPU clock
        if thread is not threading.main_thread() and thread.ident is not None:
            clock = time.pthread_getcpuclockid(thread.ident)
            _add(_thread_label(thread), int(time.clock_gettime(clock) * 1e9))
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    _totals["child processes reaped"] = [1, int((children.ru_utime + children.ru_stime) * 1e9)]
    now = time.thread_time_ns()  # atexit runs on the main thread
    loaded = _phases.get("plugin loaded", now)
    ended = _phases.get("command ended", now)
    _totals["main thread: until the plugin loads"] = [1, loaded]
    _totals["main thread: from the plugin's load to the command's end"] = [1, ended - loaded]
    _totals["main thread: exit (after the command's end)"] = [1, now - ended]
    own = resource.getrusage(resource.RUSAGE_SELF)
    _totals["process CPU"] = [1, int((own.ru_utime + own.ru_stime) * 1e9)]
    _totals["side"] = os.environ.get("OTEL_SDK_DISABLED", "") or "active"
    with open(os.environ["_HOOK_COSTS_OUT"], "a") as out:
        out.write(json.dumps(_totals) + "\\n")
"""

_ACCOUNTED = ("hook ", "log capture: one record", "imports of", "thread ")


def _median(runs: list[dict[str, list[int]]], label: str, index: int) -> float:
    return statistics.median(run.get(label, [0, 0])[index] for run in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--detail", action="store_true", help="also time the per-span parts")
    parser.add_argument("--no-gc", action="store_true", help="garbage collection off on both sides")
    parser.add_argument("--project", type=Path, help="an existing Kedro project to run")
    parser.add_argument("--bin", type=Path, default=BIN, help="venv bin with Kedro (--project)")
    parser.add_argument("--kedro-args", default="", help="extra `kedro run` arguments")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        project = args.project.resolve() if args.project else write_chain_project(root, args.nodes)
        site = root / "site"
        site.mkdir()
        (site / "sitecustomize.py").write_text(_SITECUSTOMIZE)
        out = root / "costs.jsonl"
        src = str(Path(__file__).resolve().parents[1] / "src")
        path = os.pathsep.join([str(site), src, os.environ.get("PYTHONPATH", "")]).rstrip(":")
        env = clean_env(PYTHONPATH=path, _HOOK_COSTS_OUT=str(out))
        if args.detail:
            env["_HOOK_COSTS_DETAIL"] = "1"
            env["_HOOK_COSTS_IMPORTS"] = "1"
        if args.no_gc:
            env["_HOOK_COSTS_NO_GC"] = "1"
        disabled = {**env, "OTEL_SDK_DISABLED": "true"}
        kedro_run = [str(args.bin / "kedro"), "run", *shlex.split(args.kedro_args)]
        run(kedro_run, cwd=project, env=env)  # warm caches and byte code; not counted
        out.unlink()
        for _ in range(args.runs):
            run(kedro_run, cwd=project, env=env)
            run(kedro_run, cwd=project, env=disabled)
        records = [json.loads(line) for line in out.read_text().splitlines()]
    runs = [r for r in records if r["side"] == "active"]
    off = [r for r in records if r["side"] != "active"]
    for record in records:
        del record["side"]
    _print(args, runs, off)


def _print(args: argparse.Namespace, runs: list[dict], off: list[dict]) -> None:
    what = (
        f"`kedro run {args.kedro_args}`".replace(" `", "`")
        if args.project
        else (f"kedro run, {args.nodes} trivial nodes")
    )
    print(
        f"{what}: CPU on the calling thread, median of {args.runs} runs (load average "
        f"{os.getloadavg()[0]:.1f})" + (", garbage collection off" if args.no_gc else "")
    )
    labels = sorted(
        {k for run in runs for k in run} - {"process CPU"},
        key=lambda k: (not k.startswith(_ACCOUNTED), -_median(runs, k, 1)),
    )
    print(f"  {'':52} {'calls':>6} {'total ms':>9} {'µs/call':>8}")
    for label in labels:
        calls = _median(runs, label, 0)
        total = _median(runs, label, 1) / 1e6
        per_call = total * 1000 / calls if calls else 0.0
        print(f"  {label:52} {calls:6.0f} {total:9.1f} {per_call:8.1f}")
    active = _median(runs, "process CPU", 1) / 1e9
    disabled = _median(off, "process CPU", 1) / 1e9
    print(f"  process CPU (user + system), plugin active: {active:.3f} s")
    print(f"  process CPU, plugin disabled (OTEL_SDK_DISABLED): {disabled:.3f} s")
    imports_label = "imports of the plugin and its dependencies"
    phases = [label for label in labels if label.startswith("main thread")]
    for label in (
        "garbage collections, young",
        "garbage collections, full",
        imports_label,
        *phases,
    ):
        print(
            f"  {label}, plugin disabled: {_median(off, label, 0):.0f} taking "
            f"{_median(off, label, 1) / 1e6:.1f} ms"
        )
    if not args.detail:
        return
    extra = (active - disabled) * 1e3
    parts = {
        "hooks": sum(_median(runs, k, 1) for k in labels if k.startswith("hook ")),
        "log capture (Kedro's log calls)": _median(runs, "log capture: one record", 1),
        "imports (beyond the disabled plugin's)": _median(runs, imports_label, 1)
        - _median(off, imports_label, 1),
        "threads (more than disabled)": sum(
            _median(runs, k, 1) - _median(off, k, 1) for k in labels if k.startswith("thread ")
        ),
        "garbage collections (more than disabled)": sum(
            _median(runs, k, 1) - _median(off, k, 1) for k in labels if k.startswith("garbage")
        ),
    }
    print(f"  account of the extra process CPU, {extra:.1f} ms:")
    for name, nanoseconds in parts.items():
        print(f"    {name:40} {nanoseconds / 1e6:8.1f} ms")
    rest = extra - sum(parts.values()) / 1e6
    print(f"    {'the rest (Kedro, the wrappers, noise)':40} {rest:8.1f} ms")


if __name__ == "__main__":
    main()
