"""Tools that tests run but the project does not depend on (Phoenix, DataLad, MLflow…): each in
its own virtual environment, built once per machine under a lock and reused by later runs.

They pin versions that clash with ours, or are large, so they never enter the test environment.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

_READY_MARKER = "otel-kedro-installed.txt"
# pip's words for "the package index could not be reached", as opposed to a broken install.
_OFFLINE_SIGNS = (
    "(from versions: none)",
    "NewConnectionError",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "Connection broken",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "ProxyError",
)


class ToolUnavailableError(Exception):
    """pip could not fetch the tool (no network to the package index)."""


def cache_dir() -> Path:
    """Where tool environments are cached: the user cache (``XDG_CACHE_HOME`` honoured)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "otel-kedro-tests"


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _is_ready(venv: Path, specs: tuple[str, ...], module: str) -> bool:
    """Installed by us with today's specs, and its interpreter still finds ``module``.

    Locating the package (not importing it, which can take seconds) proves the interpreter and
    the install are intact; using the tool proves the rest.
    """
    marker = venv / _READY_MARKER
    if not marker.is_file() or marker.read_text().split() != list(specs):
        return False
    probe = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        found = subprocess.run([_python(venv), "-c", probe], capture_output=True, timeout=60)
        return found.returncode == 0
    return False


def ensure_tool_venv(
    venv: Path, specs: tuple[str, ...], module: str, timeout: float = 1500
) -> Path:
    """The ``bin`` folder of a ready environment holding ``specs``, installing it if needed.

    Concurrent callers (pytest-xdist workers, parallel CI jobs) take turns on a lock file; the
    first installs, the others then find the environment ready.
    """
    venv.parent.mkdir(parents=True, exist_ok=True)
    with venv.with_name(venv.name + ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _is_ready(venv, specs, module):
            _install(venv, specs, timeout)
    return venv / "bin"


def _install(venv: Path, specs: tuple[str, ...], timeout: float) -> None:
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = subprocess.run(
        [str(_python(venv)), "-m", "pip", "install", "-q", "--disable-pip-version-check", *specs],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    if pip.returncode != 0:
        output = pip.stdout + pip.stderr
        shutil.rmtree(venv, ignore_errors=True)
        if any(sign in output for sign in _OFFLINE_SIGNS):
            raise ToolUnavailableError(f"pip cannot fetch {' '.join(specs)}: {output[-600:]}")
        raise RuntimeError(f"pip install {' '.join(specs)} failed:\n{output[-4000:]}")
    (venv / _READY_MARKER).write_text("\n".join(specs) + "\n")
