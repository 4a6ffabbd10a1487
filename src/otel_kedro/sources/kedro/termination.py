"""SIGTERM ends a run the way Ctrl-C does: spans, metrics and con-duct files are completed, and
then the process still dies of SIGTERM, so whoever sent it sees exactly what they would have seen.

Python's default SIGTERM action kills the process without running any cleanup. While a run is
active (and only if nobody else installed a handler), this handler completes the files on a
helper thread, waiting at most a few seconds (the interrupted main thread may hold a lock the
cleanup needs), restores the default action and sends the signal again.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Final

_CLEANUP_WAIT_S: Final = 5.0


class TerminationGuard:
    """Installs and removes the SIGTERM handler around the runs of one process."""

    def __init__(self, on_terminate: Callable[[int], None]) -> None:
        self._on_terminate = on_terminate
        self._owner = os.getpid()
        self._installed = False

    def install(self) -> None:
        """Handle SIGTERM from now on, unless the application handles it already."""
        if (
            self._installed
            or not hasattr(signal, "SIGKILL")  # POSIX only: Windows has no catchable SIGTERM
            or threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
        ):
            return
        self._owner = os.getpid()
        signal.signal(signal.SIGTERM, self._handle)
        self._installed = True

    def uninstall(self) -> None:
        """Give SIGTERM back its default action, if the handler is still ours."""
        if not self._installed or threading.current_thread() is not threading.main_thread():
            return
        self._installed = False
        if signal.getsignal(signal.SIGTERM) == self._handle:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)

    def _handle(self, signum: int, frame: FrameType | None) -> None:  # noqa: ARG002 - signal API
        signal.signal(signum, signal.SIG_DFL)
        if os.getpid() == self._owner:  # a forked worker inherits the handler, not the runs
            worker = threading.Thread(
                target=self._complete, args=(signum,), name="otel-kedro-sigterm", daemon=True
            )
            worker.start()
            worker.join(_CLEANUP_WAIT_S)
        os.kill(os.getpid(), signum)

    def _complete(self, signum: int) -> None:
        try:
            self._on_terminate(signum)
        except Exception:  # noqa: BLE001 - the process is ending; nothing may stop that
            from otel_kedro.diagnostics import logger

            logger.debug("otel-kedro: cleanup on SIGTERM failed", exc_info=True)
