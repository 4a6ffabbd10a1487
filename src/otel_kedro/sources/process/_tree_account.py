"""The process tree's cumulative counters and peak memory, kept honest across exiting processes.

**Cumulative CPU and disk I/O.** Each process contributes its own counters plus those of the
children it has waited for (Linux folds a reaped child's CPU into the parent's
``children_user``/``children_system`` and its I/O into the parent's ``/proc/<pid>/io``). The tree
total is the sum over live processes, plus, for each process that has left since it was last
seen, its last seen value held *pending* against its parent. When the parent's reaped counter
then grows, that growth settles the pending amount (at most the pending amount is settled, and
never more than the growth), so a child is counted once whether it is seen live, seen as a
zombie, or missed between the parent's reading and its own. A child that lives and dies between
two samples is never seen, but the parent's reaped counter brings it in. Pending amounts of a
process that leaves pass to its own parent; those of a process whose parent is outside the tree
(the root, or a descendant re-parented to init) stay in the total for good. Every step adds
only non-negative amounts, and as a last guard the total never goes below its previous value,
so the tree's cumulative CPU and I/O never go down. Values are reported from the first sample
on (the baseline is subtracted), so a long-lived root's earlier CPU is not counted.

**Peak RSS.** The tree's peak is the largest of: the sampled RSS sum; for each process whose
high-water mark (``VmHWM``) rose since the last sample, that mark plus, for every other process
live at both samples, the lower of its two sampled RSS values; and the largest RSS of reaped
children (``ru_maxrss``) when it rose during sampling. It is a lower bound of the true peak of
the RSS sum provided no other process dipped below both of its sampled values in the interval
where one process peaked; it catches one process's spike between samples, but not several
processes peaking together between samples (each is added with the others' sampled values).
A high-water mark already there at the first sample may predate the sampler (a notebook that
once held more), so a process present at the baseline only counts its mark once it exceeds
its baseline mark; until then its spikes are seen only when sampled (the summary says so when
the baseline mark is well above the process's RSS). A mark that goes down means a new memory
image (``exec``): from then on the whole mark is the sampler's to count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from otel_kedro.sources.process.readings import Reading

Key = tuple[int, float]  # pid, create time: a pid reused by a new process is a new key
_DIMS = 4  # user CPU, system CPU, read bytes, written bytes
_NEGLIGIBLE = 16 << 20  # a baseline mark this close above the RSS hides no spike worth noting


class _Known(NamedTuple):  # named tuples: cheap to define on otel-kedro run's start-up path
    parent: Key | None
    depth: int
    total: list[float]  # own plus reaped, per dimension
    claimable: list[float]  # the part that grows when a child is reaped
    rss: int
    hwm: int
    floor: int  # a high-water mark at or below this may predate the sampler
    peak: int


class Update(NamedTuple):
    """What one sample adds up to, for the sampler to report."""

    cumulative: tuple[float, ...]  # user, system, read, written since the first sample
    peaks: dict[Key, int]  # each live process's peak RSS during sampling
    tree_peak: int
    predating: tuple[tuple[int, int], ...]  # (pid, baseline high-water mark) above current RSS


class TreeAccount:
    """Keeps the per-process history that makes the tree's totals monotonic and its peak true."""

    def __init__(self) -> None:
        self._known: dict[Key, _Known] = {}
        self._pending: dict[Key | None, list[float]] = {}
        self._base: list[float] | None = None
        self._last: list[float] = [0.0] * _DIMS
        self._reaped_floor = 0
        self._peak = 0
        self._predating: tuple[tuple[int, int], ...] = ()

    def update(self, readings: Sequence[Reading], reaped_peak: int | None) -> Update:
        """Fold one sample (parents before children) into the totals and the peak."""
        first = self._base is None
        previous, current = self._known, dict[Key, _Known]()
        keys: dict[int, Key] = {}
        steady_rss = 0  # sum over processes live at both samples of their lower RSS
        rises: list[tuple[Key, int]] = []
        for reading in readings:
            key = (reading.pid, reading.create_time)
            keys[reading.pid] = key
            parent = keys.get(reading.ppid)
            before = previous.get(key)
            known = self._fold(reading, before, parent, current, first)
            current[key] = known
            if before is not None:
                steady_rss += min(before.rss, known.rss)
            if known.hwm > known.floor and (before is None or known.hwm != before.hwm):
                rises.append((key, known.hwm))
        self._settle(previous, current)
        self._known = current

        total = [sum(known.total[i] for known in current.values()) for i in range(_DIMS)]
        for owed in self._pending.values():
            total = [a + b for a, b in zip(total, owed, strict=True)]
        if self._base is None:
            self._base = total
            self._predating = tuple(
                (key[0], known.floor)
                for key, known in current.items()
                if known.floor - known.rss > max(known.rss // 10, _NEGLIGIBLE)
            )
        self._last = [max(a, b - c) for a, b, c in zip(self._last, total, self._base, strict=True)]

        candidate = sum(known.rss for known in current.values())
        for key, hwm in rises:
            before = previous.get(key)
            own = min(before.rss, current[key].rss) if before is not None else 0
            candidate = max(candidate, hwm + steady_rss - own)
        if reaped_peak is not None:
            if first:
                self._reaped_floor = reaped_peak
            elif reaped_peak > self._reaped_floor:
                candidate = max(candidate, reaped_peak)
        self._peak = max(self._peak, candidate)
        return Update(
            cumulative=tuple(self._last),
            peaks={key: known.peak for key, known in current.items()},
            tree_peak=self._peak,
            predating=self._predating,
        )

    @staticmethod
    def _fold(
        reading: Reading,
        before: _Known | None,
        parent: Key | None,
        current: dict[Key, _Known],
        first: bool,
    ) -> _Known:
        last_io = before.total[2:] if before is not None else [0.0, 0.0]
        read = last_io[0] if reading.read_bytes is None else float(reading.read_bytes)
        written = last_io[1] if reading.write_bytes is None else float(reading.write_bytes)
        total = [reading.user + reading.children_user, reading.system + reading.children_system]
        claimable = [reading.children_user, reading.children_system, read, written]
        total += [read, written]
        if before is not None:  # counters only grow; a lower reading is noise, keep the last
            total = [max(a, b) for a, b in zip(total, before.total, strict=True)]
            claimable = [max(a, b) for a, b in zip(claimable, before.claimable, strict=True)]
        hwm = reading.hwm or 0
        if first:
            floor = hwm
        elif before is None or hwm < before.hwm:  # new, or a new memory image (exec): all ours
            floor = 0
        else:
            floor = before.floor
        peak = max(before.peak if before is not None else 0, reading.rss)
        if hwm > floor:
            peak = max(peak, hwm)
        depth = current[parent].depth + 1 if parent is not None else 0
        return _Known(parent, depth, total, claimable, reading.rss, hwm, floor, peak)

    def _settle(self, previous: dict[Key, _Known], current: dict[Key, _Known]) -> None:
        """Hold the processes that left against their parents; settle what parents reaped."""
        pending = self._pending
        gone = [key for key in previous if key not in current]
        for key in sorted(gone, key=lambda key: -previous[key].depth):  # children first
            left = previous[key]
            owed = pending.pop(key, [0.0] * _DIMS)
            into = pending.setdefault(left.parent, [0.0] * _DIMS)
            for i in range(_DIMS):
                into[i] += left.total[i] + owed[i]
        for key, known in current.items():
            owed_by = pending.get(key)
            before = previous.get(key)
            if owed_by is None or before is None:
                continue
            for i in range(_DIMS):
                owed_by[i] -= min(owed_by[i], known.claimable[i] - before.claimable[i])
            if not any(owed_by):
                del pending[key]
