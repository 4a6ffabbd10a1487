#!/usr/bin/env python3
"""The project's two commands, for a fresh clone on a machine with only Python.

python3 dev.py example   # install into .venv, run the example project, print where the trace is
python3 dev.py test      # install into .venv, then ruff, mypy --strict, import layers, all tests
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
EXAMPLE = ROOT / "examples" / "retail-demo"


def _run(*args: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    completed = subprocess.run([str(a) for a in args], cwd=cwd, env=env, check=False)
    if completed.returncode != 0:
        sys.exit(completed.returncode)


def _install(extra: str) -> None:
    if not (BIN / "python").exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-e", f"{ROOT}[{extra}]")  # fmt: skip


def example() -> None:
    """Run the example Kedro project with otel-kedro installed; it prints where its trace is."""
    _install("example")
    env = dict(os.environ)
    env.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
    _run(BIN / "kedro", "run", cwd=EXAMPLE, env=env)


def test() -> None:
    """Lint, type-check, check the import layers and run every test."""
    _install("test")
    _run(BIN / "ruff", "check", ".")
    _run(BIN / "ruff", "format", "--check", ".")
    _run(BIN / "mypy")
    _run(BIN / "lint-imports")
    args = sys.argv[2:]
    if args:
        _run(BIN / "python", "-m", "pytest", *_pytest_options(args), *args)
        return
    _run(BIN / "python", "-m", "pytest", *_pytest_options([]), "-m", "not alone")
    # Tests that time themselves or measure CPU run after the rest, with the machine to themselves
    # and without the coverage tracer, whose own CPU time would skew what they judge.
    _run(BIN / "python", "-m", "pytest", "-p", "no:xdist", "-m", "alone", "--no-cov")


def _pytest_options(args: list[str]) -> list[str]:
    """Two xdist workers and branch coverage of src/otel_kedro, unless ``args`` choose otherwise.

    ``--dist loadgroup`` sends each ``xdist_group`` (tests sharing a module fixture or timing
    themselves) to one worker and spreads every other test. Coverage includes the ``kedro run``
    children ([tool.coverage.run] in pyproject.toml); ``--no-cov`` or ``-p no:xdist`` opt out.
    """
    options: list[str] = []
    if not any(a.startswith(("-n", "--numprocesses")) or a.endswith("no:xdist") for a in args):
        workers = min(2, os.cpu_count() or 1)
        options += ["-n", str(workers), "--dist", "loadgroup"] if workers > 1 else []
    if "--no-cov" not in args and not any(a.startswith("--cov") for a in args):
        options += ["--cov", "--cov-branch", "--cov-report=term-missing:skip-covered"]
    return options


if __name__ == "__main__":
    commands = {"example": example, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: python3 {Path(__file__).name} {{example|test}} [pytest args]")
    commands[sys.argv[1]]()
