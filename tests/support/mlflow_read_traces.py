"""Print every trace of one MLflow experiment as JSON, read through MLflow's own client.

Run by the MLflow test environment's interpreter (not ours): ``python mlflow_read_traces.py
TRACKING_URI EXPERIMENT_ID``. Each trace is found with ``MlflowClient.search_traces`` (all
pages) and read again with ``get_trace``; each span is printed with the fields a test compares
with the local trace file: OpenTelemetry span id and trace id (hex), parent id, name, status.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def _span(span: Any) -> dict[str, Any]:
    proto = span.to_otel_proto()  # the OpenTelemetry view of the span: ids as bytes
    return {
        "span_id": proto.span_id.hex(),
        "trace_id": proto.trace_id.hex(),
        "parent_id": proto.parent_span_id.hex() or None,
        "name": span.name,
        "status": str(span.status.status_code.value),
    }


def main(tracking_uri: str, experiment_id: str) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    found = []
    token = None
    while True:
        page = client.search_traces(
            locations=[experiment_id], max_results=100, page_token=token, include_spans=False
        )
        found.extend(page)
        token = page.token
        if not token:
            break
    traces = []
    for summary in found:
        trace = client.get_trace(summary.info.trace_id, display=False)
        spans = [_span(span) for span in trace.data.spans]
        traces.append({"trace_id": trace.info.trace_id, "spans": spans})
    json.dump(traces, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
