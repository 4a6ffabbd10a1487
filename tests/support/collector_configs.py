"""Readers for ``collector-config/``: the Collector configurations, the compose file, the Grafana
files, and the pinned otelcol-contrib component list they are checked against.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any, Final

import yaml

from tests.support.kedro_projects import ROOT

CONFIG_DIR: Final = ROOT / "collector-config"
COLLECTOR_CONFIGS: Final = ("jaeger.yaml", "grafana.yaml", "files-to-otlp.yaml")
COMPOSE: Final = CONFIG_DIR / "docker-compose.yaml"
GRAFANA_DIR: Final = CONFIG_DIR / "grafana"
DASHBOARD: Final = GRAFANA_DIR / "kedro-runs.json"
CONTRIB_VERSION: Final = "0.159.0"
COMPONENTS_FILE: Final = (
    ROOT / "tests" / "data" / f"otelcol-contrib-{CONTRIB_VERSION}-components.txt"
)
# Sections of a Collector configuration, and the component kind each one holds.
SECTIONS: Final = {
    "receivers": "receiver",
    "processors": "processor",
    "exporters": "exporter",
    "connectors": "connector",
    "extensions": "extension",
}
# ${env:NAME} or ${env:NAME:-default}, as the Collector's env provider expands them.
_ENV: Final = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def collector_config(name: str) -> dict[str, Any]:
    config: dict[str, Any] = load_yaml(CONFIG_DIR / name)
    return config


def expand_env(text: str, environ: dict[str, str] | None = None) -> str:
    """``text`` with ``${env:…}`` replaced as the Collector would (unset -> default or "")."""
    environ = dict(os.environ) if environ is None else environ
    return _ENV.sub(lambda m: environ.get(m.group(1)) or (m.group(2) or ""), text)


def env_references(text: str) -> dict[str, str | None]:
    """Each ``${env:NAME}`` in ``text`` and its default (None when it has none)."""
    return {match.group(1): match.group(2) for match in _ENV.finditer(text)}


def component_type(key: str) -> str:
    """A component's type: its key before any ``/name``."""
    return key.partition("/")[0]


@dataclasses.dataclass(frozen=True)
class Distribution:
    """The pinned distribution: modules by path and kind, configuration types by kind."""

    modules: dict[str, str]  # module path -> kind
    types: dict[tuple[str, str], str]  # (kind, type) -> module path
    deprecated: dict[tuple[str, str], str]  # (kind, deprecated type) -> current type


def distribution() -> Distribution:
    modules: dict[str, str] = {}
    types: dict[tuple[str, str], str] = {}
    deprecated: dict[tuple[str, str], str] = {}
    for line in COMPONENTS_FILE.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if fields[0] == "module":
            _, kind, module, _version = fields
            modules[module] = kind
        elif fields[0] == "type":
            _, kind, name, module, *rest = fields
            types[kind, name] = module
            for extra in rest:
                deprecated[kind, extra.removeprefix("deprecated:")] = name
        else:
            raise ValueError(f"{COMPONENTS_FILE}: unknown line {line!r}")
    return Distribution(modules, types, deprecated)
