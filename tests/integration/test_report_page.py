"""The HTML report in a real browser (Debian's Chromium through Playwright): it loads with no
console error, asks for nothing but itself, shows every node of the example in the waterfall and
the graph, and shows a failing run's exception.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from otel_kedro.testing import CapturedRun, run_session
from tests.support.browser import open_file
from tests.support.kedro_projects import EXAMPLE_NODES, copy_example


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, CapturedRun]]:
    root = tmp_path_factory.mktemp("page")
    project = copy_example(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KEDRO_DISABLE_TELEMETRY", "1")
        patch.setenv("OTEL_KEDRO_SAMPLE_INTERVAL", "0.1")
        for name in ("OTEL_SDK_DISABLED", "TRACEPARENT", "OTEL_KEDRO_SAMPLER", "OTEL_KEDRO_REPORT"):
            patch.delenv(name, raising=False)
        yield {
            "first": run_session(project, root / "runs"),
            "second": run_session(project, root / "runs"),
            "failing": run_session(
                project, root / "runs", runtime_params={"quality": {"fail": True}}
            ),
        }


def _names(page: object, selector: str, attribute: str) -> set[str]:
    return set(
        page.eval_on_selector_all(  # type: ignore[attr-defined]
            selector, f"els => els.map(e => e.getAttribute('{attribute}'))"
        )
    )


def test_the_report_of_a_run_is_whole_and_self_contained(
    runs: dict[str, CapturedRun], tmp_path: Path
) -> None:
    report = runs["second"].folder / "report.html"
    with open_file(report) as opened:
        page = opened.page
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        assert opened.console_errors == []
        assert opened.requests == [report.resolve().as_uri()]
        assert _names(page, ".waterfall [data-node]", "data-node") == EXAMPLE_NODES
        assert _names(page, ".graph [data-node]", "data-node") == EXAMPLE_NODES
        datasets = _names(page, ".graph [data-dataset]", "data-dataset")
        assert {"sales_raw", "daily_sales", "final_report"} <= datasets
        assert page.locator(".usage polyline.cpu").count() == 1
        assert page.locator(".phases text", has_text="RUN __default__").count() >= 1
        comparison = page.locator("#comparison")
        first_id = runs["first"].span("RUN __default__").attributes["cicd.pipeline.run.id"]
        assert first_id in comparison.inner_text()
        assert comparison.locator("tbody tr").count() == len(EXAMPLE_NODES)
        # Marking a node by name highlights it in the waterfall and the graph.
        page.fill("#find", "simulate_forecast")
        assert page.locator(".hit").count() == 2
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_a_failing_run_shows_its_exception(runs: dict[str, CapturedRun], tmp_path: Path) -> None:
    report = runs["failing"].folder / "report.html"
    with open_file(report) as opened:
        page = opened.page
        page.screenshot(path=str(tmp_path / "failing.png"), full_page=True)
        assert opened.console_errors == []
        assert opened.requests == [report.resolve().as_uri()]
        failures = page.locator("#failures")
        assert failures.is_visible()
        text = failures.inner_text()
        assert "check_quality: ValueError" in text
        assert "sales quality check failed" in text
        assert "Traceback" in text
        assert page.locator(".graph .node.failed", has_text="check_quality").count() == 1
        assert page.locator("header .badge.failure").is_visible()
