"""OTLP transport of log records: the SDK's own OTLP log exporters (HTTP/protobuf or gRPC),
configured like the traces and metrics ones beside them (every ``OTEL_EXPORTER_OTLP_*`` and
``OTEL_EXPORTER_OTLP_LOGS_*`` variable), fed records the OTLP chain already processed.

Many backends take traces but no logs (Jaeger, Phoenix, MLflow): that answer (HTTP 404, 405 or
501, gRPC UNIMPLEMENTED) raises :class:`LogsUnsupported`, which the caller remembers instead of
retrying.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from otel_kedro.exporters.otlp import NotDelivered, OtlpTarget, _Send

if TYPE_CHECKING:
    from opentelemetry.sdk._logs import ReadableLogRecord

# Records per request: far below the HTTP exporter's request limit for any real run's lines.
_RECORDS_PER_REQUEST: Final = 2048


class LogsUnsupported(NotDelivered):
    """The backend has no logs endpoint (HTTP 404/405/501, gRPC UNIMPLEMENTED)."""


def send_logs(records: Sequence[ReadableLogRecord], target: OtlpTarget) -> None:
    """Send ``records`` to the target's logs endpoint; raise :class:`LogsUnsupported` when the
    backend takes no logs, :class:`NotDelivered` unless every request was acknowledged.
    """
    if not records:
        return
    from opentelemetry.sdk._logs.export import LogRecordExportResult

    with _Send(target, "logs", unsupported=LogsUnsupported) as send:
        exporter = send.exporter()
        for start in range(0, len(records), _RECORDS_PER_REQUEST):
            batch = records[start : start + _RECORDS_PER_REQUEST]
            if exporter.export(batch) is not LogRecordExportResult.SUCCESS:
                raise send.failure()
