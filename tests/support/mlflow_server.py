"""MLflow as a real OTLP traces backend for tests: a cached private install and a served instance.

MLflow (>= 3.6) ingests OTLP/HTTP traces at ``/v1/traces`` into the experiment named by the
``x-mlflow-experiment-id`` header, given a SQL backend store. It pins versions that clash with
ours, so it lives in its own virtual environment, built once per machine under a lock and reused
by later runs (:mod:`tests.support.tool_venv`). Traces are read back with MLflow's own
client, run by that environment's interpreter (``mlflow_read_traces.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.served import OPENER, QUIET, LoopbackServer, free_ports
from tests.support.tool_venv import ToolUnavailableError, cache_dir, ensure_tool_venv

# The OTLP route, the experiment header and the client calls below were checked against this.
MLFLOW_SPEC = "mlflow==3.17.2"
VENV_OVERRIDE = "MLFLOW_TEST_VENV"
EXPERIMENT_HEADER = "x-mlflow-experiment-id"
_READ_SCRIPT = Path(__file__).with_name("mlflow_read_traces.py")
# MLflow's own telemetry (3.x) and any tracking-server lookups stay on this machine.
_MLFLOW_QUIET = {**QUIET, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}


MlflowUnavailableError = ToolUnavailableError


def venv_path() -> Path:
    """Where the MLflow environment is cached: ``$MLFLOW_TEST_VENV`` or the user cache."""
    if os.environ.get(VENV_OVERRIDE):
        return Path(os.environ[VENV_OVERRIDE])
    return cache_dir() / "mlflow-venv"


def ensure_mlflow(venv: Path | None = None, timeout: float = 1500) -> Path:
    """The Python interpreter of a ready MLflow environment, installing it first if needed."""
    venv = venv_path() if venv is None else venv
    return ensure_tool_venv(venv, (MLFLOW_SPEC,), "mlflow", timeout) / "python"


class MlflowServer(LoopbackServer):
    """``mlflow server`` on a free loopback port with a private SQLite store and artifact root."""

    name = "mlflow server"

    def __init__(self, python: Path, workdir: Path) -> None:
        super().__init__(workdir)
        self.python = python
        (self.port,) = free_ports(1)

    @property
    def url(self) -> str:
        """Base URL of the tracking server (REST API, UI and OTLP at ``/v1/traces``)."""
        return f"http://127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "OTEL_"))}
        env.update(_MLFLOW_QUIET)
        return env

    def start(self, timeout: float = 240) -> None:
        """Start the server and wait until it answers its health check."""
        command = [
            str(self.python), "-m", "mlflow", "server",
            "--backend-store-uri", f"sqlite:///{self.workdir / 'mlflow.db'}",
            "--artifacts-destination", str(self.workdir / "artifacts"),
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
        ]  # fmt: skip
        self.launch(command, self._env())
        self.wait_ready(f"{self.url}/health", timeout)

    def create_experiment(self, name: str) -> str:
        """A new experiment's id, through the REST API."""
        request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
            f"{self.url}/api/2.0/mlflow/experiments/create",
            data=json.dumps({"name": name}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with OPENER.open(request, timeout=30) as response:
            return str(json.load(response)["experiment_id"])

    def traces(self, experiment_id: str) -> list[dict[str, Any]]:
        """Every trace of the experiment as MLflow's client returns it (``search_traces`` then
        ``get_trace``), each ``{"trace_id", "spans": [{span_id, trace_id, parent_id, name,
        status}]}``.
        """
        read = subprocess.run(
            [str(self.python), str(_READ_SCRIPT), self.url, experiment_id],
            capture_output=True, text=True, timeout=300, env=self._env(), check=False,
        )  # fmt: skip
        if read.returncode != 0:
            raise RuntimeError(f"reading MLflow traces failed:\n{read.stderr[-3000:]}")
        traces: list[dict[str, Any]] = json.loads(read.stdout)
        return traces
