"""OTLP transport: processed spans and metrics sent through the maintained OpenTelemetry SDK
exporters (HTTP/protobuf or gRPC), so every ``OTEL_EXPORTER_OTLP_*`` variable means what it means
for any OpenTelemetry SDK: endpoints, headers, timeout, compression, TLS, mTLS and insecure.

This module only transports. Reading run folders, privacy chains and ``delivery.json`` belong to
its callers; a send either returns (acknowledged) or raises :class:`NotDelivered` with one line
saying why. Imports of the exporters are lazy: the module is imported while a Kedro run starts.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any, Final, TypeVar

from otel_kedro.diagnostics import warn_once
from otel_kedro.exporters.otlp_target import (
    GRPC,
    OtlpTarget,
    credential_values,
    userinfo_values,
    without_userinfo,
)

if TYPE_CHECKING:
    import requests

# What a backend without an endpoint for a signal answers.
_UNSUPPORTED_HTTP: Final = frozenset({404, 405, 501})
# The loggers whose records a send of ours captures (the SDK exporters' and grpc's own).
_CAPTURED_LOGGERS: Final = ("opentelemetry.exporter", "grpc")
_MAX_REASON: Final = 300
_Token = TypeVar("_Token")


def prepare(target: OtlpTarget) -> None:
    """Import the exporter modules that sending needs now (called at run start), so the
    bounded wait at run end is spent sending, not importing.
    """
    for signal in ("traces", "metrics", "logs"):
        _exporter_class(target.protocol, signal)


class NotDelivered(Exception):  # noqa: N818  (the callers' interface)
    """The endpoint did not acknowledge; ``str()`` is one line saying why, never containing
    header values or endpoint credentials.
    """


class MetricsUnsupported(NotDelivered):
    """The backend has no metrics endpoint (HTTP 404/405/501, gRPC UNIMPLEMENTED)."""


class LogsUnsupported(NotDelivered):
    """The backend has no logs endpoint (Jaeger, Phoenix, MLflow: HTTP 404/405/501, gRPC
    UNIMPLEMENTED); remembered instead of retried.
    """


def send_requests(
    target: OtlpTarget,
    signal: str,
    requests: Iterable[tuple[_Token, Any]],
    acknowledged: Callable[[_Token], None],
    unsupported: type[NotDelivered] | None = None,
) -> None:
    """Send each ``(token, payload)`` as one export request of ``signal`` ("traces": a sequence
    of spans; "metrics": a ``MetricsData``; "logs": a sequence of log records) through one
    exporter, calling ``acknowledged(token)`` as soon as that request is acknowledged, so a
    failure later loses no acknowledgement. Raise ``unsupported`` when the backend has no
    endpoint for the signal, :class:`NotDelivered` at any other failure.
    """
    with _Send(target, signal, unsupported=unsupported) as send:
        exporter = None
        for token, payload in requests:
            if exporter is None:
                exporter = send.exporter()
            if getattr(exporter.export(payload), "name", None) != "SUCCESS":
                raise send.failure()
            acknowledged(token)


# --- the exporters ----------------------------------------------------------------------------


def _exporter_class(protocol: str, signal: str) -> Callable[..., Any]:
    """The SDK's exporter class for ``protocol`` and ``signal`` (importing its module)."""
    if signal == "logs":
        if protocol == GRPC:
            from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter

            return OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.http._log_exporter import (
            OTLPLogExporter as HttpLogExporter,
        )

        return HttpLogExporter
    if protocol == GRPC:
        if signal == "traces":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            return OTLPSpanExporter
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        return OTLPMetricExporter
    if signal == "traces":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter as HttpSpanExporter,
        )

        return HttpSpanExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
        OTLPMetricExporter as HttpMetricExporter,
    )

    return HttpMetricExporter


def _recording_session() -> tuple[requests.Session, list[object]]:
    """A requests session that ignores proxy variables (they must not reroute telemetry) and
    keeps the outcome of every request (response or exception), from which a failure is told.
    """
    import requests

    outcomes: list[object] = []

    class RecordingSession(requests.Session):
        def request(self, *args: Any, **kwargs: Any) -> requests.Response:
            try:
                response = super().request(*args, **kwargs)
            except Exception as error:
                outcomes.append(error)
                raise
            outcomes.append(response)
            return response

    session = RecordingSession()
    session.trust_env = False
    return session, outcomes


class _Capture(logging.Filter):
    """Holds back the records SDK exporters emit on a thread that is sending for us: the user
    sees our one-line :class:`NotDelivered`, not the SDK's errors and tracebacks. Records of
    other threads (an application's own exporters) pass untouched.
    """

    def __init__(self) -> None:
        super().__init__()
        self._active: dict[int, list[logging.LogRecord]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        records = self._active.get(threading.get_ident())
        if records is None:
            return True
        records.append(record)
        return False

    @contextmanager
    def capturing(self) -> Iterator[list[logging.LogRecord]]:
        """Capture this thread's exporter records for the duration of the block."""
        with self._lock:  # attach to every exporter logger that exists by now
            for name, logger in list(logging.root.manager.loggerDict.items()):
                if (
                    isinstance(logger, logging.Logger)
                    and name.startswith(_CAPTURED_LOGGERS)
                    and self not in logger.filters
                ):
                    # First, before the SDK's DuplicateFilter, which would drop a repeated
                    # failure before we see it (and count ours against an application's).
                    logger.filters.insert(0, self)
        ident = threading.get_ident()
        records: list[logging.LogRecord] = []
        self._active[ident] = records
        try:
            yield records
        finally:
            del self._active[ident]


_capture = _Capture()


class _Send:
    """One send of one signal: builds the SDK exporter inside the log capture, tells a failure
    from what the transport saw, and shuts the exporter down (closing its session or channel).
    ``unsupported`` is raised when the backend has no endpoint for the signal.
    """

    def __init__(
        self, target: OtlpTarget, signal: str, unsupported: type[NotDelivered] | None = None
    ) -> None:
        self._target = target
        self._signal = signal
        self._unsupported = unsupported
        self._url = target.endpoint(signal)
        self._shown = without_userinfo(self._url)  # the endpoint as messages name it
        self._outcomes: list[object] = []
        self._exporter: Any = None
        self._class = _exporter_class(target.protocol, signal)  # imported before capturing
        self._stack = ExitStack()
        self._records: list[logging.LogRecord] = []

    def __enter__(self) -> _Send:
        self._records = self._stack.enter_context(_capture.capturing())
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._exporter is not None:
                self._exporter.shutdown()
        finally:
            self._stack.close()

    def exporter(self) -> Any:
        """The SDK exporter for the signal: our endpoint, everything else from the environment."""
        kwargs: dict[str, Any] = {"endpoint": self._url}
        if self._target.protocol == GRPC:
            # Proxy variables must not reroute telemetry (as trust_env=False does for HTTP).
            kwargs["channel_options"] = (("grpc.enable_http_proxy", 0),)
        else:
            kwargs["session"], self._outcomes = _recording_session()
        try:
            exporter = self._class(**kwargs)
        except Exception as error:  # noqa: BLE001  (the SDK raises several kinds on bad settings)
            raise NotDelivered(
                self._scrub(f"the OTLP {self._signal} exporter could not be configured: {error}")
            ) from None
        for record in self._records:  # configuration warnings (bad timeout, compression, file)
            if record.levelno >= logging.WARNING:
                warn_once(self._scrub(f"OTLP {self._signal} exporter: {record.getMessage()}"))
        self._records.clear()
        self._exporter = exporter
        return exporter

    def failure(self) -> NotDelivered:
        """The exception that says, in one line, why the last export was not acknowledged."""
        error = self._grpc_failure() if self._target.protocol == GRPC else self._http_failure()
        return type(error)(self._scrub(str(error)))

    def _http_failure(self) -> NotDelivered:
        import requests

        # A retry cut short by the deadline times out; what the attempts before it met says more.
        telling = [o for o in self._outcomes if not isinstance(o, requests.Timeout)]
        last = (telling or self._outcomes or [None])[-1]
        if isinstance(last, requests.Response):
            answer = f"HTTP {last.status_code} {last.reason}".strip()
            if self._unsupported is not None and last.status_code in _UNSUPPORTED_HTTP:
                return self._unsupported(f"{self._shown} takes no OTLP {self._signal} ({answer})")
            hint = "; check OTEL_EXPORTER_OTLP_HEADERS" if last.status_code in {401, 403} else ""
            return NotDelivered(f"{self._shown} answered {answer}{hint}")
        if isinstance(last, requests.Timeout):
            return NotDelivered(self._no_answer())
        if isinstance(last, Exception):
            chain = _chain(last)
            evidence = " ".join(f"{type(error).__name__}: {error}" for error in chain)
            innermost = f"{type(chain[-1]).__name__}: {chain[-1]}"
            return NotDelivered(self._explain(innermost, evidence))
        return NotDelivered(self._from_records())

    def _grpc_failure(self) -> NotDelivered:
        import grpc

        for record in reversed(self._records):
            codes = [arg for arg in _args(record) if isinstance(arg, grpc.StatusCode)]
            if not codes:
                continue
            code = codes[-1]
            details = str(_args(record)[-1])
            if self._unsupported is not None and code is grpc.StatusCode.UNIMPLEMENTED:
                return self._unsupported(
                    f"{self._shown} takes no OTLP {self._signal} (gRPC UNIMPLEMENTED)"
                )
            if code is grpc.StatusCode.DEADLINE_EXCEEDED:
                return NotDelivered(self._no_answer())
            reason = f"gRPC {code.name}: {details}"
            return NotDelivered(self._explain(reason, reason))
        return NotDelivered(self._from_records())

    def _explain(self, reason: str, evidence: str) -> str:
        """A transport error as one line with what to do about it, for the common TLS mistakes;
        ``evidence`` is every text of the error, ``reason`` the part that is shown.
        """
        lowered = evidence.lower()
        signal = self._signal.upper()
        if "certificate_verify_failed" in lowered or "certificate verify failed" in lowered:
            return (
                f"TLS certificate verification failed for {self._shown}; set "
                f"OTEL_EXPORTER_OTLP_CERTIFICATE (or OTEL_EXPORTER_OTLP_{signal}_CERTIFICATE) to "
                f"the CA that signed the collector's certificate ({_short(reason)})"
            )
        if "wrong version number" in lowered or "wrong_version_number" in lowered:
            return f"{self._shown} does not speak TLS; use an http:// endpoint ({_short(reason)})"
        if "could not find" in lowered:  # requests: a CA, certificate or key file is missing
            return (
                f"a file named by OTEL_EXPORTER_OTLP_CERTIFICATE, _CLIENT_CERTIFICATE or "
                f"_CLIENT_KEY (or their {signal} forms) cannot be read ({_short(reason)})"
            )
        # A TLS server that refuses us without a client certificate often just hangs up.
        hung_up = self._shown.startswith("https:") and "socket closed" in lowered
        if hung_up or any(word in lowered for word in ("certificate", "handshake", "alert", "ssl")):
            return (
                f"TLS handshake with {self._shown} failed; if the collector requires a client "
                "certificate, set OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and "
                f"OTEL_EXPORTER_OTLP_CLIENT_KEY ({_short(reason)})"
            )
        return f"could not deliver to {self._shown}: {_short(reason)}"

    def _no_answer(self) -> str:
        return (
            f"no answer from {self._shown} within the exporter's timeout "
            "(OTEL_EXPORTER_OTLP_TIMEOUT, in seconds for the Python SDK)"
        )

    def _from_records(self) -> str:
        """What the exporter logged, when the transport itself saw nothing (nothing was sent)."""
        messages = [r.getMessage() for r in self._records if r.levelno >= logging.WARNING]
        said = messages[-1] if messages else "the exporter reported a failure"
        return f"could not deliver to {self._shown}: {_short(said)}"

    def _scrub(self, text: str) -> str:
        """``text`` on one line, without endpoint credentials or header values."""
        secrets = set(credential_values(os.environ))
        for signal in ("traces", "metrics", "logs"):
            secrets.update(userinfo_values(self._target.endpoint(signal)))
        text = without_userinfo(text)
        for secret in sorted(secrets, key=len, reverse=True):
            if len(secret) >= 3:
                text = text.replace(secret, "***")
        return " ".join(text.split())


def _args(record: logging.LogRecord) -> tuple[object, ...]:
    args = record.args
    return args if isinstance(args, tuple) else ()


def _chain(error: BaseException) -> list[BaseException]:
    """A transport error and what it wraps, outermost first (requests wraps urllib3 wraps ssl)."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        reason = getattr(current, "reason", None)
        nested = current.args[0] if current.args else None
        if isinstance(reason, BaseException):
            current = reason
        elif isinstance(nested, BaseException):
            current = nested
        else:
            current = current.__cause__ or current.__context__
    return seen


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"
