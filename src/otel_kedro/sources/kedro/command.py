"""Kedro CLI hooks -> the command span (``kedro run …``), parent of the run span.

``before_command_run`` fires on every ``kedro`` command, even ``kedro --version``, so it only
notes the start time and the masked arguments: nothing is imported and no file is written. The
span itself is created when a run starts inside the command, and ended by ``after_command_run``
(or at interpreter exit when that hook does not fire, as with ``standalone_mode=False``).
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import threading
import time
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING

from otel_kedro import attributes as attr
from otel_kedro.processors.cli_args import (
    Vocabulary,
    command_path,
    kedro_vocabulary,
    mask_kedro_args,
)

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span, Tracer

    from otel_kedro.runs.tracing import Destination, TracingPipeline


UNKNOWN_EXIT = object()  # the command ended without after_command_run telling its exit code


@dataclasses.dataclass
class Command:
    """One ``kedro`` command of this process, from ``before_command_run`` to its exit."""

    start_ns: int
    raw_args: list[str]  # in memory only: never on a span, masked before anything records it
    pid: int
    span: Span | None = None
    destination: Destination | None = None
    pipeline: TracingPipeline | None = None

    def vocabulary(self) -> Vocabulary | None:
        """The invoked command's option vocabulary, from the click command running right now
        (built for that command only, never for every plugin's).
        """
        import click

        context = click.get_current_context(silent=True)
        if context is None:
            return None
        try:
            return kedro_vocabulary(context.find_root().command, self.raw_args)
        except Exception:  # noqa: BLE001 - a broken plugin command: mask conservatively instead
            return None

    def masked_args(self, vocabulary: Vocabulary | None, allow: Collection[str]) -> list[str]:
        """``kedro`` and the masked arguments."""
        return ["kedro", *mask_kedro_args(self.raw_args, vocabulary, allow)]


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

    def vocabulary(self) -> Vocabulary | None:
        """The running command's vocabulary, for the chains of the run it contains."""
        with self._lock:
            command = self._command
        if command is None or command.pid != os.getpid():
            return None
        return command.vocabulary()

    def span_context_for_run(
        self,
        tracer: Tracer,
        pipeline: TracingPipeline,
        destination: Destination,
        parent: Context | None,
        allow_args: Collection[str] = (),
    ) -> Context | None:
        """The context of the command span for a run starting now (created on first use), or
        None when this process is not running a ``kedro`` command.
        """
        from opentelemetry import trace
        from opentelemetry.context import Context

        with self._lock:
            command = self._command
            if command is None or command.pid != os.getpid():
                return None
            if command.span is None:
                masked = command.masked_args(command.vocabulary(), allow_args)
                name = f"{attr.COMMAND_SPAN_PREFIX} {command_path(masked[1:])}".strip()
                with pipeline.route_to(destination):
                    command.span = tracer.start_span(
                        name,
                        context=parent or Context(),
                        kind=trace.SpanKind.INTERNAL,
                        attributes={
                            attr.PROCESS_COMMAND_ARGS: masked,
                            attr.PROCESS_PID: command.pid,
                        },
                        start_time=command.start_ns,
                    )
                command.destination = destination
                command.pipeline = pipeline
                if not self._atexit_registered:
                    atexit.register(self.command_finished, UNKNOWN_EXIT)
                    self._atexit_registered = True
            return trace.set_span_in_context(command.span)

    def owns(self, destination: Destination) -> bool:
        """True when the command span writes to ``destination``, which it will then close."""
        with self._lock:
            command = self._command
            return command is not None and command.destination is destination

    def command_finished(self, exit_code: object) -> None:
        """End the command span with its exit code and close its destination."""
        from opentelemetry.trace import Status, StatusCode

        with self._lock:
            command = self._command
        if command is None or command.span is None or command.pid != os.getpid():
            return
        for callback in self._before_finish:
            callback()
        with self._lock:
            if self._command is not command:
                return
            self._command = None
        if exit_code is not UNKNOWN_EXIT:
            code = _exit_code(exit_code)
            command.span.set_attribute(attr.PROCESS_EXIT_CODE, code)
            if code != 0:
                command.span.set_status(Status(StatusCode.ERROR, f"exit code {code}"))
        command.span.end()
        if command.pipeline is not None and command.destination is not None:
            if exit_code is not UNKNOWN_EXIT:
                from otel_kedro.exporters.conduct import record_exit_code

                record_exit_code(command.destination.folder, _exit_code(exit_code))
            command.pipeline.close(command.destination)


def _exit_code(value: object) -> int:
    """``SystemExit.code`` as a process exit code: None is 0, text is 1 (as Python does)."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    return 1


RECORDER = CommandRecorder()
