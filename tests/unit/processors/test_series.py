"""processors.series: the chain on plain metric series, each distinct attribute set once."""

from __future__ import annotations

from typing import Any

from otel_kedro.model.metric_series import HistogramPoint, MetricSeries, NumberPoint
from otel_kedro.processors.chain import Chain
from otel_kedro.processors.series import PointAttributes, apply_to_series


def _counting_upper_chain(calls: list[dict[str, Any]]) -> Chain:
    def upper(attributes: Any) -> dict[str, Any]:
        calls.append(dict(attributes))
        return {k: v.upper() if isinstance(v, str) else v for k, v in attributes.items()}

    return Chain(steps=(upper,), text_steps=(str.upper,))


def _series() -> list[MetricSeries]:
    numbers = tuple(NumberPoint({"who": who, "pid": 7}, 1, 2, 3.0) for who in ("alice", "bob"))
    histogram = HistogramPoint({"who": "carol"}, 1, 2, 3, 1.5, (1, 2), (0.5,), 0.1, 0.9)
    return [
        MetricSeries("memory", "Resident memory.", "By", "updown", numbers),
        MetricSeries("took", "Wall time.", "s", "histogram", (histogram, histogram)),
    ]


def test_every_point_of_every_kind_goes_through_the_chain_and_nothing_else_changes() -> None:
    calls: list[dict[str, Any]] = []
    processed = apply_to_series(_series(), _counting_upper_chain(calls))
    assert [p.attributes["who"] for one in processed for p in one.points] == [
        "ALICE", "BOB", "CAROL", "CAROL"
    ]  # fmt: skip
    for before, after in zip(_series(), processed, strict=True):
        assert after._replace(points=()) == before._replace(points=())
        for old, new in zip(before.points, after.points, strict=True):
            assert new._replace(attributes={}) == old._replace(attributes={})
    # Three distinct attribute sets, three chain calls: the histogram's repeat is cached.
    assert calls == [{"who": "alice", "pid": 7}, {"who": "bob", "pid": 7}, {"who": "carol"}]
    assert [p.attributes["who"] for p in _series()[0].points] == ["alice", "bob"]


def test_sets_holding_lists_are_processed_every_time_and_the_cache_is_bounded() -> None:
    calls: list[dict[str, Any]] = []
    points = PointAttributes(_counting_upper_chain(calls))
    assert points({"tags": ["a", "b"]}) == {"tags": ["a", "b"]}
    assert points({"tags": ["a", "b"]}) == {"tags": ["a", "b"]}
    assert len(calls) == 2
    for index in range(4096 + 10):
        points({"n": index})
    calls.clear()
    points({"n": 0})
    points({"n": 4096 + 5})  # beyond the bound: processed again rather than kept
    assert calls == [{"n": 4096 + 5}]
