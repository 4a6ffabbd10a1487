"""Where OTLP goes: protocol and endpoints resolved from the ``OTEL_EXPORTER_OTLP_*`` variables as
the OTLP exporter specification says, and the credentials those variables hold (which the run
redacts wherever they occur). No exporter is imported here: a run reads this at its start.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final, NamedTuple
from urllib.parse import unquote

GRPC: Final = "grpc"
HTTP: Final = "http/protobuf"
_PROTOCOLS: Final = (HTTP, GRPC)
_DEFAULT_HTTP: Final = "http://localhost:4318"
_DEFAULT_GRPC: Final = "http://localhost:4317"
# scheme:// (kept) then userinfo@ (removed), before the first "/", "?" or "#".
_USERINFO: Final = re.compile(r"^((?:[A-Za-z][A-Za-z0-9+.-]*:)?//)?[^/?#]*@")


def without_userinfo(url: str) -> str:
    """``url`` without any ``user:password@`` part (credentials are never keys or output)."""
    return _USERINFO.sub(lambda match: match.group(1) or "", url, count=1)


def userinfo_values(url: str) -> list[str]:
    """The credentials in ``url``'s ``user:password@`` part: whole and URL-decoded, then user
    and password apart; empty when there is none.
    """
    match = _USERINFO.match(url.strip())
    if not match:
        return []
    userinfo = match.group(0)[len(match.group(1) or "") : -1]
    return [userinfo, unquote(userinfo), *(part for part in userinfo.split(":", 1) if part)]


def credential_values(environ: Mapping[str, str]) -> list[str]:
    """The secrets the OTLP variables hold: every header value and every endpoint's user and
    password, as written and URL-decoded (the run redacts them wherever they occur).
    """
    values: list[str] = []
    for signal in ("", "TRACES_", "METRICS_", "LOGS_"):
        for pair in environ.get(f"OTEL_EXPORTER_OTLP_{signal}HEADERS", "").split(","):
            value = pair.partition("=")[2].strip()
            values += [value, unquote(value)] if value else []
        values += userinfo_values(environ.get(f"OTEL_EXPORTER_OTLP_{signal}ENDPOINT", ""))
    return values


class OtlpTarget(NamedTuple):
    """Where to send: the protocol and each signal's full endpoint, as the SDK exporters take it."""

    protocol: str
    traces_endpoint: str
    metrics_endpoint: str
    logs_endpoint: str = ""

    def endpoint(self, signal: str) -> str:
        """The full endpoint of ``traces``, ``metrics`` or ``logs``."""
        return str(getattr(self, f"{signal}_endpoint"))

    @property
    def key(self) -> str:
        """The destination's name in ``delivery.json``; it never holds endpoint credentials."""
        return f"otlp {self.protocol} {without_userinfo(self.traces_endpoint)}"


def _variable(environ: Mapping[str, str], signal: str, name: str) -> tuple[str, str] | None:
    """The per-signal variable if set (non-empty), else the general one: (name, value)."""
    for variable in (f"OTEL_EXPORTER_OTLP_{signal}_{name}", f"OTEL_EXPORTER_OTLP_{name}"):
        value = environ.get(variable, "").strip()
        if value:
            return variable, value
    return None


def _protocol(environ: Mapping[str, str], signal: str) -> str:
    found = _variable(environ, signal, "PROTOCOL")
    if found is None:
        return HTTP
    variable, value = found
    if value not in _PROTOCOLS:
        allowed = ", ".join(_PROTOCOLS)
        raise ValueError(
            f"{variable}={value!r} is not a supported OTLP protocol; allowed: {allowed}"
        )
    return value


def _endpoint(environ: Mapping[str, str], signal: str, protocol: str, base: str | None) -> str:
    if base is None:
        specific = environ.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT", "").strip()
        if specific:
            return specific  # used as is, as the specification says
        base = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if protocol == GRPC:
        return base or _DEFAULT_GRPC
    return f"{(base or _DEFAULT_HTTP).removesuffix('/')}/v1/{signal.lower()}"


def target_from_env(environ: Mapping[str, str], endpoint: str | None = None) -> OtlpTarget:
    """Resolve protocol and endpoints as the OTLP exporter specification says.

    ``endpoint``, when given, is a base URL that overrides every endpoint variable (``replay
    --endpoint``). Both signals travel with one protocol, so a metrics protocol that differs
    from the traces one is an error rather than silently ignored.
    """
    protocol = _protocol(environ, "TRACES")
    # Logs came later: only their own variable can disagree (a general one follows traces).
    logs_set = bool(environ.get("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "").strip())
    for signal in ("METRICS", "LOGS") if logs_set else ("METRICS",):
        other = _protocol(environ, signal)
        if other != protocol:
            raise ValueError(
                f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL={other!r} differs from the traces "
                f"protocol {protocol!r}; otel-kedro sends every signal with one protocol"
            )
    return OtlpTarget(
        protocol,
        _endpoint(environ, "TRACES", protocol, endpoint),
        _endpoint(environ, "METRICS", protocol, endpoint),
        _endpoint(environ, "LOGS", protocol, endpoint),
    )
