"""Heap Analytics track events, compatible with kedro-telemetry's, built from a run's local files.

Opt-in only (``heap: true`` and consent). Per run, two events with kedro-telemetry's names and
property names: ``"CLI command"`` (the masked command) and ``"Kedro Project Statistics"``
(counts of datasets, nodes and pipelines, dataset types), plus the run's result and duration.
Unlike kedro-telemetry, the user and project ids are HMAC hashes with this install's key, user
dataset types are reported as ``custom``, timestamps are real UTC, and no node, dataset or
pipeline name is ever included (the Heap privacy chain allows only the keys listed in
:data:`otel_kedro.processors.chain.HEAP_ALLOWED_KEYS`). Events are sent in Heap's bulk form with
an idempotency key per run and event, off the hot path, like OTLP.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
import hashlib
import json
import os
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from otel_kedro import __version__
from otel_kedro import attributes as attr
from otel_kedro.exporters.delivery import delivered, record_delivery
from otel_kedro.exporters.files import read_span_records
from otel_kedro.processors.cli_args import command_path, mask_command_args
from otel_kedro.processors.identifiers import hash_identifier

if TYPE_CHECKING:
    from otel_kedro.processors.chain import Chain
    from otel_kedro.processors.cli_args import Vocabulary

CLI_EVENT: Final = "CLI command"
STATISTICS_EVENT: Final = "Kedro Project Statistics"
_RUN: Final = f"{attr.RUN_SPAN_PREFIX} "
MAX_IDENTITY: Final = 255
MAX_TEXT: Final = 1023  # Heap: property strings must be shorter than 1024 characters
MAX_EVENTS: Final = 1000  # Heap's bulk limit
# Dataset types from these packages are public names; anything else is the user's own code.
_PUBLIC_TYPES: Final = ("kedro_datasets.", "kedro.io.", "kedro_datasets_experimental.")
# The environment variables kedro-telemetry reads to tell a CI run (besides CI=true).
_CI_VARIABLES: Final = (
    "GITLAB_CI", "GITHUB_ACTION", "BITBUCKET_BUILD_NUMBER", "JENKINS_URL", "CODEBUILD_BUILD_ID",
    "CIRCLECI", "TRAVIS", "BUILDKITE",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class HeapTarget:
    """The track endpoint and app id (configurable, so tests point it at loopback)."""

    endpoint: str
    app_id: str
    timeout_s: float = 10.0

    @property
    def key(self) -> str:
        """The destination's name in ``delivery.json``."""
        return f"heap {self.endpoint} {self.app_id}"


def _is_ci(environ: Mapping[str, str]) -> bool:
    return environ.get("CI") == "true" or any(environ.get(name) for name in _CI_VARIABLES)


def _utc(nanoseconds: int) -> str:
    moment = dt.datetime.fromtimestamp(nanoseconds / 1e9, tz=dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _limit(properties: Mapping[str, Any]) -> dict[str, str | int | float]:
    """Heap accepts string or number property values only, strings under 1024 characters."""
    result: dict[str, str | int | float] = {}
    for key, value in properties.items():
        if isinstance(value, bool):
            result[key] = "true" if value else "false"
        elif isinstance(value, (int, float)):
            result[key] = value
        elif value is not None:
            result[key] = str(value)[:MAX_TEXT]
    return result


def _statistics(run: Mapping[str, Any]) -> dict[str, Any]:
    """kedro-telemetry's project statistics from the run span's attributes."""
    result: dict[str, Any] = {
        "number_of_datasets": run.get(attr.KEDRO_PROJECT_DATASET_COUNT),
        "number_of_nodes": run.get(attr.KEDRO_PROJECT_NODE_COUNT),
        "number_of_pipelines": run.get(attr.KEDRO_PROJECT_PIPELINE_COUNT),
    }
    types: dict[str, int] = {}
    for key, count in run.items():
        if key.startswith(attr.KEDRO_PROJECT_DATASET_TYPE_COUNT_PREFIX) and isinstance(count, int):
            name = key[len(attr.KEDRO_PROJECT_DATASET_TYPE_COUNT_PREFIX) :]
            bucket = name if name.startswith(_PUBLIC_TYPES) else "custom"
            types[bucket] = types.get(bucket, 0) + count
    result.update({f"dataset_type_count.{name}": n for name, n in sorted(types.items())})
    return result


@dataclasses.dataclass(frozen=True)
class HeapFacts:
    """What the events say about this user, project and machine, before the chain runs."""

    identity: str
    project_id: str
    is_ci: bool

    @classmethod
    def of(cls, key: bytes, project_path: Path, package_name: str | None) -> HeapFacts:
        """Hashed user (user name at host name) and project (path and package) identities."""
        user = f"{getpass.getuser()}@{socket.gethostname()}"
        project = f"{project_path.resolve()}:{package_name or ''}"
        return cls(hash_identifier(user, key), hash_identifier(project, key), _is_ci(os.environ))


@dataclasses.dataclass(frozen=True)
class HeapDelivery:
    """Everything needed to turn run folders into Heap events and send them."""

    target: HeapTarget
    facts: HeapFacts
    chain: Chain
    vocabulary: Vocabulary | None = None
    allow_args: tuple[str, ...] = ()

    def build_events(self, folder: Path) -> list[dict[str, Any]]:
        """The Heap events of one run folder: one CLI event when the run had a command span,
        and one statistics event per run span. Properties pass through the Heap chain.
        """
        common: dict[str, Any] = {
            "username": self.facts.identity,
            "project_id": self.facts.project_id,
            "telemetry_version": f"otel-kedro {__version__}",
            "python_version": sys.version.split()[0],
            "os": sys.platform,
            "is_ci_env": self.facts.is_ci,
        }
        spans = list(read_span_records(folder))
        # kedro-telemetry sends the Kedro version with every event; the run span knows it.
        common["project_version"] = next(
            (s.attributes[attr.KEDRO_VERSION] for s in spans if attr.KEDRO_VERSION in s.attributes),
            None,
        )
        events: list[dict[str, Any]] = []
        for span in spans:
            name, values = span.name, span.attributes
            args = values.get(attr.PROCESS_COMMAND_ARGS)
            if isinstance(args, list) and name.startswith(attr.COMMAND_SPAN_PREFIX + " "):
                # Masked again: idempotent, and safe even if the files chain was told not to.
                masked = mask_command_args([str(a) for a in args], self.vocabulary, self.allow_args)
                path = command_path(masked[1:])
                properties = {
                    **common,
                    "command": " ".join(masked),
                    "main_command": path.split(" ", 1)[0] if path else "",
                }
                events.append(self._event(CLI_EVENT, span.start_ns, properties, folder))
            elif attr.CICD_PIPELINE_RUN_ID in values and name.startswith(_RUN):
                properties = {
                    **common,
                    **_statistics(values),
                    "run_result": values.get(attr.CICD_PIPELINE_RESULT),
                    "run_duration_s": round(span.seconds, 3),
                }
                events.append(self._event(STATISTICS_EVENT, span.end_ns, properties, folder))
        return events[:MAX_EVENTS]

    def _event(
        self, name: str, nanoseconds: int, properties: dict[str, Any], folder: Path
    ) -> dict[str, Any]:
        key = hashlib.sha256(f"{folder.name}\0{name}\0{nanoseconds}".encode()).hexdigest()[:32]
        return {
            "identity": self.facts.identity[:MAX_IDENTITY],
            "event": name,
            "timestamp": _utc(nanoseconds),
            "idempotency_key": key,
            "properties": _limit(self.chain.attributes(properties)),
        }

    def deliver_run(self, folder: Path, *, force: bool = False) -> int:
        """Send one run's events unless the target already acknowledged them; how many."""
        if not force and self.target.key in delivered(folder):
            return 0
        events = self.build_events(folder)
        if events:
            send(events, self.target)
        record_delivery(folder, self.target.key, events=len(events))
        return len(events)


def send(events: list[dict[str, Any]], target: HeapTarget) -> None:
    """POST the events in Heap's bulk form; raise unless acknowledged."""
    import requests

    body = json.dumps({"app_id": target.app_id, "events": events})
    with requests.Session() as session:
        session.trust_env = False  # proxies from the environment must not reroute telemetry
        response = session.post(
            target.endpoint,
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=target.timeout_s,
        )
        response.raise_for_status()
