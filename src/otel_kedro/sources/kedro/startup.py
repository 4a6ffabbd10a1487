"""Startup phases of a ``kedro`` command -> spans under the command span, so the seconds before
the first node are explained.

The phases are cut at instants Kedro's own hooks give (times are taken there and the spans
created afterwards with explicit start and end times, which costs nothing during start-up):

=============  ==================================================================================
phase          from → to
=============  ==================================================================================
bootstrap      process start → ``before_command_run``: the interpreter, Kedro's and the plugins'
               imports, ``bootstrap_project`` (project settings, ``configure_project``)
session        ``before_command_run`` → ``after_context_created``: option parsing, the runner's
               import, ``KedroSession.create`` and the context with its config loader
pipelines      the pipeline registry's first load (``register_pipelines``/``find_pipelines``
               importing the pipeline modules), timed on Kedro's lazy ``pipelines`` object
catalog        end of the previous phase → ``after_catalog_created``: pipeline filtering, catalog
               configuration and ``DataCatalog`` creation
=============  ==================================================================================

The run itself is the run span that follows. No Kedro hook fires around the registry's load, so
it is timed by wrapping one method of the ``pipelines`` instance (never the class) for the
duration of the command; without it the registry's load is part of ``catalog``.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from otel_kedro import attributes as attr

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Tracer

BOOTSTRAP: Final = "bootstrap"
SESSION: Final = "session"
PIPELINES: Final = "pipelines"
CATALOG: Final = "catalog"
PHASES: Final = (BOOTSTRAP, SESSION, PIPELINES, CATALOG)

# Marks, in the order Kedro reaches them.
COMMAND: Final = "command"
CONTEXT: Final = "context"
REGISTRY_START: Final = "registry_start"
REGISTRY_END: Final = "registry_end"
CATALOG_CREATED: Final = "catalog_created"


class StartupMarks:
    """The instants (epoch ns) a command reached; each is recorded once, the first time.

    A plain class rather than a dataclass: this module loads on every ``kedro`` command.
    """

    __slots__ = ("_lock", "marks")

    def __init__(self) -> None:
        self.marks: dict[str, int] = {}
        self._lock = threading.Lock()

    def mark(self, name: str, at_ns: int | None = None) -> None:
        """Note that ``name`` was reached now (or at ``at_ns``), unless it was already."""
        with self._lock:
            self.marks.setdefault(name, at_ns if at_ns is not None else time.time_ns())

    def phases(self, end_ns: int) -> list[tuple[str, int, int]]:
        """``(phase, start, end)`` for each phase that was reached, cut at ``end_ns`` (the run's
        start, or the failure) when the command got no further.
        """
        with self._lock:
            marks = dict(self.marks)
        process = process_start_ns()
        command = marks.get(COMMAND)
        if command is None:
            return []
        result: list[tuple[str, int, int]] = []
        if process is not None and process < command:
            result.append((BOOTSTRAP, process, command))
        context = marks.get(CONTEXT)
        result.append((SESSION, command, min(context or end_ns, end_ns)))
        if context is None:
            return result
        start = context
        registry_start, registry_end = marks.get(REGISTRY_START), marks.get(REGISTRY_END)
        if registry_start is not None and context <= registry_start:
            start = min(registry_end or end_ns, end_ns)
            result.append((PIPELINES, registry_start, start))
        catalog = marks.get(CATALOG_CREATED)
        if catalog is not None:  # a command that failed before it made no catalog phase
            result.append((CATALOG, start, min(catalog, end_ns)))
        return [(name, s, e) for name, s, e in result if s <= e]


def record_phases(tracer: Tracer, parent: Context, marks: StartupMarks, end_ns: int) -> None:
    """One span per phase reached, under ``parent`` (the command span)."""
    from opentelemetry.trace import SpanKind

    for phase, start, end in marks.phases(end_ns):
        span = tracer.start_span(
            f"{attr.STARTUP_SPAN_PREFIX} {phase}",
            context=parent,
            kind=SpanKind.INTERNAL,
            attributes={attr.KEDRO_STARTUP_PHASE: phase},
            start_time=start,
        )
        span.end(end_time=end)


def process_start_ns() -> int | None:
    """When this process started, if it is the ``kedro`` command itself (not a notebook or a
    test calling Kedro's CLI in a longer-lived process); None when unknown.
    """
    if not _is_kedro_process(sys.argv):
        return None
    return _start_of(os.getpid())


@functools.cache
def _start_of(pid: int) -> int | None:
    try:
        import psutil

        return int(psutil.Process(pid).create_time() * 1e9)
    except Exception:  # noqa: BLE001 - no start time: the bootstrap phase is left out
        return None


def _is_kedro_process(argv: list[str]) -> bool:
    if not argv:
        return False
    name = os.path.basename(argv[0]).lower()  # noqa: PTH119 - any OS's path
    return name in {"kedro", "kedro.exe"} or (
        name == "__main__.py" and os.path.basename(os.path.dirname(argv[0])) == "kedro"  # noqa: PTH119, PTH120
    )


def watch_registry(marks: StartupMarks) -> Callable[[], None] | None:
    """Time the first load of Kedro's pipeline registry into ``marks``; returns the undo, or
    None when the registry is loaded already or does not look as Kedro 1.x's does.
    """
    from kedro.framework import project

    registry = getattr(project, "pipelines", None)
    original = getattr(registry, "_load_data", None)
    if registry is None or not callable(original) or getattr(registry, "_is_data_loaded", True):
        return None

    def timed_load() -> Any:
        loading = not getattr(registry, "_is_data_loaded", True)
        if loading:
            marks.mark(REGISTRY_START)
        try:
            return original()
        finally:
            if loading and getattr(registry, "_is_data_loaded", False):
                marks.mark(REGISTRY_END)

    registry._load_data = timed_load

    def undo() -> None:
        if registry.__dict__.get("_load_data") is timed_load:
            del registry._load_data

    return undo
