"""Arize Phoenix as a real OTLP backend for tests: a cached private install and a served instance.

Phoenix is large (~850 MB) and pins versions that clash with ours, so it lives in its own virtual
environment (:mod:`tests.support.tool_venv`).
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.served import OPENER, QUIET, LoopbackServer, free_ports
from tests.support.tool_venv import ToolUnavailableError, cache_dir, ensure_tool_venv

# The REST route read below (GET /v1/projects/{name}/spans) was checked against this release.
PHOENIX_SPEC = "arize-phoenix==20.26.1"
VENV_OVERRIDE = "PHOENIX_TEST_VENV"
# Nothing Phoenix does on its own may leave the machine: a refused proxy, loopback excepted.
_QUIET = {
    "PHOENIX_TELEMETRY_ENABLED": "false",
    "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
    **QUIET,
}


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


class PhoenixServer(LoopbackServer):
    """``phoenix serve`` on loopback with free ports and a private SQLite working directory."""

    name = "phoenix serve"

    def __init__(self, executable: Path, workdir: Path) -> None:
        super().__init__(workdir)
        self.executable = executable
        self.http_port, self.grpc_port = free_ports(2)

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
        self.launch([str(self.executable), "serve"], env)
        self.wait_ready(f"{self.http_endpoint}/healthz", timeout)

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
                with OPENER.open(url, timeout=30) as response:
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
