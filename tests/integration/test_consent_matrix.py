"""Every combination of vetoes, ``.telemetry`` and our own consent, at a real OTLP receiver: the
receiver sees a run exactly when the first matching source grants consent and no veto is set."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.support.kedro_projects import remote_env
from tests.support.otlp_json import DecodedSpan, read_spans
from tests.support.otlp_receivers import HttpReceiver
from tests.support.trace_checks import check_run_trace

HERE = Path(__file__).parents[1] / "support"
VETOES = [{}, {"DO_NOT_TRACK": "1"}, {"KEDRO_DISABLE_TELEMETRY": "0"}]
TELEMETRY = {"true": "consent: true\n", "false": "consent: false\n",
             "malformed": "consent: [true\n", "missing": None}  # fmt: skip
OURS = {"true": "consent: true\n", "false": "consent: false\n",
        "malformed": "consent: perhaps\n", "missing": None}  # fmt: skip


PROCESSING_NODES = frozenset({"check_quality", "clean_sales", "add_features", "aggregate_daily"})


def _key(trace_id: str, span_id: str, parent_id: str, name: str) -> tuple[str, str, str, str]:
    return trace_id, span_id, parent_id, name


def _local(span: DecodedSpan) -> tuple[str, str, str, str]:
    return _key(span.trace_id, span.span_id, span.parent_id, span.name)


def _received(requests: list[ExportTraceServiceRequest]) -> list[tuple[str, str, str, str]]:
    """Every span the receiver got, as (trace id, span id, parent id, name), repeats kept."""
    return [
        _key(span.trace_id.hex(), span.span_id.hex(), span.parent_span_id.hex(), span.name)
        for request in requests
        for resource_spans in request.resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
    ]


def _expected(veto: dict[str, str], telemetry: str, ours: str) -> bool:
    if veto:
        return False
    if ours != "missing":  # a malformed value of ours means "not given", never a lower layer's
        return ours == "true"
    return telemetry == "true"


def test_traffic_exactly_when_the_first_matching_source_grants(
    example_project: Path, tmp_path: Path
) -> None:
    # kedro-telemetry's own hooks would read the same files (and crash on a malformed one):
    # this in-process matrix turns them off the way Kedro documents.
    settings = example_project / "src" / "retail_demo" / "settings.py"
    settings.write_text(
        settings.read_text() + '\nDISABLE_HOOKS_FOR_PLUGINS = ("kedro-telemetry",)\n'
    )
    combos = list(itertools.product(range(len(VETOES)), TELEMETRY, OURS))
    cases = [
        {"veto": VETOES[v], "telemetry": TELEMETRY[t], "ours": OURS[o], "label": [v, t, o]}
        for v, t, o in combos
    ]
    case_file = tmp_path / "cases.json"
    case_file.write_text(json.dumps(cases))
    with HttpReceiver() as receiver:
        env = remote_env(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
                         OTEL_KEDRO_DELIVERY_WAIT="10")  # fmt: skip
        env.pop("OTEL_KEDRO_CONSENT")  # consent comes from each case's files
        result = subprocess.run(
            [sys.executable, str(HERE / "consent_matrix_script.py"), str(example_project),
             str(case_file)],
            env=env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        time.sleep(0.5)
    received = _received(receiver.requests)
    outcomes = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(outcomes) == len(combos) == 48
    assert [o["case"]["label"] for o in outcomes] == [c["label"] for c in cases]
    wanted: list[tuple[str, str, str, str]] = []
    wrong = []
    for outcome in outcomes:
        v, t, o = outcome["case"]["label"]
        spans = read_spans(Path(outcome["folder"]) / "traces.jsonl")
        # Whatever consent says, the local file holds the whole run: command, run and nodes.
        assert spans, f"empty trace file for {outcome['case']['label']}"
        check_run_trace(spans, command=True, expect_nodes=PROCESSING_NODES)
        local = {_local(span) for span in spans}
        got = local & set(received)
        sent = got == local
        assert sent or not got, f"a run is sent whole or not at all: {outcome['case']['label']}"
        if sent != _expected(VETOES[v], t, o):
            wrong.append((VETOES[v], t, o, sent))
        if _expected(VETOES[v], t, o):
            wanted += sorted(local)
    assert wrong == []
    assert any(_expected(VETOES[v], t, o) for v, t, o in combos)
    # Exactly the granted runs' spans, each once, and nothing else.
    assert sorted(received) == sorted(wanted)
    assert len({trace for trace, *_ in wanted}) == sum(
        _expected(VETOES[v], t, o) for v, t, o in combos
    )
    # A malformed value is a warning naming the file, never a crash.
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    flat = " ".join(output.split())  # the log handler may wrap long lines
    assert ".telemetry: is not valid YAML" in flat
    assert "key 'consent' has value 'perhaps'; expected true or false" in flat
