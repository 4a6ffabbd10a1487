"""What the process-tree sampler measures: the values shared by the sampler and its writers.

The sampler (:mod:`otel_kedro.sources.process.sampler`) produces :class:`TreeSample` values, one per
interval, and a :class:`UsageSummary` when it stops. Writers (OTLP metrics, con-duct files, the
end-of-run summary) only read these values, so each can be tested by handing it samples.
Sizes are bytes, times are seconds, timestamps are Unix seconds (``time.time()``), and CPU
percentages count one fully busy core as 100. They are named tuples rather than frozen
dataclasses: as immutable, and a tenth of the cost to define (``otel-kedro run`` imports this
module on its 100 ms start-up path); ``_replace`` makes a changed copy.
"""

from __future__ import annotations

from typing import NamedTuple


class ProcessUsage(NamedTuple):
    """One process of the tree at one sample."""

    pid: int
    ppid: int
    name: str  # executable base name
    cmd: str  # the command line; writers pass it through their privacy chain
    create_time: float
    status: str  # psutil's status name, e.g. "running", "sleeping", "zombie"
    cpu_user: float  # cumulative, this process and its children it already reaped
    cpu_system: float
    cpu_percent: float  # utilisation over the last interval (cumulative counters, not ps's)
    rss: int
    vms: int
    peak_rss: int  # high-water mark (Linux VmHWM) where the platform has one, else max seen
    pss: int | None  # only when PSS/USS sampling is enabled and the platform has it
    uss: int | None
    threads: int
    fds: int | None  # open file descriptors; None where the platform does not say
    read_bytes: int | None  # cumulative disk I/O; None where the platform does not say
    write_bytes: int | None


class TreeSample(NamedTuple):
    """The whole process tree (root and every descendant) at one sample."""

    timestamp: float
    interval: float  # seconds since the previous sample; 0.0 for the first
    processes: tuple[ProcessUsage, ...]
    cpu_user: float  # cumulative for the tree, including descendants that already exited
    cpu_system: float
    cpu_percent: float  # tree utilisation over the interval
    rss: int  # sum over live processes (overcounts pages shared by forked workers)
    vms: int
    pss: int | None  # sum of PSS when enabled: shared pages counted once in total
    peak_rss: int  # the tree's peak so far, catching spikes between samples (see the sampler)
    threads: int
    fds: int | None
    read_bytes: int | None  # cumulative
    write_bytes: int | None


class UsageSummary(NamedTuple):
    """The run as a whole, for the end-of-run summary and con-duct's ``execution_summary``."""

    start_time: float
    end_time: float
    num_samples: int
    cpu_user: float  # seconds, whole tree, including exited descendants
    cpu_system: float
    peak_rss: int
    average_rss: float
    peak_vms: int
    average_vms: float
    peak_pss: int | None
    average_pss: float | None
    peak_pcpu: float  # highest interval utilisation of the tree
    average_pcpu: float  # CPU seconds / wall seconds * 100
    memory_total: int  # physical memory of the machine
    cpu_total: int  # logical CPUs
    approximations: tuple[str, ...]  # which numbers this platform can only approximate, and why

    @property
    def wall_clock_time(self) -> float:
        """Seconds from the first to the last sample."""
        return max(0.0, self.end_time - self.start_time)

    @property
    def cpu_seconds(self) -> float:
        """User plus system CPU seconds of the whole tree."""
        return self.cpu_user + self.cpu_system


class NodeFigure(NamedTuple):
    """One node as the end-of-run summary names it: how long it ran and its memory peak."""

    name: str
    seconds: float
    peak_bytes: int | None  # ``kedro.node.memory.peak``, where the node span has it
