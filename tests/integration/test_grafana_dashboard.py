"""The Grafana dashboard in ``collector-config/grafana/kedro-runs.json``: well-formed, wired to
the provisioned data sources, and every metric, label and attribute its queries name is one a
real run emits (or the Collector's span_metrics connector produces from it), under Prometheus'
OTLP name translation (see ``tests/support/prometheus_names.py``, checked here too).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import Gauge, Histogram, Sum

from otel_kedro import attributes
from otel_kedro.config.settings import Settings
from otel_kedro.testing import CapturedRun, run_session
from tests.support.collector_configs import DASHBOARD, GRAFANA_DIR, collector_config, load_yaml
from tests.support.kedro_projects import ROOT, copy_example
from tests.support.prometheus_names import Kind, label_name, metric_name, series_names
from tests.support.promql import PromqlUnavailableError, ensure_parser, parse

# Labels Prometheus adds itself: job (service.name), instance, and the histogram bucket bound.
PROMETHEUS_LABELS = {"job", "instance", "le"}
# Dimensions the span_metrics connector always adds.
SPAN_METRICS_DIMENSIONS = ("service.name", "span.name", "span.kind", "status.code")


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return document


@pytest.fixture(scope="module")
def promql_parser() -> Path:
    try:
        return ensure_parser()
    except PromqlUnavailableError as error:
        pytest.skip(f"Prometheus' PromQL parser cannot be installed here: {error}")


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> CapturedRun:
    project = copy_example(tmp_path_factory.mktemp("dashboard"))
    captured = run_session(project, project / Settings.output_dir)
    assert captured.error is None, captured.error
    return captured


def _kind(data: object) -> Kind:
    if isinstance(data, Histogram):
        return "histogram"
    if isinstance(data, Sum) and data.is_monotonic:
        return "counter"
    assert isinstance(data, (Sum, Gauge)), data
    return "gauge"


def _emitted(run: CapturedRun) -> dict[str, set[str]]:
    """Prometheus series name -> the labels its points carry, for everything a run emits and
    for the span_metrics connector as grafana.yaml configures it."""
    series: dict[str, set[str]] = {}
    for data in run.metrics:
        for resource_metrics in data.resource_metrics:
            for scope in resource_metrics.scope_metrics:
                for metric in scope.metrics:
                    kind = _kind(metric.data)
                    labels = {
                        label_name(key)
                        for point in metric.data.data_points
                        for key in (point.attributes or {})
                    } | {"job", "instance"}
                    for name in series_names(metric.name, metric.unit or "", kind):
                        extra = {"le"} if name.endswith("_bucket") else set()
                        series.setdefault(name, set()).update(labels | extra)
    connector = collector_config("grafana.yaml")["connectors"]["span_metrics"]
    namespace = connector["namespace"]
    dimensions = [*SPAN_METRICS_DIMENSIONS, *(d["name"] for d in connector["dimensions"])]
    labels = {label_name(key) for key in dimensions} | {"job", "instance"}
    unit = connector["histogram"]["unit"]
    series[metric_name(f"{namespace}.calls", "{call}", "counter")] = labels
    for name in series_names(f"{namespace}.duration", unit, "histogram"):
        series[name] = labels | ({"le"} if name.endswith("_bucket") else set())
    return series


def _promql(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """Every PromQL expression with the text naming its labels (legend, or variable label)."""
    expressions = [
        (target["expr"], target.get("legendFormat", ""))
        for panel in dashboard["panels"]
        for target in panel["targets"]
        if target["datasource"]["type"] == "prometheus"
    ]
    for variable in dashboard["templating"]["list"]:
        inner = variable["definition"].removeprefix("label_values(").removesuffix(")")
        selector, _, label = inner.rpartition(",")
        expressions.append(
            (selector if "{" in selector else selector + "{}", f"{{{{{label.strip()}}}}}")
        )
    return expressions


class TestPrometheusNames:
    """The translation the dashboard relies on, on the examples Prometheus and the Collector
    document (and the span_metrics names the Collector's users query)."""

    @pytest.mark.parametrize(
        ("name", "unit", "kind", "expected"),
        [
            ("process.cpu.time", "s", "counter", "process_cpu_time_seconds_total"),
            ("process.cpu.utilization", "1", "gauge", "process_cpu_utilization_ratio"),
            ("process.memory.usage", "By", "gauge", "process_memory_usage_bytes"),
            ("process.thread.count", "{thread}", "gauge", "process_thread_count"),
            ("http.server.request.duration", "s", "histogram", "http_server_request_duration_seconds"),
            ("traces.span.metrics.calls", "{call}", "counter", "traces_span_metrics_calls_total"),
            ("traces.span.metrics.duration", "s", "histogram", "traces_span_metrics_duration_seconds"),
            ("traces.span.metrics.duration", "ms", "histogram", "traces_span_metrics_duration_milliseconds"),
            ("already_seconds", "s", "gauge", "already_seconds"),
        ],
    )  # fmt: skip
    def test_translation(self, name: str, unit: str, kind: Kind, expected: str) -> None:
        assert metric_name(name, unit, kind) == expected

    def test_labels(self) -> None:
        assert label_name("cicd.pipeline.task.name") == "cicd_pipeline_task_name"
        assert label_name("service.name") == "service_name"

    def test_unknown_unit_is_an_error(self) -> None:
        with pytest.raises(ValueError, match="unit"):
            metric_name("kedro.odd", "furlong", "gauge")


class TestDashboard:
    def test_well_formed(self, dashboard: dict[str, Any]) -> None:
        assert dashboard["uid"] == "otel-kedro-runs"
        ids = [panel["id"] for panel in dashboard["panels"]]
        assert len(ids) == len(set(ids)) >= 10
        cells: set[tuple[int, int]] = set()
        for panel in dashboard["panels"]:
            for field in ("title", "description", "targets"):
                assert panel[field], (panel["id"], field)
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24, panel["title"]
            area = {(grid["x"] + dx, grid["y"] + dy) for dx in range(grid["w"]) for dy in range(grid["h"])}  # fmt: skip
            assert not cells & area, f"{panel['title']} overlaps another panel"
            cells |= area

    def test_every_data_source_is_provisioned(self, dashboard: dict[str, Any]) -> None:
        provisioned = {
            (source["type"], source["uid"])
            for source in load_yaml(GRAFANA_DIR / "datasources.yaml")["datasources"]
        }
        used = {
            (thing["datasource"]["type"], thing["datasource"]["uid"])
            for panel in dashboard["panels"]
            for thing in (panel, *panel["targets"])
        }
        assert used == provisioned

    def test_covers_what_the_issue_asks(self, dashboard: dict[str, Any]) -> None:
        text = json.dumps(dashboard)
        for needed in (
            "cicd_pipeline_result",  # runs over time with result
            "kedro_run_duration_seconds",  # run durations, from our histograms
            "kedro_node_duration_seconds",  # node durations, from our histograms
            "traces_span_metrics_duration_seconds_bucket",  # and from span_metrics
            'cicd_pipeline_task_run_result=\\"failure\\"',  # failures
            "process_cpu_time_seconds_total",  # CPU of the process tree
            "process_memory_usage_bytes",  # memory of the process tree
        ):
            assert needed in text, needed

    def test_every_query_parses_and_names_what_a_run_emits(
        self, dashboard: dict[str, Any], real_run: CapturedRun, promql_parser: Path
    ) -> None:
        """Parsed by Prometheus' grammar: no syntax error, every metric is a series a run (or
        span_metrics) makes, every matcher, grouping and legend label is one those series carry,
        and a legend never names a label its query sums away."""
        series = _emitted(real_run)
        queries = _promql(dashboard)
        checked = 0
        for (expression, legend), parsed in zip(queries, parse([q for q, _ in queries], promql_parser), strict=True):  # fmt: skip
            assert parsed.errors == (), (expression, parsed.errors)
            assert parsed.metrics, expression
            for name in parsed.metrics:
                assert name in series, f"{name} is not a series a run (or span_metrics) makes"
            carried = set.union(*(series[name] for name in parsed.metrics))
            grouped = [label for group in parsed.grouping for label in group]
            for label in (*parsed.matchers, *grouped):
                assert label in carried, (label, expression)
                checked += 1
            # An aggregation keeps only its by-labels; without one, every label is kept.
            kept = set(parsed.grouping[0]) if parsed.grouping else carried
            for label in re.findall(r"\{\{(\w+)\}\}", legend):
                assert label in kept, (
                    "the legend names a label the query drops",
                    label,
                    expression,
                )
        assert checked > 30

    def test_the_parser_finds_mistakes(self, promql_parser: Path) -> None:
        """The check above can fail: a broken expression reports an error."""
        (broken,) = parse(["sum by (le (rate(process_cpu_time_seconds_total[5m]))"], promql_parser)
        assert broken.errors

    def test_tempo_and_loki_queries_name_our_attributes(self, dashboard: dict[str, Any]) -> None:
        emitted = {value for value in vars(attributes).values() if isinstance(value, str)}
        queries = {
            target["datasource"]["type"]: target.get("query") or target.get("expr")
            for panel in dashboard["panels"]
            for target in panel["targets"]
            if target["datasource"]["type"] in {"tempo", "loki"}
        }
        traceql = re.findall(r"\bspan\.([a-zA-Z0-9_.]+)", queries["tempo"])
        assert traceql
        assert set(traceql) <= emitted, traceql
        # Loki's OTLP endpoint indexes service.name as the label service_name.
        labels = re.findall(r"(\w+)\s*(?:=~|=)", queries["loki"])
        assert labels == [label_name(attributes.SERVICE_NAME)]

    def test_readme_names_the_series_prometheus_stores(self, real_run: CapturedRun) -> None:
        """The README's table of Prometheus names lists series a run (or span_metrics) makes."""
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        section = readme.split("## See it in your stack", 1)[1].split("\n## ", 1)[0]
        names = re.findall(r"`((?:process|kedro|traces)_[a-z_]+)", section)
        assert len(names) >= 6
        series = _emitted(real_run)
        for name in (name.rstrip("_") for name in names):
            assert any(s == name or s.startswith(f"{name}_") for s in series), name
