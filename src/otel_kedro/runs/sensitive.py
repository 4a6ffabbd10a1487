"""The run's known sensitive values, gathered at run start for known-value redaction
(:mod:`otel_kedro.processors.redaction`): from the run's parameters and credentials, which Kedro
hands to the hooks, and from the OTLP variables. Sources never see them; the composition root
passes them to every chain it builds, and to worker processes through the run's handoff.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

# Workers receive the known values in an environment variable; one variable may hold at most
# 128 KiB on Linux (a longer one makes exec fail), and the whole environment shares the
# argument-size limit, so the handoff carries values up to 1 KiB each and 32 KiB in all. Longer
# values (a private key in credentials.yml) are left to the pattern scrubber in workers.
_WORKER_VALUE_MAX = 1024
_WORKER_TOTAL_MAX = 32 * 1024


def for_workers(known: frozenset[str]) -> tuple[str, ...]:
    """The known values handed to worker processes, within the environment's size limits."""
    chosen: list[str] = []
    total = 0
    for value in sorted(known, key=len):
        if len(value) > _WORKER_VALUE_MAX or total + len(value) > _WORKER_TOTAL_MAX:
            break
        chosen.append(value)
        total += len(value)
    return tuple(chosen)


def known_values_of(
    run_params: Mapping[str, Any], credentials: Mapping[str, Any] | None
) -> frozenset[str]:
    """Every value this run knows is sensitive: each leaf of the runtime params (``--params``)
    and of the credentials, OTLP header values and endpoint userinfo.
    """
    from otel_kedro.exporters.otlp_target import credential_values
    from otel_kedro.processors.redaction import known_values

    return known_values(
        run_params.get("runtime_params") or {}, credentials or {}, credential_values(os.environ)
    )
