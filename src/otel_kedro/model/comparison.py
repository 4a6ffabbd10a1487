"""Two runs side by side: per-node change in duration and peak memory, nodes added or removed,
and regressions above a threshold flagged — for `otel-kedro diff` and the report's "compared with
the previous run of this pipeline" section.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from otel_kedro.model.run_view import NodeRow, RunView

DEFAULT_THRESHOLD: Final = 0.2
# Changes below these are noise whatever their ratio (a 2 ms node taking 3 ms is not a regression).
MIN_SECONDS: Final = 0.05
MIN_BYTES: Final = 1_000_000


@dataclasses.dataclass(frozen=True)
class NodeChange:
    """One node present in both runs."""

    name: str
    before_s: float
    after_s: float
    before_peak: int | None
    after_peak: int | None
    slower: bool  # duration grew by more than the threshold (and more than MIN_SECONDS)
    bigger: bool  # peak memory grew by more than the threshold (and more than MIN_BYTES)

    @property
    def time_change(self) -> float | None:
        """Relative change of the duration (0.25 = 25 % slower); None from zero."""
        return (self.after_s - self.before_s) / self.before_s if self.before_s > 0 else None

    @property
    def memory_change(self) -> float | None:
        """Relative change of the peak memory; None when either run has no figure."""
        if not self.before_peak or self.after_peak is None:
            return None
        return (self.after_peak - self.before_peak) / self.before_peak

    @property
    def regression(self) -> bool:
        """Slower or bigger beyond the threshold."""
        return self.slower or self.bigger


@dataclasses.dataclass(frozen=True)
class Comparison:
    """What changed from run ``before`` to run ``after``."""

    before: RunView
    after: RunView
    threshold: float
    changes: tuple[NodeChange, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]

    @property
    def regressions(self) -> tuple[NodeChange, ...]:
        """Nodes flagged as regressions, worst time change first."""
        return tuple(c for c in self.changes if c.regression)


def parse_threshold(text: str) -> float:
    """``20%``, ``20`` or ``0.2`` as a fraction; ValueError otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(%?)\s*", text)
    if not match:
        raise ValueError(f"threshold {text!r} is not a percentage such as 20%")
    value = float(match.group(1))
    return value / 100 if match.group(2) or value >= 1 else value


def _by_name(run: RunView) -> dict[str, NodeRow]:
    nodes: dict[str, NodeRow] = {}
    for node in run.nodes:
        nodes.setdefault(node.name, node)
    return nodes


def compare(before: RunView, after: RunView, threshold: float = DEFAULT_THRESHOLD) -> Comparison:
    """Per-node changes from ``before`` to ``after``, worst slowdown first."""
    old, new = _by_name(before), _by_name(after)
    changes = []
    for name in old.keys() & new.keys():
        a, b = old[name], new[name]
        grown_s = b.duration_s - a.duration_s
        slower = grown_s > MIN_SECONDS and grown_s > threshold * a.duration_s
        bigger = False
        if a.peak_bytes is not None and b.peak_bytes is not None:
            grown_b = b.peak_bytes - a.peak_bytes
            bigger = grown_b > MIN_BYTES and grown_b > threshold * a.peak_bytes
        changes.append(
            NodeChange(name, a.duration_s, b.duration_s, a.peak_bytes, b.peak_bytes, slower, bigger)
        )
    changes.sort(key=lambda c: (-(c.after_s - c.before_s), c.name))
    return Comparison(
        before=before,
        after=after,
        threshold=threshold,
        changes=tuple(changes),
        added=tuple(sorted(new.keys() - old.keys())),
        removed=tuple(sorted(old.keys() - new.keys())),
    )
