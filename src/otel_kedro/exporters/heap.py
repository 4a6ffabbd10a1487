"""Heap Analytics track events, compatible with kedro-telemetry's, built from a run's spans.

Opt-in only (``heap: true`` and consent). Per run, two events with kedro-telemetry's names and
property names: ``"CLI command"`` (the masked command) and ``"Kedro Project Statistics"``
(counts of datasets, nodes and pipelines, dataset types), plus the run's result and duration.
Unlike kedro-telemetry, the user and project ids are HMAC hashes (computed by the caller),
user dataset types are reported as ``custom``, timestamps are real UTC, and no node, dataset or
pipeline name is ever included (the caller runs the Heap privacy chain over every event's
properties between :func:`events_of` and :func:`send`). Events are sent in Heap's bulk form with
an idempotency key per run and event, off the hot path, like OTLP.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from otel_kedro import __version__
from otel_kedro import attributes as attr
from otel_kedro.model.run_folder import duration_s

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

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


def is_ci(environ: Mapping[str, str]) -> bool:
    """Whether kedro-telemetry would call this a CI run."""
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
    """What the events say about this user, project and machine (identities already hashed)."""

    identity: str
    project_id: str
    is_ci: bool


@dataclasses.dataclass(frozen=True)
class HeapEvent:
    """One track event before it is sent: its properties are what the privacy chain sees."""

    name: str
    nanoseconds: int
    properties: Mapping[str, Any]


def events_of(spans: Sequence[ReadableSpan], facts: HeapFacts) -> list[HeapEvent]:
    """The Heap events of one run's spans: one CLI event when the run had a command span, and
    one statistics event per run span. Properties are raw: the caller runs the Heap chain.
    """
    common: dict[str, Any] = {
        "username": facts.identity,
        "project_id": facts.project_id,
        "telemetry_version": f"otel-kedro {__version__}",
        "python_version": sys.version.split()[0],
        "os": sys.platform,
        "is_ci_env": facts.is_ci,
    }
    # kedro-telemetry sends the Kedro version with every event; the run span knows it.
    common["project_version"] = next(
        (
            s.attributes[attr.KEDRO_VERSION]
            for s in spans
            if s.attributes and attr.KEDRO_VERSION in s.attributes
        ),
        None,
    )
    events: list[HeapEvent] = []
    for span in spans:
        name, values = span.name, dict(span.attributes or {})
        args = values.get(attr.PROCESS_COMMAND_ARGS)
        if isinstance(args, (list, tuple)) and name.startswith(attr.COMMAND_SPAN_PREFIX + " "):
            properties = {**common, "command": " ".join(str(a) for a in args)}
            events.append(HeapEvent(CLI_EVENT, span.start_time or 0, properties))
        elif attr.CICD_PIPELINE_RUN_ID in values and name.startswith(_RUN):
            properties = {
                **common,
                **_statistics(values),
                "run_result": values.get(attr.CICD_PIPELINE_RESULT),
                "run_duration_s": round(duration_s(span), 3),
            }
            events.append(HeapEvent(STATISTICS_EVENT, span.end_time or 0, properties))
    return events[:MAX_EVENTS]


def main_command(command: str) -> str:
    """kedro-telemetry's ``main_command``: the first command word of a masked command line."""
    words = command.split()
    for word in words[1:]:
        if word.startswith("-") or set(word) == {"*"}:  # an option, or a masked word
            break
        return word
    return ""


def _body(event: HeapEvent, identity: str, run_name: str) -> dict[str, Any]:
    key = f"{run_name}\0{event.name}\0{event.nanoseconds}".encode()
    properties = dict(event.properties)
    if event.name == CLI_EVENT and isinstance(properties.get("command"), str):
        properties["main_command"] = main_command(properties["command"])
    return {
        "identity": identity[:MAX_IDENTITY],
        "event": event.name,
        "timestamp": _utc(event.nanoseconds),
        "idempotency_key": hashlib.sha256(key).hexdigest()[:32],
        "properties": _limit(properties),
    }


def send(events: Sequence[HeapEvent], facts: HeapFacts, target: HeapTarget, run_name: str) -> None:
    """POST already-processed events in Heap's bulk form; raise unless acknowledged."""
    import requests

    bodies = [_body(event, facts.identity, run_name) for event in events]
    body = json.dumps({"app_id": target.app_id, "events": bodies})
    with requests.Session() as session:
        session.trust_env = False  # proxies from the environment must not reroute telemetry
        response = session.post(
            target.endpoint,
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=target.timeout_s,
        )
        response.raise_for_status()
