"""Where a wrapped command's stdout and stderr go, as duct's ``--capture-outputs``/``--outputs``.

Captured and shown (the default): the command writes into the log file, and a thread copies
what it appends to our own stream every 10 ms, as duct's ``TailPipe`` does, so the file holds
exactly the command's bytes. Captured only: the file. Shown only: the command inherits our
stream, and with it the terminal (colours, progress bars). Neither: ``/dev/null``.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, BinaryIO, Final

TAIL_CYCLE: Final = 0.01  # seconds between copies, as duct's TailPipe


class Tee:
    """Copies what is appended to a file onto a binary stream until closed."""

    def __init__(self, path: str, sink: BinaryIO) -> None:
        self._source = Path(path).open("rb")  # noqa: SIM115 - closed by close()
        self._sink = sink
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="otel-kedro-tee", daemon=True)
        self._thread.start()

    def _catch_up(self) -> None:
        data = self._source.read()
        if data:
            try:
                self._sink.write(data)
                self._sink.flush()
            except (OSError, ValueError):  # our own stream is gone (a closed pipe): keep the file
                self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(TAIL_CYCLE):
            self._catch_up()

    def close(self) -> None:
        """Copy the rest and stop."""
        self._stop.set()
        self._thread.join()
        self._catch_up()
        self._source.close()


class ChildOutput:
    """The stream a child gets for one of stdout/stderr, and what to close after it exits."""

    def __init__(self, path: str, *, capture: bool, show: bool, sink: BinaryIO | None) -> None:
        self.target: IO[bytes] | int | None
        self._file: IO[bytes] | None = None
        self._tee: Tee | None = None
        if capture:
            self._file = Path(path).open("wb")  # noqa: SIM115 - closed by close()
            self.target = self._file
            if show and sink is not None:
                self._tee = Tee(path, sink)
        elif show:
            self.target = None  # inherited: the terminal stays the child's
        else:
            self.target = subprocess.DEVNULL

    def close(self) -> None:
        """After the child exited: copy what is left, release the file."""
        if self._tee is not None:
            self._tee.close()
        if self._file is not None:
            self._file.close()


def child_outputs(
    paths: tuple[str, str], capture: str, show: str
) -> tuple[ChildOutput, ChildOutput]:
    """The child's stdout and stderr for ``--capture-outputs capture --outputs show`` (each
    all, none, stdout or stderr).
    """

    def has(value: str, name: str) -> bool:
        return value in {"all", name}

    return (
        ChildOutput(
            paths[0],
            capture=has(capture, "stdout"),
            show=has(show, "stdout"),
            sink=_binary(sys.stdout),
        ),
        ChildOutput(
            paths[1],
            capture=has(capture, "stderr"),
            show=has(show, "stderr"),
            sink=_binary(sys.stderr),
        ),
    )


def _binary(stream: object) -> BinaryIO | None:
    buffer = getattr(stream, "buffer", None)
    return buffer if buffer is not None else None
