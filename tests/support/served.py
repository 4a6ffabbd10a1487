"""A server that a test runs on loopback: launched with its output in a log, ready when its health
route answers 200, stopped (killed if it lingers) when the test ends. Phoenix and MLflow use it.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import TypeVar

# Talk to local servers directly, whatever proxy the test process has been given.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# Nothing a served tool does on its own may leave the machine: a refused proxy, loopback excepted.
QUIET = {
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "127.0.0.1,localhost",
}


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (all held open while choosing, so they differ)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


_Server = TypeVar("_Server", bound="LoopbackServer")


class LoopbackServer:
    """Subclasses say how to start (``start``, through ``launch`` then ``wait_ready``)."""

    name = "server"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.log = workdir / f"{self.name.split()[0]}.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 180) -> None:
        """Start the server and wait until it answers its health check."""
        raise NotImplementedError

    def launch(self, command: list[str], env: dict[str, str]) -> None:
        """Start ``command`` in the working folder, its output going to the log."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, cwd=self.workdir,
            )  # fmt: skip

    def wait_ready(self, health_url: str, timeout: float) -> None:
        """Return once ``health_url`` answers 200; raise with the log's tail if the process
        exits first or ``timeout`` seconds pass.
        """
        assert self._process is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited ({self._process.returncode}):\n{self.log_tail()}"
                )
            with (
                contextlib.suppress(OSError),
                OPENER.open(health_url, timeout=2) as response,
            ):
                if response.status == 200:
                    return
            time.sleep(0.25)
        raise RuntimeError(f"{self.name} not ready after {timeout} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Terminate the server, killing it if it does not exit promptly."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=15)

    def log_tail(self, chars: int = 3000) -> str:
        """The end of what the server printed."""
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def __enter__(self: _Server) -> _Server:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
