"""Run Kedro projects the way users do, and build small generated ones, for tests and benchmarks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "retail-demo"
EXAMPLE_NODES = frozenset(
    {
        "check_quality",
        "clean_sales",
        "add_features",
        "aggregate_daily",
        "north.filter_region",
        "north.summarise_region",
        "south.filter_region",
        "south.summarise_region",
        "combine_reports",
        "simulate_forecast",
    }
)
BIN = Path(sys.executable).parent
SESSION_SCRIPT = Path(__file__).with_name("session_script.py")


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without anything that would steer otel-kedro or Kedro."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OTEL_", "KEDRO_", "_OTEL_KEDRO_", "TRACEPARENT", "TRACESTATE"))
        and key != "DO_NOT_TRACK"
    }
    env["KEDRO_DISABLE_TELEMETRY"] = "1"
    env["COLUMNS"] = "250"
    env["PYTHONWARNINGS"] = "ignore::DeprecationWarning"
    env.update(extra)
    return env


def copy_example(destination: Path) -> Path:
    """A private copy of the example project, so tests never share run folders or outputs."""
    target = destination / "retail-demo"
    shutil.copytree(
        EXAMPLE, target, ignore=shutil.ignore_patterns(".otel_kedro", "__pycache__", "*.pyc")
    )
    return target


def _run(
    argv: list[str], project: Path, env: dict[str, str] | None, timeout: float
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        cwd=project,
        env=clean_env() if env is None else env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_kedro(
    project: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``kedro <args>`` in ``project``, through the real CLI."""
    return _run([str(BIN / "kedro"), *args], project, env, timeout)


def run_session(
    project: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """A run through ``KedroSession`` from Python code (no CLI hooks), in a fresh interpreter."""
    return _run([sys.executable, str(SESSION_SCRIPT), str(project), *args], project, env, timeout)


def run_folders(project: Path) -> list[Path]:
    """Run folders under the project's default output directory, oldest first."""
    base = project / ".otel_kedro" / "runs"
    if not base.is_dir():
        return []
    return sorted((p for p in base.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime_ns)


def write_project(root: Path, package: str, registry_source: str) -> Path:
    """A minimal Kedro project whose ``pipeline_registry.py`` is ``registry_source``."""
    project = root / package
    (project / "conf" / "base").mkdir(parents=True)
    (project / "conf" / "local").mkdir()
    (project / "conf" / "base" / "catalog.yml").write_text("{}\n")
    (project / "conf" / "base" / "parameters.yml").write_text("{}\n")
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [tool.kedro]
            package_name = "{package}"
            project_name = "{package}"
            kedro_init_version = "1.7.0"
            source_dir = "src"
            """
        )
    )
    src = project / "src" / package
    src.mkdir(parents=True)
    (src / "__init__.py").write_text("")
    (src / "settings.py").write_text("")
    (src / "pipeline_registry.py").write_text(textwrap.dedent(registry_source))
    return project


def chain_registry(nodes: int) -> str:
    """Registry source for a chain of ``nodes`` trivial nodes (for overhead benchmarks)."""
    return f"""
        from kedro.pipeline import Pipeline, node, pipeline


        def step(value):
            return value + 1


        def register_pipelines():
            nodes = [node(step, "d0", "d1", name="n0")]
            nodes += [node(step, f"d{{i}}", f"d{{i + 1}}", name=f"n{{i}}") for i in range(1, {nodes})]
            default = pipeline(nodes)
            return {{"__default__": default}}
        """


def write_chain_project(root: Path, nodes: int, package: str = "chain") -> Path:
    """A project whose default pipeline is a chain of ``nodes`` trivial nodes, its first input
    ``d0`` a memory dataset holding 0 (for overhead and scale measurements)."""
    project = write_project(root, package, chain_registry(nodes))
    (project / "conf" / "base" / "catalog.yml").write_text(
        "d0:\n  type: MemoryDataset\n  data: 0\n"
    )
    return project


def layered_registry(nodes: int, width: int) -> str:
    """Registry source for ``nodes`` trivial nodes in layers of ``width``: each node reads two
    outputs of the layer before it (a pipeline shaped like a real one, for the report's scale).
    """
    return f"""
        from kedro.pipeline import Pipeline, node, pipeline


        def make():
            return 1


        def combine(left, right):
            return left + right


        def register_pipelines():
            width, total = {width}, {nodes}
            nodes = [node(make, None, f"d0_{{i}}", name=f"n0_{{i}}") for i in range(width)]
            layer = 1
            while len(nodes) < total:
                for i in range(min(width, total - len(nodes))):
                    inputs = [f"d{{layer - 1}}_{{i}}", f"d{{layer - 1}}_{{(i + 1) % width}}"]
                    nodes.append(
                        node(combine, inputs, f"d{{layer}}_{{i}}", name=f"n{{layer}}_{{i}}")
                    )
                layer += 1
            return {{"__default__": pipeline(nodes)}}
        """


PROBE_REGISTRY = """
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    from kedro.pipeline import node, pipeline
    from opentelemetry import trace


    def launch_child():
        '''Start a subprocess, as a node that calls an external tool does; keep what it saw.'''
        seen = subprocess.run(
            [sys.executable, "-c", "import os; print(os.environ.get('TRACEPARENT', ''))"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        out = os.environ.get("PROBE_OUT")
        if out:
            Path(out).write_text(seen)
        return seen


    def user_code(seen):
        '''User code with its own OpenTelemetry span, which should nest under the node span.'''
        with trace.get_tracer("user").start_as_current_span("user-work"):
            started = os.environ.get("PROBE_STARTED")
            if started:
                Path(started).write_text("started")
            time.sleep(float(os.environ.get("PROBE_SLEEP", "0")))
        return len(seen)


    def chunks(size):
        for index in range(3):
            yield index + size


    def register_pipelines():
        default = pipeline(
            [
                node(launch_child, None, "child_traceparent", name="launch_child"),
                node(user_code, "child_traceparent", "size", name="user_code"),
                node(chunks, "size", "chunked", name="chunks"),
                node(user_code, "child_traceparent", "size_b", name="user_code_b"),
                node(user_code, "child_traceparent", "size_c", name="user_code_c"),
            ]
        )
        return {"__default__": default}
"""
PROBE_NODES = frozenset({"launch_child", "user_code", "chunks", "user_code_b", "user_code_c"})


def remote_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a remote-export test: our consent given, kedro-telemetry silenced
    without the KEDRO_DISABLE_TELEMETRY veto, and any stray request sent to a refused proxy."""
    env = clean_env(
        OTEL_KEDRO_CONSENT="true",
        OTEL_KEDRO_CONFIG_DIR=str(tmp_path / "user-config"),
        OTEL_KEDRO_ANNOUNCE="false",
        # kedro-telemetry is refused by the example's .telemetry; anything that still tries to
        # leave the machine meets a refused loopback proxy.
        HTTPS_PROXY="http://127.0.0.1:9",
        HTTP_PROXY="http://127.0.0.1:9",
        NO_PROXY="127.0.0.1,localhost",
    )
    env.pop("KEDRO_DISABLE_TELEMETRY")  # a veto: it would turn remote export off
    env.update(extra)
    return env
