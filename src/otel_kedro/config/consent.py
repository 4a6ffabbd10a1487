"""Who decided whether telemetry may leave the machine, and what they decided.

Resolved once per session, first match wins (design.md §5):

1. ``DO_NOT_TRACK`` or ``KEDRO_DISABLE_TELEMETRY`` set to anything non-empty: every remote
   destination is off, whatever else says. Nothing overrides this.
2. Our own explicit consent: ``OTEL_KEDRO_CONSENT``, then ``consent:`` in ``otel.yml``, then in
   ``[tool.otel_kedro]``; it is more specific than the shared ``.telemetry`` file, so it wins.
3. The project's ``.telemetry`` file (``consent: true|false``), the one kedro-telemetry reads.
4. Nothing set: local files only. (kedro-telemetry treats unset as consent; we do not.)

A malformed value is a problem naming its file and treated as not given; it never raises.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final, NamedTuple

from otel_kedro.config.environment import VETOES
from otel_kedro.config.settings import Settings

__all__ = ["TELEMETRY_FILE", "VETOES", "ConsentDecision", "resolve_consent"]

TELEMETRY_FILE: Final = ".telemetry"


class ConsentDecision(NamedTuple):
    """Whether remote export is allowed, which source decided, and problems met on the way."""

    granted: bool
    vetoed: bool
    source: str
    problems: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for ``otel-kedro consent status`` and for logs."""
        if self.vetoed:
            return f"remote export: off (vetoed by {self.source}; nothing overrides a veto)"
        state = "on" if self.granted else "off"
        return f"remote export: {state} (decided by {self.source})"


def _telemetry_file(project_path: Path | None) -> tuple[bool | None, str | None]:
    """``consent`` from the project's ``.telemetry`` file: (value, problem)."""
    if project_path is None:
        return None, None
    path = project_path / TELEMETRY_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, None
    except OSError as error:
        return None, f"{path}: cannot be read ({error.strerror}); treated as not given."
    import yaml

    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        return None, f"{path}: is not valid YAML{where}; consent treated as not given."
    value = document.get("consent") if isinstance(document, dict) else None
    if isinstance(value, bool):
        return value, None
    return None, (
        f"{path}: expected 'consent: true' or 'consent: false', found {document!r}; "
        "treated as not given."
    )


def resolve_consent(
    settings: Settings,
    project_path: Path | None,
    environ: Mapping[str, str] | None = None,
) -> ConsentDecision:
    """Apply the rules above, first match wins."""
    environ = os.environ if environ is None else environ
    for name in VETOES:
        if environ.get(name, ""):
            return ConsentDecision(False, True, f"environment variable {name}={environ[name]!r}")
    if settings.consent is not None:
        return ConsentDecision(settings.consent, False, settings.consent_source or "otel-kedro")
    value, problem = _telemetry_file(project_path)
    problems = (problem,) if problem else ()
    if value is not None and project_path is not None:
        return ConsentDecision(value, False, str(project_path / TELEMETRY_FILE), problems)
    return ConsentDecision(False, False, "nothing set: local files only", problems)
