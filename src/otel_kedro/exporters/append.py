"""Whole-line appends and atomic replacement of files, with the standard library alone.

Every writer of a run's files goes through these two: a stream whose every flush is one
``write(2)`` on an ``O_APPEND`` descriptor (ParallelRunner workers appending to one file never
interleave partial lines), and a JSON document replaced in one rename. They import nothing from
OpenTelemetry, so ``otel-kedro run`` writes con-duct's files without the SDK's import cost.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import threading
from pathlib import Path

if sys.platform != "win32":
    import fcntl


class AtomicAppendStream(io.TextIOBase):
    """A text stream that buffers writes and appends them as whole lines, one flush at a time.

    Each flush appends under an exclusive ``flock`` (writers in other processes, such as
    ParallelRunner workers, take it too), so the file's size before the write is where the
    flush starts. A write that fails or stops short (a full disk, ``ulimit -f``: ``EFBIG``, as
    Python ignores ``SIGXFSZ``) is cut back to that size, so the file never ends in half a line;
    the failure is one warning naming the file and the OS error, and :attr:`failure` keeps it.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        self._pending: list[str] = []
        self._lock = threading.Lock()
        self._released = False  # set under the lock, so no append races the descriptor's close
        self.failure: OSError | None = None

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

    def append(self, text: str) -> bool:
        """Write ``text`` (whole lines) and flush it; whether it reached the file."""
        with self._lock:
            if self._released:
                return False
            self._pending.append(text)
            return self._flush_locked()

    def flush(self) -> None:
        """Append everything buffered so far, whole or not at all (see the class)."""
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> bool:
        pending = self._pending
        if not pending or self._released:
            return not pending
        data = (pending[0] if len(pending) == 1 else "".join(pending)).encode("utf-8")
        pending.clear()
        descriptor = self._fd
        _lock_exclusive(descriptor)
        written = 0
        try:
            while written < len(data):
                written += os.write(descriptor, memoryview(data)[written:] if written else data)
        except OSError as error:
            # Appending under the lock: the file grew by exactly what this flush wrote (a
            # write that fails writes nothing), so its size before the flush is known.
            self._failed(os.fstat(descriptor).st_size - written, error)
            return False
        finally:
            _unlock(descriptor)
        return True

    def _failed(self, start: int, error: OSError) -> None:
        """Cut the file back to its last whole line and say so once."""
        with contextlib.suppress(OSError):  # shrinking a file we could open does not fail
            os.ftruncate(self._fd, start)
        first = self.failure is None
        self.failure = error
        _failures[self.name] = error
        if first:
            from otel_kedro.diagnostics import warn_once

            reason = f"[Errno {error.errno}] {error.strerror or error}"
            warn_once(
                f"cannot write {self._path}: {reason}; the file keeps only whole lines, and "
                "what did not fit is lost. Free space (or raise the file size limit) for the "
                "next runs."
            )

    def close(self) -> None:
        """Flush and release the descriptor."""
        with self._lock:
            if self._released:
                return
            self._flush_locked()
            self._released = True
            os.close(self._fd)
        super().close()


# Files a stream of this process failed to write, by path (what "trace written" must not claim).
_failures: dict[str, OSError] = {}


def write_failure(path: Path) -> OSError | None:
    """The error that made this process lose lines of ``path``, if any."""
    return _failures.get(str(path))


def _lock_exclusive(descriptor: int) -> None:
    """Take the file's ``flock`` (a plain function, not a context manager: every span and
    journal line goes through here).
    """
    if sys.platform != "win32":  # on Windows, threads are still serialised by the stream
        fcntl.flock(descriptor, fcntl.LOCK_EX)


def _unlock(descriptor: int) -> None:
    if sys.platform != "win32":
        fcntl.flock(descriptor, fcntl.LOCK_UN)


def write_json_atomically(path: Path, document: object, *, indent: int | None = None) -> None:
    """Replace ``path`` with ``document`` as JSON in one rename, so a reader (or a concurrent
    writer in another process or thread) never sees half a file.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        temporary.write_text(json.dumps(document, indent=indent), encoding="utf-8")
        temporary.replace(path)
    except OSError:
        temporary.unlink(missing_ok=True)  # a full disk leaves no half-written temporary
        raise
