"""Arize Phoenix as a real OTLP backend for tests: a cached private install and a served instance.

Phoenix is large (~850 MB) and pins versions that clash with ours, so it lives in its own virtual
environment (:mod:`tests.support.tool_venv`).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.tool_venv import ToolUnavailableError, cache_dir, ensure_tool_venv

# The REST route read below (GET /v1/projects/{name}/spans) was checked against this release.
PHOENIX_SPEC = "arize-phoenix==20.26.1"
VENV_OVERRIDE = "PHOENIX_TEST_VENV"
# Nothing Phoenix does on its own may leave the machine: a refused proxy, loopback excepted.
_QUIET = {
    "PHOENIX_TELEMETRY_ENABLED": "false",
    "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "127.0.0.1,localhost",
}
# Talk to the local server directly, whatever proxy the test process has been given.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


PhoenixUnavailableError = ToolUnavailableError


def venv_path() -> Path:
    """Where the Phoenix environment is cached: ``$PHOENIX_TEST_VENV`` or the user cache."""
    if os.environ.get(VENV_OVERRIDE):
        return Path(os.environ[VENV_OVERRIDE])
    return cache_dir() / "phoenix-venv"


def ensure_phoenix(venv: Path | None = None, timeout: float = 1500) -> Path:
    """The ``phoenix`` executable of a ready environment, installing it first if needed."""
    venv = venv_path() if venv is None else venv
    return ensure_tool_venv(venv, (PHOENIX_SPEC,), "phoenix", timeout) / "phoenix"


def _free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (all held open while choosing, so they differ)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


class PhoenixServer:
    """``phoenix serve`` on loopback with free ports and a private SQLite working directory."""

    def __init__(self, executable: Path, workdir: Path) -> None:
        self.executable = executable
        self.workdir = workdir
        self.http_port, self.grpc_port = _free_ports(2)
        self.log = workdir / "phoenix.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def http_endpoint(self) -> str:
        """Base URL of the UI, REST API and OTLP over HTTP (``/v1/traces``)."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.grpc_port}"

    def start(self, timeout: float = 180) -> None:
        """Start the server and wait until it answers its health check."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOENIX_", "OTEL_"))}
        env.update(_QUIET)
        env.update(
            PHOENIX_HOST="127.0.0.1",
            PHOENIX_PORT=str(self.http_port),
            PHOENIX_GRPC_PORT=str(self.grpc_port),
            PHOENIX_WORKING_DIR=str(self.workdir),
        )
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                [str(self.executable), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, cwd=self.workdir,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"phoenix serve exited ({self._process.returncode}):\n"
                                   + self.log_tail())  # fmt: skip
            with (
                contextlib.suppress(OSError),
                _OPENER.open(f"{self.http_endpoint}/healthz", timeout=2) as response,
            ):
                if response.status == 200:
                    return
            time.sleep(0.25)
        raise RuntimeError(f"phoenix serve not ready after {timeout} s:\n{self.log_tail()}")

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
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def spans(self, project: str) -> list[dict[str, Any]]:
        """Every span Phoenix holds for ``project`` (REST, all pages); none if it has no such one."""
        spans: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            query = {"limit": "1000", **({"cursor": cursor} if cursor else {})}
            url = (
                f"{self.http_endpoint}/v1/projects/{urllib.parse.quote(project)}/spans?"
                + urllib.parse.urlencode(query)
            )
            try:
                with _OPENER.open(url, timeout=30) as response:
                    page = json.load(response)
            except urllib.error.HTTPError as error:
                if error.code == 404 and not spans:
                    return []  # the project appears with its first stored span
                raise
            spans.extend(page["data"])
            cursor = page.get("next_cursor")
            if not cursor:
                return spans

    def wait_for_spans(self, project: str, count: int, timeout: float = 60) -> list[dict[str, Any]]:
        """The project's spans once at least ``count`` are stored (Phoenix inserts in batches)."""
        deadline = time.monotonic() + timeout
        spans = self.spans(project)
        while len(spans) < count and time.monotonic() < deadline:
            time.sleep(0.25)
            spans = self.spans(project)
        return spans

    def __enter__(self) -> PhoenixServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
