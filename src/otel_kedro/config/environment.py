"""The one switch read on every ``kedro`` command, kept apart so that reading it imports nothing."""

from __future__ import annotations

from collections.abc import Mapping


def sdk_disabled(environ: Mapping[str, str]) -> bool:
    """True when ``OTEL_SDK_DISABLED`` asks every OpenTelemetry SDK to stay off."""
    return environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"
