"""PromQL parsed by Prometheus' own grammar, for checking the Grafana dashboard's queries.

``@prometheus-io/lezer-promql`` (the parser of Prometheus' web UI) is installed from the npm
registry into a cached folder on first use, under a lock, as the Phoenix and MLflow tests do with
their servers; ``promql_parse.cjs`` runs it under Node.js.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Final

LEZER_SPEC: Final = "@prometheus-io/lezer-promql@0.315.0"
_PEERS: Final = ("@lezer/lr@1", "@lezer/highlight@1")
_SCRIPT: Final = Path(__file__).with_name("promql_parse.cjs")
_READY_MARKER: Final = "otel-kedro-installed.txt"
# Grafana's interval macros, replaced by a duration before parsing.
_MACROS: Final = ("$__rate_interval", "$__interval", "$__range")


class PromqlUnavailableError(Exception):
    """Node.js or npm is missing, or npm cannot reach its registry."""


@dataclasses.dataclass(frozen=True)
class Parsed:
    """What one expression names: syntax errors, metrics, matcher labels, and the labels of
    each ``by``/``without`` clause, outermost aggregation first."""

    errors: tuple[str, ...]
    metrics: tuple[str, ...]
    matchers: tuple[str, ...]
    grouping: tuple[tuple[str, ...], ...]


def cache_path() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "otel-kedro-tests" / "lezer-promql"


def ensure_parser(folder: Path | None = None) -> Path:
    """The folder holding the parser's ``node_modules``, installing it first if needed."""
    folder = cache_path() if folder is None else folder
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise PromqlUnavailableError("node and npm are needed to parse PromQL")
    folder.parent.mkdir(parents=True, exist_ok=True)
    with folder.with_name(folder.name + ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        marker = folder / _READY_MARKER
        if not (marker.is_file() and marker.read_text().strip() == LEZER_SPEC):
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            (folder / "package.json").write_text('{"private": true}\n')
            npm = subprocess.run(
                ["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", LEZER_SPEC,
                 *_PEERS],
                cwd=folder, capture_output=True, text=True, timeout=600, check=False,
            )  # fmt: skip
            if npm.returncode != 0:
                shutil.rmtree(folder, ignore_errors=True)
                raise PromqlUnavailableError(f"npm install {LEZER_SPEC}: {npm.stderr[-600:]}")
            marker.write_text(LEZER_SPEC + "\n")
    return folder


def parse(expressions: list[str], folder: Path) -> list[Parsed]:
    """Each expression parsed (Grafana's interval macros read as ``5m``)."""
    texts = list(expressions)
    for macro in _MACROS:
        texts = [text.replace(macro, "5m") for text in texts]
    env = {key: value for key, value in os.environ.items() if key != "NODE_OPTIONS"}
    env["LEZER_PROMQL_DIR"] = str(folder)
    result = subprocess.run(
        ["node", str(_SCRIPT)], input=json.dumps(texts), capture_output=True, text=True,
        timeout=120, check=True, env=env,
    )  # fmt: skip
    return [
        Parsed(
            tuple(item["errors"]),
            tuple(item["metrics"]),
            tuple(item["matchers"]),
            tuple(tuple(group) for group in item["grouping"]),
        )
        for item in json.loads(result.stdout)
    ]
