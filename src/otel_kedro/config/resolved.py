"""Settings and consent for one run, resolved together once, for the composition root."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from otel_kedro.config.consent import ConsentDecision, resolve_consent
from otel_kedro.config.settings import Settings, load_settings


@dataclasses.dataclass(frozen=True)
class Configuration:
    """What a run is told: its settings, the consent decision, and every problem met reading
    them (each to be reported once as a warning; none of them stops the run).
    """

    settings: Settings
    consent: ConsentDecision
    problems: tuple[str, ...] = ()
    package_name: str | None = None  # the project's package (names the project in hashed form)


def resolve(
    project_path: Path | None,
    config_loader: Any = None,
    *,
    package_name: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Configuration:
    """Read every configuration source, then decide consent from the result (design.md §5-6)."""
    loaded = load_settings(project_path, config_loader, environ, package_name)
    decision = resolve_consent(loaded.settings, project_path, environ)
    problems = (*loaded.problems, *decision.problems)
    return Configuration(loaded.settings, decision, problems, package_name)
