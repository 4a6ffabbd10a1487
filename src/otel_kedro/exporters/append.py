"""Whole-line appends and atomic replacement of files, with the standard library alone.

Every writer of a run's files goes through these two: a stream whose every flush is one
``write(2)`` on an ``O_APPEND`` descriptor (ParallelRunner workers appending to one file never
interleave partial lines), and a JSON document replaced in one rename. They import nothing from
OpenTelemetry, so ``otel-kedro run`` writes con-duct's files without the SDK's import cost.
"""

from __future__ import annotations

import io
import json
import os
import threading
from pathlib import Path


class AtomicAppendStream(io.TextIOBase):
    """A text stream that buffers writes and appends them with one system call per flush."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        self._pending: list[str] = []
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The file this stream appends to."""
        return str(self._path)

    def writable(self) -> bool:
        """Always true: this stream only writes."""
        return True

    def write(self, text: str) -> int:
        """Buffer ``text`` until the next flush."""
        with self._lock:
            self._pending.append(text)
        return len(text)

    def flush(self) -> None:
        """Append everything buffered so far with a single ``write(2)``."""
        with self._lock:
            if not self._pending or self.closed:
                return
            data = "".join(self._pending).encode("utf-8")
            self._pending.clear()
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]

    def close(self) -> None:
        """Flush and release the descriptor."""
        if self.closed:
            return
        self.flush()
        os.close(self._fd)
        super().close()


def write_json_atomically(path: Path, document: object, *, indent: int | None = None) -> None:
    """Replace ``path`` with ``document`` as JSON in one rename, so a reader (or a concurrent
    writer in another process or thread) never sees half a file.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.write_text(json.dumps(document, indent=indent), encoding="utf-8")
    temporary.replace(path)
