"""Real OTLP protocol peers on loopback: an HTTP/protobuf receiver, a gRPC TraceService (with
MetricsService and LogsService), a black
hole that accepts connections and never answers, and a port that refuses them. The HTTP and gRPC
receivers can serve TLS with a certificate of ``tests.support.tls`` and require a client
certificate (mTLS); they record request headers and the body's compression."""

from __future__ import annotations

import gzip
import socket
import ssl
import threading
import time
import zlib
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, TypeVar

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

if TYPE_CHECKING:
    from tests.support.tls import Pki


def span_ids(requests: list[ExportTraceServiceRequest]) -> list[str]:
    return [
        span.span_id.hex()
        for request in requests
        for resource_spans in request.resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
    ]


def metric_names(requests: list[ExportMetricsServiceRequest]) -> set[str]:
    return {
        metric.name
        for request in requests
        for resource_metrics in request.resource_metrics
        for scope_metrics in resource_metrics.scope_metrics
        for metric in scope_metrics.metrics
    }


def log_records(requests: list[ExportLogsServiceRequest]) -> list[Any]:
    """Every log record of the requests, in order."""
    return [
        record
        for request in requests
        for resource_logs in request.resource_logs
        for scope_logs in resource_logs.scope_logs
        for record in scope_logs.log_records
    ]


def metric_points(requests: list[ExportMetricsServiceRequest]) -> list[tuple[object, ...]]:
    """Every data point sent, named by metric, attributes and times (its identity in a run)."""
    points: list[tuple[object, ...]] = []
    for request in requests:
        for resource_metrics in request.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    kind = metric.WhichOneof("data")
                    for point in getattr(metric, kind).data_points:
                        attributes = tuple(
                            sorted(str(kv).replace("\n", " ") for kv in point.attributes)
                        )
                        points.append(
                            (
                                metric.name,
                                attributes,
                                point.start_time_unix_nano,
                                point.time_unix_nano,
                            )
                        )
    return points


_Server = TypeVar("_Server", bound="LoopbackHttpServer")


class _TlsHttpServer(ThreadingHTTPServer):
    """Serves HTTPS: the TLS handshake runs in the request's thread, and a failed one (a client
    that does not trust us, or has no certificate when one is required) is recorded, not
    printed."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.context = context
        self.tls_errors: list[str] = []

    def get_request(self) -> tuple[Any, Any]:
        connection, address = self.socket.accept()
        wrapped = self.context.wrap_socket(
            connection, server_side=True, do_handshake_on_connect=False
        )
        return wrapped, address

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            request.do_handshake()
        except (ssl.SSLError, OSError) as error:
            self.tls_errors.append(f"{type(error).__name__}: {error}")
            return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up mid-request is the client's business, not a test failure


def server_context(pki: Pki, *, require_client_cert: bool = False) -> ssl.SSLContext:
    """A server-side TLS context with the PKI's server certificate (and its CA for clients)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    if require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki.ca)
    return context


def decode_body(body: bytes, encoding: str | None) -> bytes:
    """A request body as sent before compression (gzip and deflate, as OTLP/HTTP allows)."""
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body


class LoopbackHttpServer:
    """A threaded HTTP server on a free loopback port, serving while used as a context manager;
    with ``tls`` it serves HTTPS (``require_client_cert`` for mutual TLS)."""

    tls_errors: list[str]

    def _serve(
        self,
        handler: type[BaseHTTPRequestHandler],
        tls: Pki | None = None,
        *,
        require_client_cert: bool = False,
    ) -> None:
        if tls is None:
            self._server: ThreadingHTTPServer = ThreadingHTTPServer(("127.0.0.1", 0), handler)
            self.tls_errors = []
        else:
            context = server_context(tls, require_client_cert=require_client_cert)
            server = _TlsHttpServer(handler, context)
            self._server, self.tls_errors = server, server.tls_errors
        scheme = "http" if tls is None else "https"
        self.address = f"{scheme}://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self: _Server) -> _Server:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class HttpReceiver(LoopbackHttpServer):
    """POST /v1/traces, /v1/metrics and /v1/logs with protobuf bodies, answered as OTLP/HTTP
    says; ``metrics=False`` or ``logs=False`` make a backend without that signal (404).

    ``headers`` holds every request's headers (lower-case names) and ``content_encodings`` each
    request's ``Content-Encoding`` (None when absent); bodies are decompressed before decoding.

    Faults, for delivery tests: with ``acknowledge=N`` only the first N requests of each path
    are acknowledged and later ones answered HTTP 500 (not retried by the SDK), without being
    kept; with ``answer_after=S`` every request is kept on arrival and answered S seconds later
    (an acknowledgement that arrives after the sender's wait). Both can be changed while
    serving (set ``acknowledge = None`` / ``answer_after = 0`` for a healthy collector).
    """

    def __init__(
        self,
        *,
        metrics: bool = True,
        logs: bool = True,
        tls: Pki | None = None,
        require_client_cert: bool = False,
        acknowledge: int | None = None,
        answer_after: float = 0.0,
    ) -> None:
        self.acknowledge = acknowledge
        self.answer_after = answer_after
        self.acknowledged: dict[str, int] = {}
        self.failed = 0
        self.requests: list[ExportTraceServiceRequest] = []
        self.metric_requests: list[ExportMetricsServiceRequest] = []
        self.log_requests: list[ExportLogsServiceRequest] = []
        self.refused_metrics = 0
        self.refused_logs = 0
        self.resources: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.content_encodings: list[str | None] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                encoding = self.headers.get("Content-Encoding")
                receiver.headers.append({k.lower(): v for k, v in self.headers.items()})
                receiver.content_encodings.append(encoding)
                body = decode_body(self.rfile.read(int(self.headers["Content-Length"])), encoding)
                assert self.headers["Content-Type"] == "application/x-protobuf"
                limit = receiver.acknowledge
                if limit is not None and receiver.acknowledged.get(self.path, 0) >= limit:
                    receiver.failed += 1
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                receiver.acknowledged[self.path] = receiver.acknowledged.get(self.path, 0) + 1
                refused = (self.path == "/v1/metrics" and not metrics) or (
                    self.path == "/v1/logs" and not logs
                )
                if refused:  # a backend without that signal
                    if self.path == "/v1/logs":
                        receiver.refused_logs += 1
                    else:
                        receiver.refused_metrics += 1
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path == "/v1/logs":
                    logs_request = ExportLogsServiceRequest()
                    logs_request.ParseFromString(body)
                    receiver.log_requests.append(logs_request)
                    reply = ExportLogsServiceResponse().SerializeToString()
                elif self.path == "/v1/metrics":
                    metrics_request = ExportMetricsServiceRequest()
                    metrics_request.ParseFromString(body)
                    receiver.metric_requests.append(metrics_request)
                    reply = ExportMetricsServiceResponse().SerializeToString()
                else:
                    assert self.path == "/v1/traces"
                    request = ExportTraceServiceRequest()
                    request.ParseFromString(body)
                    receiver.requests.append(request)
                    reply = ExportTraceServiceResponse().SerializeToString()
                if receiver.answer_after:
                    time.sleep(receiver.answer_after)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self._serve(Handler, tls, require_client_cert=require_client_cert)
        self.endpoint = self.address


class _MetricsService(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self) -> None:
        self.requests: list[ExportMetricsServiceRequest] = []

    def Export(
        self, request: ExportMetricsServiceRequest, context: Any
    ) -> ExportMetricsServiceResponse:
        self.requests.append(request)
        return ExportMetricsServiceResponse()


class _LogsService(logs_service_pb2_grpc.LogsServiceServicer):
    def __init__(self) -> None:
        self.requests: list[ExportLogsServiceRequest] = []

    def Export(self, request: ExportLogsServiceRequest, context: Any) -> ExportLogsServiceResponse:
        self.requests.append(request)
        return ExportLogsServiceResponse()


class GrpcReceiver(trace_service_pb2_grpc.TraceServiceServicer):
    """The gRPC TraceService, MetricsService and LogsService (each of the last two UNIMPLEMENTED
    when ``metrics`` or ``logs`` is false), in process; with ``tls`` on TLS
    (``require_client_cert`` for mutual TLS). ``metadata`` holds each trace request's invocation
    metadata."""

    def __init__(
        self,
        *,
        metrics: bool = True,
        logs: bool = True,
        tls: Pki | None = None,
        require_client_cert: bool = False,
    ) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.metadata: list[dict[str, str]] = []
        self._metrics = _MetricsService()
        self.metric_requests = self._metrics.requests
        self._logs = _LogsService()
        self.log_requests = self._logs.requests
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(self, self._server)
        if metrics:
            metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(
                self._metrics, self._server
            )
        if logs:
            logs_service_pb2_grpc.add_LogsServiceServicer_to_server(self._logs, self._server)
        if tls is None:
            port = self._server.add_insecure_port("127.0.0.1:0")
            self.endpoint = f"http://127.0.0.1:{port}"
        else:
            credentials = grpc.ssl_server_credentials(
                [(tls.server_key.read_bytes(), tls.server_cert.read_bytes())],
                root_certificates=tls.ca.read_bytes() if require_client_cert else None,
                require_client_auth=require_client_cert,
            )
            port = self._server.add_secure_port("127.0.0.1:0", credentials)
            self.endpoint = f"https://127.0.0.1:{port}"

    def Export(
        self, request: ExportTraceServiceRequest, context: Any
    ) -> ExportTraceServiceResponse:
        self.metadata.append({key: str(value) for key, value in context.invocation_metadata()})
        self.requests.append(request)
        return ExportTraceServiceResponse()

    def __enter__(self) -> GrpcReceiver:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop(0)


class BlackHole:
    """Accepts TCP connections and never sends a byte."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self.endpoint = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            self._held.append(connection)

    def __enter__(self) -> BlackHole:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._socket.close()
        for connection in self._held:
            connection.close()


def refused_endpoint() -> str:
    """A loopback port with nothing listening: connections are refused at once."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"http://127.0.0.1:{port}"
