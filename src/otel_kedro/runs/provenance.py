"""A run's provenance: which code (git state) and which parameters (a keyed hash) it ran with.

Read when the run starts: the git files directly (microseconds), the dirty flag on a background
thread (one ``git status``), collected when the run ends. The parameters are hashed with the
install's identifier key (or the organisation's ``hash_key_file``), so two runs with different
parameters hash differently while no value can be recovered from the hash.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from otel_kedro import attributes as attr
from otel_kedro.diagnostics import warn_once
from otel_kedro.sources.vcs import DirtyCheck, GitState, read_git_state

if TYPE_CHECKING:
    from opentelemetry.trace import Span
    from opentelemetry.util.types import AttributeValue

    from otel_kedro.config.settings import Settings


class RunProvenance:
    """Provenance attributes for one run's command and run spans."""

    def __init__(self, project_path: Path) -> None:
        self._git: GitState | None = read_git_state(project_path)
        self._dirty = DirtyCheck(self._git.work_tree) if self._git else None

    def attributes(self, catalog: Any, settings: Settings) -> dict[str, AttributeValue]:
        """The git attributes and the parameters' keyed hash, known at the run's start."""
        result = self._git.attributes() if self._git else {}
        fingerprint = params_hash(catalog, settings.privacy.hash_key_file)
        if fingerprint is not None:
            result[attr.KEDRO_PARAMS_HASH] = fingerprint
        return result

    def code_attributes(self) -> dict[str, AttributeValue]:
        """The git attributes alone (for the command span)."""
        return self._git.attributes() if self._git else {}

    def finish(self, *spans: Span | None) -> None:
        """Add the dirty flag, when ``git status`` answered in time, to each span still open."""
        dirty = self._dirty.result() if self._dirty else None
        if dirty is None:
            return
        for span in spans:
            if span is not None and span.is_recording():
                span.set_attribute(attr.KEDRO_VCS_DIRTY, dirty)


def params_hash(catalog: Any, key_file: str | None) -> str | None:
    """``hmac:…`` of every parameter the run sees (``parameters`` in the catalog, runtime
    ``--params`` included), as canonical JSON; None when the catalog has none.
    """
    try:
        params = catalog.load("parameters")
    except Exception:  # noqa: BLE001 - a catalog without parameters: no hash
        return None
    from otel_kedro.processors.chain import hash_key
    from otel_kedro.processors.identifiers import hash_identifier

    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), default=repr)
    try:
        key = hash_key(key_file)
    except (OSError, ValueError) as error:
        warn_once(f"cannot read the hashing key ({error}); the run has no kedro.params.hash.")
        return None
    return hash_identifier(canonical, key)
