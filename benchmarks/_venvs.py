"""Two virtual environments that differ only by the plugin: the physical baseline of a benchmark.

Not ``OTEL_SDK_DISABLED`` and not one venv with the plugin's entry points switched off: Kedro scans
entry points and pluggy imports every registered hook module on every command, and
``OTEL_SDK_DISABLED`` leaves the imports and the hook calls in place, so only a venv without the
package measures what the plugin costs. The second venv gets the first one's exact package
versions as constraints, then ``pip install`` of the plugin source, so the two differ by the plugin
and its own dependencies only (printed). Both venvs are kept in the work folder and reused by the
next invocation; the plugin is reinstalled every time, so ``--plugin`` may change between them.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclasses.dataclass(frozen=True)
class VenvPair:
    """The ``bin`` folders of the venv without the plugin and of the one with it."""

    without: Path
    with_plugin: Path


def bench_env(**extra: str) -> dict[str, str]:
    """This process's environment without anything that steers otel-kedro, Kedro or a venv;
    kedro-telemetry off (it would reach for the network) and warnings silent.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OTEL_", "KEDRO_", "VIRTUAL_ENV", "PYTHONPATH", "TRACEPARENT"))
    }
    env["KEDRO_DISABLE_TELEMETRY"] = "1"
    env["PYTHONWARNINGS"] = "ignore"
    env.update(extra)
    return env


@dataclasses.dataclass(frozen=True)
class Measured:
    """One command's wall time, the CPU time (user + system) of its process tree, and the
    largest maximum RSS among the command and the descendants it reaped, in bytes.
    """

    wall_s: float
    cpu_s: float
    tree_max_rss: int


def measured(
    argv: Sequence[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> Measured:
    """Run ``argv`` to its end and measure it through ``os.wait4`` (the kernel's accounting of
    the child and every descendant it waited for); stop the benchmark if it fails.
    """
    with tempfile.TemporaryFile() as output:
        start = time.perf_counter()
        process = subprocess.Popen(list(argv), cwd=cwd, env=env, stdout=output, stderr=output)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            output.seek(0)
            tail = output.read().decode(errors="replace")[-5000:]
            raise SystemExit(f"{' '.join(argv)} failed ({process.returncode}):\n{tail}")
    return Measured(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024)


def run(argv: Sequence[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    """Run ``argv``; on failure stop the benchmark with the tail of its output."""
    result = subprocess.run(
        list(argv), cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        output = result.stdout[-2000:] + result.stderr[-3000:]
        raise SystemExit(f"{' '.join(argv)} failed:\n{output}")


def venv(folder: Path) -> Path:
    """A venv at ``folder`` (reused when it exists, created with this interpreter otherwise);
    its ``bin`` folder.
    """
    if not (folder / "bin" / "python").exists():
        run([sys.executable, "-m", "venv", str(folder)])
        run([str(folder / "bin" / "python"), "-m", "pip", "install", "-q", "-U", "pip"])
    return folder / "bin"


def freeze_names(bin_folder: Path) -> list[str]:
    """The normalised names of the packages installed in a venv."""
    out = subprocess.run(
        [str(bin_folder / "python"), "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line.split("==")[0].lower().replace("_", "-") for line in out.splitlines() if line]


def installable(plugin: Path, work: Path) -> Path:
    """What ``pip install`` takes for ``plugin``: a checkout (with ``pyproject.toml``) as it is;
    a ``src`` folder of a checkout as that checkout; a bare ``src`` tree (holding
    ``otel_kedro/``) staged in ``work`` with this checkout's packaging files.
    """
    if (plugin / "pyproject.toml").is_file():
        return plugin
    if not (plugin / "otel_kedro").is_dir():
        raise SystemExit(
            f"--plugin {plugin}: neither a checkout of otel-kedro (no pyproject.toml) nor a src "
            "tree (no otel_kedro/ in it); pass the folder that holds one of them."
        )
    if (plugin.parent / "pyproject.toml").is_file():
        return plugin.parent
    staged = work / "plugin-staged"
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, staged / name)
    shutil.copytree(plugin, staged / "src", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return staged


def build_pair(work: Path, plugin: Path, requirements: Sequence[str]) -> VenvPair:
    """Both venvs under ``work``: ``requirements`` (pip arguments, e.g. ``kedro==1.7.0`` or
    ``-r FILE``) installed into the first; the same versions plus the plugin into the second.
    """
    without = venv(work / "venv-without")
    run([str(without / "python"), "-m", "pip", "install", "-q", *requirements])
    constraints = work / "constraints.txt"
    frozen = subprocess.run(
        [str(without / "python"), "-m", "pip", "freeze"], capture_output=True, text=True, check=True
    ).stdout
    constraints.write_text(frozen)
    with_plugin = venv(work / "venv-with")
    pip_with = [str(with_plugin / "python"), "-m", "pip", "install", "-q"]
    run([*pip_with, *requirements, "-c", str(constraints)])
    source = str(installable(plugin, work))
    run([*pip_with, "--force-reinstall", "--no-deps", source])
    run([*pip_with, source, "-c", str(constraints)])  # the plugin's own dependencies
    extra = set(freeze_names(with_plugin)) - set(freeze_names(without))
    if "otel-kedro" not in extra:
        raise SystemExit(f"the plugin is not installed in {with_plugin.parent}")
    missing = set(freeze_names(without)) - set(freeze_names(with_plugin))
    if missing:
        raise SystemExit(f"the plugin's venv lacks {', '.join(sorted(missing))}")
    print(f"packages only in the plugin's venv: {', '.join(sorted(extra))}")
    return VenvPair(without, with_plugin)
