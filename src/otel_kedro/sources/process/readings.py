"""What a process reader gives the process-tree sampler: raw readings, and the reader protocol.

A reader answers two questions: which processes form the tree under a root (parents before
their children), and what one process's counters are right now. Kept apart from the readers
themselves so each reader imports only these types, and no reader imports another.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol


class Reading(NamedTuple):
    """One process's counters at one moment, as the platform gives them.

    A named tuple rather than a frozen dataclass: as immutable, a tenth of the cost to define
    (~1 ms of ``otel-kedro run``'s 100 ms start-up budget), and as cheap to create per sample.
    """

    pid: int
    ppid: int
    name: str
    cmd: str
    create_time: float
    status: str
    user: float  # the process's own CPU seconds
    system: float
    children_user: float  # CPU seconds of children it has waited for (and theirs)
    children_system: float
    rss: int
    vms: int
    hwm: int | None  # RSS high-water mark over the process's life, where the platform has one
    threads: int
    fds: int | None
    read_bytes: int | None  # cumulative, including children it has waited for (Linux)
    write_bytes: int | None
    pss: int | None
    uss: int | None
    denied: tuple[str, ...] = ()  # fields left None because access was denied


class Reader(Protocol):
    """Where the sampler's readings come from."""

    has_high_water_mark: bool
    notes: tuple[str, ...]  # what this reader can only approximate, for UsageSummary

    def tree(self, root: int, session: int | None = None) -> list[int]:
        """The root and all its descendants, parents first, then (with ``session``) the other
        processes of that session; empty when the root is gone.
        """
        ...

    def read(self, pid: int, full_memory: bool) -> Reading | None:
        """The process's counters, or None when it is gone or cannot be seen at all."""
        ...
