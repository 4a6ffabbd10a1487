"""OTLP JSON Lines ``metrics.jsonl``: already-processed metrics appended as OTLP requests.

The writer is a transport: it receives SDK ``Metric`` objects (process metrics, Kedro
durations) after the destination's privacy chain has run on them and on the resource, and
encodes them with ``opentelemetry-exporter-otlp-json-common``, one ``ExportMetricsServiceRequest``
per call, appended as one line with a single ``write(2)``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

from opentelemetry.sdk.metrics.export import Metric, MetricsData, ResourceMetrics, ScopeMetrics
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from otel_kedro import attributes as keys
from otel_kedro.exporters.append import AtomicAppendStream
from otel_kedro.model.run_folder import METRICS_FILE


class MetricsFileWriter:
    """Appends OTLP metrics to ``folder/metrics.jsonl``, one request per call, one line each.

    ``resource`` is written as given (already processed); the scope is otel-kedro's at
    ``scope_version``. Series start times are the sources' (see ``sources.process.metrics``).
    ``name`` is the file's name in ``folder`` (``otel-kedro run -p logs/run1_`` writes
    ``run1_metrics.jsonl``).
    """

    def __init__(
        self, folder: Path, resource: Resource, scope_version: str, *, name: str = METRICS_FILE
    ) -> None:
        self._resource = resource
        self._scope = InstrumentationScope(
            keys.INSTRUMENTATION_SCOPE, scope_version, keys.SCHEMA_URL
        )
        self._stream = AtomicAppendStream(folder / name)
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        """The file this writer appends to."""
        return Path(self._stream.name)

    def add_metrics(self, metrics: Sequence[Metric]) -> None:
        """Append the metrics as one line (nothing for no metrics); ``ValueError`` once closed."""
        if not metrics:
            return
        from opentelemetry.exporter.otlp.json.common.metrics_encoder import encode_metrics

        scope = ScopeMetrics(self._scope, list(metrics), keys.SCHEMA_URL)
        data = MetricsData([ResourceMetrics(self._resource, [scope], self._resource.schema_url)])
        line = json.dumps(encode_metrics(data).to_dict(), separators=(",", ":")) + "\n"
        with self._lock:
            if self._stream.closed:
                raise ValueError(f"{self.path} is closed")
            self._stream.write(line)
            self._stream.flush()

    def close(self) -> None:
        """Release the file; later additions raise ``ValueError``."""
        with self._lock:
            self._stream.close()
