"""The Python bytecodes the plugin executes in each of its Kedro hooks, counted in a real ``kedro
run``: a measure of its work with no clock in it, so the machine's noise cannot move it.

A ``sitecustomize`` traces opcodes (``sys.settrace`` with ``f_trace_opcodes``) on the calling
thread from the moment a hook of the plugin is entered until it returns (every hook goes through
:func:`otel_kedro.diagnostics.guarded`), and inside the log capture's ``handle`` (Kedro's own log
calls, outside our hooks). Everything those calls execute is counted, the SDK's and the standard
library's Python code included; work in C (the JSON escaper, ``write(2)``) and on the plugin's
own threads (the log writer, the sampler) is not. Used by the test that holds the plugin's cost
per node constant as a pipeline grows, and by ``benchmarks/per_node_work.py``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from pathlib import Path

from tests.support.kedro_projects import BIN, clean_env, write_chain_project

# Hooks Kedro calls once per node or per dataset of a node (the rest are once per run).
PER_NODE_HOOKS = frozenset(
    {
        "hook ProjectHooks.before_node_run",
        "hook ProjectHooks.after_node_run",
        "hook ProjectHooks.before_dataset_loaded",
        "hook ProjectHooks.after_dataset_loaded",
        "hook ProjectHooks.before_dataset_saved",
        "hook ProjectHooks.after_dataset_saved",
    }
)
LOG_CAPTURE = "log capture: one record"

_SITECUSTOMIZE = """
import atexit, functools, importlib._bootstrap as _bootstrap, json, os, sys, threading

_counts = {}
_by_code = {}
_state = threading.local()
_BY_CODE = bool(os.environ.get("_PER_NODE_WORK_BY_CODE"))


def _opcode(frame, event, arg):
    if event == "opcode":
        _state.opcodes += 1
        if _BY_CODE:
            code = frame.f_code
            where = code.co_filename.split("site-packages/")[-1].split("/src/")[-1]
            key = where + ":" + code.co_name
            _by_code[key] = _by_code.get(key, 0) + 1
    return _opcode


def _call(frame, event, arg):
    frame.f_trace_opcodes = True
    return _opcode


def _counted(label, function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if getattr(_state, "active", False):
            return function(*args, **kwargs)
        _state.active, _state.opcodes = True, 0
        sys.settrace(_call)
        try:
            return function(*args, **kwargs)
        finally:
            sys.settrace(None)
            _state.active = False
            entry = _counts.setdefault(label, [0, 0])
            entry[0] += 1
            entry[1] += _state.opcodes
    return wrapper


_find_and_load = _bootstrap._find_and_load
_hooks_counted = False


def _patched_find_and_load(name, import_):
    global _hooks_counted
    if not _hooks_counted and name.startswith("otel_kedro"):
        _hooks_counted = True  # before any hook is decorated
        import otel_kedro.diagnostics as diagnostics

        guarded = diagnostics.guarded
        diagnostics.guarded = lambda f: _counted("hook " + f.__qualname__, guarded(f))
    module = _find_and_load(name, import_)
    if name == "otel_kedro.sources.kedro.logs":
        capture = module.LogCapture
        capture.handle = _counted("LOG_CAPTURE", capture.handle)
    return module


_bootstrap._find_and_load = _patched_find_and_load


@atexit.register
def _write():
    with open(os.environ["_PER_NODE_WORK_OUT"], "w") as out:
        json.dump({"hooks": _counts, "by_code": _by_code}, out)
""".replace("LOG_CAPTURE", LOG_CAPTURE)


@dataclasses.dataclass(frozen=True)
class Work:
    """What one ``kedro run`` of a chain of ``nodes`` executed in the plugin's hooks."""

    nodes: int
    hooks: dict[str, tuple[int, int]]  # label -> (calls, opcodes)
    by_code: dict[str, int]  # "file:function" -> opcodes (only when asked for)

    @property
    def total(self) -> int:
        """Opcodes in every hook and every captured log record of the run."""
        return sum(opcodes for _, opcodes in self.hooks.values())

    @property
    def per_node(self) -> int:
        """Opcodes in the per-node hooks and the log capture."""
        return sum(
            opcodes
            for label, (_, opcodes) in self.hooks.items()
            if label in PER_NODE_HOOKS or label == LOG_CAPTURE
        )


def count_work(root: Path, nodes: int, *, by_code: bool = False, **settings: str) -> Work:
    """Run a generated chain of ``nodes`` trivial nodes once under the opcode counter, with
    ``settings`` (``OTEL_KEDRO_*`` variables) in its environment.
    """
    folder = root / f"chain-{nodes}"
    folder.mkdir(parents=True, exist_ok=True)
    project = write_chain_project(folder, nodes)
    site = folder / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    out = folder / "work.json"
    src = Path(__file__).resolve().parents[2] / "src"
    env = clean_env(
        PYTHONPATH=os.pathsep.join([str(site), str(src)]),
        _PER_NODE_WORK_OUT=str(out),
        _PER_NODE_WORK_BY_CODE="1" if by_code else "",
        **settings,
    )
    # Coverage traces through sys.settrace too (its subprocess patch starts it from these):
    # the counted run goes without it.
    env = {k: v for k, v in env.items() if not k.startswith(("COVERAGE_PROCESS_", "COV_CORE_"))}
    subprocess.run(
        [str(BIN / "kedro"), "run"], cwd=project, env=env, check=True, capture_output=True
    )
    document = json.loads(out.read_text())
    hooks = {label: (calls, opcodes) for label, (calls, opcodes) in document["hooks"].items()}
    return Work(nodes, hooks, document["by_code"])
