"""otel-kedro side by side with what a Kedro user would pick instead, in one run (not a test: run
it on demand).

    .venv/bin/python benchmarks/alternatives.py STARTER [--rounds 5] [--nodes 500] [--work DIR]

STARTER is a local copy of the public kedro-starters repository (or of its
``spaceflights-pandas`` folder), not vendored here; for example::

    git -C kedro-starters archive HEAD spaceflights-pandas | tar -x -C /tmp/starters

Five ways to run the same project, each in its own virtual environment built like
``benchmarks/partial_run.py`` does it: the first holds Kedro and the starter's requirements
(without notebook tools and kedro-viz), its exact versions become the constraints of every other
one, and each other venv adds only the alternative's own package(s):

- ``no plugin``: ``kedro run``, nothing else installed;
- ``otel-kedro``: this plugin, with its defaults;
- ``kedro-viz``: Kedro-Viz, whose ``kedro.hooks`` entry points record the run for its Workflow
  view (node status and duration, dataset sizes) in the project's ``.viz`` folder;
- ``hand-written OTel``: the OpenTelemetry SDK and ``opentelemetry-exporter-otlp-json-file``,
  and the hook in ``HANDWRITTEN_HOOK`` appended to the project's ``settings.py`` (a span per
  node under a span for the run, ``BatchSpanProcessor``, OTLP JSON lines in a file);
- ``duct``: ``duct kedro run``, con-duct from its own venv (the baseline's plus con-duct)
  wrapping the baseline venv's ``kedro``, with its defaults.

Two projects: a generated chain of ``--nodes`` trivial nodes (as ``benchmarks/overhead.py``) and
the spaceflights-pandas starter (``kedro new --starter``, whole default pipeline). Each
alternative gets its own copy of each project, so no tool reads another's files. After one
warm-up run of each (byte-code, file caches, the starter's intermediate data), every round runs
every alternative once per project, in an order rotated by one place each round.

Each run is a fresh child of this process, reaped with ``os.wait4``: its wall time, its CPU
time (user + system of the child and every descendant it waited for) and ``ru_maxrss`` (the
peak RSS of the largest single process of the tree). A thread also sums the RSS of the live
tree every 50 ms (psutil), since a wrapper's own process lives beside the one it wraps; that
sampled peak can miss a spike shorter than its interval. Medians, and ratios of medians to
``no plugin``.

Environment of every run: ``KEDRO_DISABLE_TELEMETRY=1``, and ``HTTP(S)_PROXY`` pointing at a
refused loopback port (``NO_PROXY=127.0.0.1,localhost``) so that nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from _venvs import freeze_names, run, venv  # noqa: E402
from partial_run import _requirements, spaceflights_project  # noqa: E402
from tests.support.kedro_projects import write_chain_project  # noqa: E402

ALTERNATIVES = ("no plugin", "otel-kedro", "kedro-viz", "hand-written OTel", "duct")
_FOLDERS = {
    "no plugin": "venv-base",
    "otel-kedro": "venv-otel-kedro",
    "kedro-viz": "venv-kedro-viz",
    "hand-written OTel": "venv-handwritten",
    "duct": "venv-duct",
}
# What each alternative's venv adds to the baseline (the plugin is added from its source).
_PACKAGES = {
    "kedro-viz": ["kedro-viz"],
    "hand-written OTel": ["opentelemetry-sdk", "opentelemetry-exporter-otlp-json-file"],
    "duct": ["con-duct"],
}
_SAMPLE_INTERVAL = 0.05

# The minimal hook people paste into settings.py: one provider with a BatchSpanProcessor, a span
# for the run and one per node, written as OTLP JSON lines by the SDK's file exporter.
HANDWRITTEN_HOOK = """

# --- hand-written OpenTelemetry tracing (benchmarks/alternatives.py) ---
from opentelemetry import trace  # noqa: E402
from opentelemetry.exporter.otlp.json.file import FileSpanExporter  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: E402

from kedro.framework.hooks import hook_impl  # noqa: E402

_provider = TracerProvider(resource=Resource.create({"service.name": "kedro"}))
_provider.add_span_processor(BatchSpanProcessor(FileSpanExporter(__EXPORTER_ARGS__)))
trace.set_tracer_provider(_provider)
_tracer = trace.get_tracer("kedro")


class OTelHooks:
    def __init__(self):
        self._run = None
        self._nodes = {}

    @hook_impl
    def before_pipeline_run(self, run_params):
        attributes = {"kedro.run_id": run_params["run_id"]}
        self._run = _tracer.start_span("kedro run", attributes=attributes)

    @hook_impl
    def before_node_run(self, node):
        context = trace.set_span_in_context(self._run)
        self._nodes[node.name] = _tracer.start_span(node.name, context=context)

    @hook_impl
    def after_node_run(self, node):
        self._nodes.pop(node.name).end()

    @hook_impl
    def on_node_error(self, error, node):
        span = self._nodes.pop(node.name)
        span.record_exception(error)
        span.set_status(trace.Status(trace.StatusCode.ERROR))
        span.end()

    @hook_impl
    def after_pipeline_run(self):
        self._run.end()
        _provider.force_flush()

    @hook_impl
    def on_pipeline_error(self, error):
        self._run.record_exception(error)
        self._run.set_status(trace.Status(trace.StatusCode.ERROR))
        self._run.end()
        _provider.force_flush()


HOOKS = (OTelHooks(),)
"""


@dataclass
class Side:
    """One alternative: its command prefix, its project copies and its measurements."""

    name: str
    bin: Path
    command: list[str]
    path: str = ""  # prepended to PATH (duct execs ``con-duct`` from PATH)
    projects: dict[str, Path] = field(default_factory=dict)
    wall: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)
    maxrss: dict[str, list[float]] = field(default_factory=dict)
    tree_rss: dict[str, list[float]] = field(default_factory=dict)


def _refused_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(proxy_port: int) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OTEL_", "KEDRO_", "VIRTUAL_ENV", "PYTHONPATH", "DUCT_"))
        and key not in ("DO_NOT_TRACK", "TRACEPARENT", "TRACESTATE")
    }
    proxy = f"http://127.0.0.1:{proxy_port}"
    env.update(
        KEDRO_DISABLE_TELEMETRY="1",
        PYTHONWARNINGS="ignore",
        HTTP_PROXY=proxy,
        HTTPS_PROXY=proxy,
        http_proxy=proxy,
        https_proxy=proxy,
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    return env


def _pip(bin_folder: Path, *args: str) -> None:
    run([str(bin_folder / "python"), "-m", "pip", "install", "-q", *args])


def build_venvs(starter: Path, work: Path, plugin: Path) -> tuple[Path, dict[str, Path]]:
    """The spaceflights project (generated once) and each alternative's venv ``bin`` folder."""
    kedro_version = metadata.version("kedro")
    base = venv(work / _FOLDERS["no plugin"])
    _pip(base, f"kedro=={kedro_version}")
    project = spaceflights_project(starter, work, base, _env(_refused_port()))
    requirements = _requirements(project, work)
    _pip(base, "-r", str(requirements), f"kedro=={kedro_version}")
    constraints = work / "constraints.txt"
    constraints.write_text(
        subprocess.run(
            [str(base / "python"), "-m", "pip", "freeze"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    bins = {"no plugin": base}
    for name in ALTERNATIVES[1:]:
        folder = venv(work / _FOLDERS[name])
        _pip(folder, "-r", str(requirements), "-c", str(constraints))
        if name == "otel-kedro":
            _pip(folder, "--force-reinstall", "--no-deps", str(plugin))
            _pip(folder, str(plugin), "-c", str(constraints))
        else:
            _pip(folder, *_PACKAGES[name], "-c", str(constraints))
        bins[name] = folder
    baseline = set(freeze_names(base))
    for name in ALTERNATIVES[1:]:
        extra = sorted(set(freeze_names(bins[name])) - baseline)
        print(f"{name}: {len(extra)} packages beyond the baseline: {', '.join(extra)}")
    return project, bins


def versions(bins: dict[str, Path]) -> dict[str, str]:
    """The installed version of each alternative's own package(s), and of Kedro and Python."""
    wanted = {
        "no plugin": ["kedro", "kedro-datasets"],
        "otel-kedro": ["otel-kedro", "opentelemetry-sdk"],
        "kedro-viz": ["kedro-viz"],
        "hand-written OTel": ["opentelemetry-sdk", "opentelemetry-exporter-otlp-json-file"],
        "duct": ["con-duct"],
    }
    found = {}
    for name, packages in wanted.items():
        listed = subprocess.run(
            [str(bins[name] / "python"), "-m", "pip", "list", "--format=freeze"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        pins = {
            line.split("==")[0].lower().replace("_", "-"): line.split("==")[1]
            for line in listed
            if "==" in line
        }
        found[name] = ", ".join(f"{p} {pins.get(p, 'MISSING')}" for p in packages)
    python = subprocess.run(
        [str(bins["no plugin"] / "python"), "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    found["no plugin"] += f", Python {python}"
    return found


def _project_copies(work: Path, spaceflights: Path, nodes: int) -> dict[str, dict[str, Path]]:
    """A private copy of each project per alternative; the hand-written hook in its copies."""
    copies: dict[str, dict[str, Path]] = {}
    for name in ALTERNATIVES:
        folder = work / "projects" / _FOLDERS[name].removeprefix("venv-")
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        chain = write_chain_project(folder, nodes)
        flights = folder / "spaceflights"
        shutil.copytree(spaceflights, flights)
        if name == "hand-written OTel":
            for project in (chain, flights):
                settings = next((project / "src").glob("*/settings.py"))
                target = repr(str(project / "otel-traces.jsonl"))
                hook = HANDWRITTEN_HOOK.replace("__EXPORTER_ARGS__", target)
                settings.write_text(settings.read_text() + hook)
        copies[name] = {"chain": chain, "spaceflights": flights}
    return copies


def _tree_rss(pid: int, peak: list[int], done: threading.Event) -> None:
    """Sum the RSS of ``pid`` and its descendants until ``done``; the peak goes in ``peak[0]``."""
    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    while not done.is_set():
        total = 0
        try:
            members = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        for member in members:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += member.memory_info().rss
        peak[0] = max(peak[0], total)
        done.wait(_SAMPLE_INTERVAL)


def run_once(side: Side, project: str, env: dict[str, str], log: Path) -> tuple[float, ...]:
    """Wall s, CPU s, ru_maxrss MB and sampled tree RSS peak MB of one run, which must succeed."""
    if side.path:
        env = {**env, "PATH": f"{side.path}{os.pathsep}{env.get('PATH', '')}"}
    with log.open("wb") as out:
        start = time.perf_counter()
        child = subprocess.Popen(
            side.command, cwd=side.projects[project], env=env, stdout=out, stderr=out
        )
        peak = [0]
        done = threading.Event()
        sampler = threading.Thread(target=_tree_rss, args=(child.pid, peak, done))
        sampler.start()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
    if child.returncode != 0:
        raise SystemExit(
            f"{side.name} on {project} exited {child.returncode}:\n{log.read_text()[-3000:]}"
        )
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss / 1024, peak[0] / 2**20


def sides(bins: dict[str, Path]) -> list[Side]:
    """Each alternative's command line (``duct`` wraps the baseline venv's ``kedro``)."""
    made = []
    for name in ALTERNATIVES:
        if name == "duct":
            command = [str(bins["duct"] / "duct"), str(bins["no plugin"] / "kedro"), "run"]
        else:
            command = [str(bins[name] / "kedro"), "run"]
        made.append(Side(name, bins[name], command, str(bins[name]) if name == "duct" else ""))
    return made


def _written(side: Side, project: str) -> str:
    """The files the alternative left in the project beside Kedro's own, after the warm-up."""
    root = side.projects[project]
    parts = []
    for top in (".viz", ".otel_kedro", "otel-traces.jsonl", ".duct"):
        path = root / top
        if path.exists():
            files = [path] if path.is_file() else [f for f in path.rglob("*") if f.is_file()]
            size = sum(f.stat().st_size for f in files)
            names = sorted({f.name for f in files})[:8]
            parts.append(f"{top}: {len(files)} files, {size / 1024:.0f} kB ({', '.join(names)})")
    return "; ".join(parts) or "nothing"


def measure(sides_: list[Side], rounds: int, env: dict[str, str], logs: Path) -> tuple[float, ...]:
    """Warm up, then ``rounds`` rounds in rotating order; returns the load averages."""
    projects = ("chain", "spaceflights")
    for side in sides_:
        for project in projects:
            run_once(side, project, env, logs / "warm.log")
            side.wall[project], side.cpu[project] = [], []
            side.maxrss[project], side.tree_rss[project] = [], []
    for side in sides_:
        for project in projects:
            print(f"  after warm-up, {side.name} on {project} wrote: {_written(side, project)}")
    load_before = os.getloadavg()
    for index in range(rounds):
        order = sides_[index % len(sides_) :] + sides_[: index % len(sides_)]
        for project in projects:
            for side in order:
                wall, cpu, maxrss, tree = run_once(side, project, env, logs / "run.log")
                side.wall[project].append(wall)
                side.cpu[project].append(cpu)
                side.maxrss[project].append(maxrss)
                side.tree_rss[project].append(tree)
        print(f"  round {index + 1}/{rounds} done, load {os.getloadavg()[0]:.2f}", flush=True)
    return load_before[0], os.getloadavg()[0]


def report(sides_: list[Side], nodes: int, rounds: int, loads: tuple[float, ...]) -> None:
    """Medians per alternative and ratios to ``no plugin``, per project."""
    titles = {
        "chain": f"kedro run, {nodes} trivial chained nodes",
        "spaceflights": "kedro run, spaceflights-pandas starter (whole default pipeline)",
    }
    base = sides_[0]
    for project, title in titles.items():
        print(f"\n{title}: medians of {rounds} rounds, rotating order")
        print(
            f"  {'alternative':<18} {'wall s':>7} {'ratio':>6} {'CPU s':>7} {'ratio':>6} "
            f"{'maxrss MB':>9} {'tree MB':>8}   wall times"
        )
        base_wall = statistics.median(base.wall[project])
        base_cpu = statistics.median(base.cpu[project])
        for side in sides_:
            wall = statistics.median(side.wall[project])
            cpu = statistics.median(side.cpu[project])
            print(
                f"  {side.name:<18} {wall:7.3f} {wall / base_wall:6.3f} {cpu:7.3f} "
                f"{cpu / base_cpu:6.3f} {statistics.median(side.maxrss[project]):9.1f} "
                f"{statistics.median(side.tree_rss[project]):8.1f}   "
                + ", ".join(f"{t:.2f}" for t in side.wall[project])
            )
        spread = (max(base.wall[project]) - min(base.wall[project])) / base_wall
        print(f"  noise: no-plugin wall spread {spread:.1%} of its median")
    print(
        f"\nload average {loads[0]:.2f} before the rounds, {loads[1]:.2f} after, "
        f"on {os.cpu_count()} cores"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("starter", type=Path, help="a local copy of kedro-starters")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of every alternative (>= 5)")
    parser.add_argument("--nodes", type=int, default=500, help="nodes of the generated chain")
    parser.add_argument("--work", type=Path, help="keep venvs and projects here (reused)")
    parser.add_argument("--plugin", type=Path, default=ROOT, help="otel-kedro source to install")
    args = parser.parse_args()
    if args.rounds < 5:
        parser.error("--rounds must be at least 5")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) if args.work is None else args.work.resolve()
        work.mkdir(parents=True, exist_ok=True)
        spaceflights, bins = build_venvs(args.starter.resolve(), work, args.plugin.resolve())
        for name, pinned in versions(bins).items():
            print(f"{name}: {pinned}")
        sides_ = sides(bins)
        copies = _project_copies(work, spaceflights, args.nodes)
        for side in sides_:
            side.projects = copies[side.name]
        logs = work / "logs"
        logs.mkdir(exist_ok=True)
        loads = measure(sides_, args.rounds, _env(_refused_port()), logs)
        report(sides_, args.nodes, args.rounds, loads)


if __name__ == "__main__":
    main()
