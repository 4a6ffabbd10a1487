"""Kedro CLI hooks -> the command span (``kedro run …``), parent of the run span.

``before_command_run`` fires on every ``kedro`` command, even ``kedro --version``, so it only
notes the start time and the arguments: nothing is imported and no file is written. The span
itself is created when a run starts inside the command, with the arguments the composition root
masked (raw arguments never reach a span), and ended by ``after_command_run`` (or at interpreter
exit when that hook does not fire, as with ``standalone_mode=False``).
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from otel_kedro import attributes as attr
from otel_kedro.sources.kedro.startup import COMMAND, StartupMarks, process_start_ns

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span, Tracer


UNKNOWN_EXIT = object()  # the command ended without after_command_run telling its exit code


class Command:
    """One ``kedro`` command of this process, from ``before_command_run`` to its exit.

    A plain class rather than a dataclass: this module loads on every ``kedro`` command.
    """

    __slots__ = ("cleanups", "on_end", "pid", "raw_args", "span", "start_ns", "startup",
                 "vocabulary")  # fmt: skip

    def __init__(self, start_ns: int, raw_args: list[str], pid: int) -> None:
        self.start_ns = start_ns
        self.raw_args = raw_args  # in memory only: never on a span, masked before recorded
        self.pid = pid
        self.span: Span | None = None
        self.vocabulary: dict[str, Any] | None = None  # the invoked click command's, once read
        self.startup = StartupMarks()
        # Undo what start-up timing installed (the registry watch), when the command ends.
        self.cleanups: list[Callable[[], None]] = []
        # Called once with the exit code (None when unknown) after the span has ended.
        self.on_end: list[Callable[[int | None], None]] = []


class CommandRecorder:
    """Tracks the current command and ends its span exactly once."""

    def __init__(self) -> None:
        self._command: Command | None = None
        self._lock = threading.Lock()
        self._atexit_registered = False
        self._before_finish: list[Callable[[], None]] = []

    def add_before_finish(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` before the command span ends (e.g. to end runs that a Ctrl-C
        interrupted, which Kedro reports to no hook), so they land in the same files.
        """
        self._before_finish.append(callback)

    def command_started(self, command_args: Sequence[str]) -> None:
        """Note a command's start; cheap enough for ``kedro --version``."""
        with self._lock:
            self._command = Command(
                start_ns=time.time_ns(), raw_args=list(command_args), pid=os.getpid()
            )
            self._command.startup.mark(COMMAND, self._command.start_ns)

    def mark(self, name: str) -> Command | None:
        """Note a start-up instant of the running command; the command, if there is one."""
        command = self.current()
        if command is not None:
            command.startup.mark(name)
        return command

    def current(self) -> Command | None:
        """The running command of this process, if any (not one a forked worker inherited)."""
        with self._lock:
            command = self._command
        if command is None or command.pid != os.getpid():
            return None
        return command

    def span_context_for_run(
        self,
        tracer: Tracer,
        parent: Context | None,
        masked_args: Sequence[str],
        name: str,
        on_end: Callable[[int | None], None],
    ) -> Context | None:
        """The context of the command span for a run starting now (created on first use with
        ``masked_args`` and ``name``; ``on_end`` is called when it has ended), or None when this
        process is not running a ``kedro`` command.
        """
        from opentelemetry import trace
        from opentelemetry.context import Context

        with self._lock:
            command = self._command
            if command is None or command.pid != os.getpid():
                return None
            if command.span is None:
                command.span = tracer.start_span(
                    name,
                    context=parent or Context(),
                    kind=trace.SpanKind.INTERNAL,
                    attributes={
                        attr.PROCESS_COMMAND_ARGS: list(masked_args),
                        attr.PROCESS_PID: command.pid,
                    },
                    # From the process's start when it is the kedro command: the start-up phases
                    # (the first of which precedes before_command_run) are its children.
                    start_time=min(command.start_ns, process_start_ns() or command.start_ns),
                )
                command.on_end.append(on_end)
                if not self._atexit_registered:
                    atexit.register(self.command_finished, UNKNOWN_EXIT)
                    self._atexit_registered = True
            return trace.set_span_in_context(command.span)

    def command_finished(self, exit_code: object) -> None:
        """End the command span with its exit code, then call its ``on_end`` callbacks."""
        with self._lock:
            command = self._command
        if command is None or command.pid != os.getpid():
            return
        for cleanup in command.cleanups:
            cleanup()
        command.cleanups.clear()
        if command.span is None:
            return
        from opentelemetry.trace import Status, StatusCode  # a span exists: loaded already

        for callback in self._before_finish:
            callback()
        with self._lock:
            if self._command is not command:
                return
            self._command = None
        code = None if exit_code is UNKNOWN_EXIT else _exit_code(exit_code)
        if code is not None:
            command.span.set_attribute(attr.PROCESS_EXIT_CODE, code)
            if code != 0:
                command.span.set_status(Status(StatusCode.ERROR, f"exit code {code}"))
        command.span.end()
        for on_end in command.on_end:
            on_end(code)


def _exit_code(value: object) -> int:
    """``SystemExit.code`` as a process exit code: None is 0, text is 1 (as Python does)."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    return 1
