"""The chain on metric points: each distinct attribute set once, as a run writes the same few
sets on every sample.

Without the OpenTelemetry SDK (plain :class:`~otel_kedro.model.metric_series.MetricSeries`):
``otel-kedro run`` uses it within its start-up budget, and :mod:`.apply` builds its SDK metric
adapter on :class:`PointAttributes`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

    from otel_kedro.model.metric_series import MetricSeries
    from otel_kedro.processors.chain import Chain

_LIMIT: Final = 4096


class PointAttributes:
    """Applies a chain to data points' attribute sets, caching up to 4,096 distinct sets."""

    def __init__(self, chain: Chain) -> None:
        self._chain = chain
        self._cache: dict[tuple[tuple[str, object], ...], dict[str, AttributeValue]] = {}

    def __call__(
        self, attributes: Mapping[str, AttributeValue] | None
    ) -> dict[str, AttributeValue]:
        """The processed attribute set (the same dict for equal sets)."""
        original = dict(attributes or {})
        try:
            key = tuple(sorted(original.items()))
            hash(key)
        except TypeError:  # a list value: not cacheable
            return self._chain.attributes(original)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._chain.attributes(original)
            if len(self._cache) < _LIMIT:
                self._cache[key] = cached
        return cached

    def series(self, series: MetricSeries) -> MetricSeries:
        """The series with every point's attributes processed (the chain keeps value types)."""
        points = tuple(
            p._replace(attributes=self(p.attributes))  # type: ignore[arg-type]
            for p in series.points
        )
        return series._replace(points=points)  # type: ignore[arg-type]


def apply_to_series(series: Sequence[MetricSeries], chain: Chain) -> list[MetricSeries]:
    """Every point's attributes through the chain."""
    points = PointAttributes(chain)
    return [points.series(one) for one in series]
