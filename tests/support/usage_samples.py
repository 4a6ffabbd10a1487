"""Hand-made process-tree samples with known values, for the tests of metrics and their files."""

from __future__ import annotations

from typing import Any

from otel_kedro.model.usage import ProcessUsage, TreeSample

T0 = 1_800_000_000.0
MB = 1_000_000


def process(pid: int, ppid: int, name: str, *, at: int, rss: int, **changes: Any) -> ProcessUsage:
    """A process at sample ``at``; its command line holds a secret that must never be written."""
    values: dict[str, Any] = {
        "pid": pid, "ppid": ppid, "name": name, "cmd": f"{name} --password=hunter2 run",
        "create_time": T0 - 10 + pid / 1000, "status": "running",
        "cpu_user": 1.0 + 0.2 * at, "cpu_system": 0.05 * at, "cpu_percent": 50.0 if at else 0.0,
        "rss": rss, "vms": 4 * rss, "peak_rss": rss, "pss": None, "uss": None,
        "threads": 2 + at, "fds": 7, "read_bytes": 1000 * at, "write_bytes": 500 * at,
    }  # fmt: skip
    values.update(changes)
    return ProcessUsage(**values)


def samples() -> list[TreeSample]:
    """Four samples of a parent and a worker; the worker spikes to 500 MB at the third only."""
    result = []
    for index in range(4):
        worker_rss = 500 * MB if index == 2 else 40 * MB
        parent = process(100, 1, "kedro", at=index, rss=90 * MB, pss=80 * MB)
        worker = process(101, 100, "python3", at=index, rss=worker_rss, fds=None, read_bytes=None)
        result.append(
            TreeSample(
                timestamp=T0 + index * 0.5,
                interval=0.0 if index == 0 else 0.5,
                processes=(parent, worker),
                cpu_user=parent.cpu_user + worker.cpu_user + 3.0,  # 3 s of exited children
                cpu_system=parent.cpu_system + worker.cpu_system,
                cpu_percent=100.0 if index else 0.0,  # two processes at 50 %
                rss=parent.rss + worker.rss,
                vms=parent.vms + worker.vms,
                pss=70 * MB + index,
                peak_rss=max(130 * MB, 590 * MB if index >= 2 else 0),
                threads=parent.threads + worker.threads,
                fds=None,
                read_bytes=10_000 + index,
                write_bytes=20_000 + index,
            )
        )
    return result


def ns(seconds: float) -> int:
    """Unix seconds as OTLP nanoseconds, rounded as the writers round them."""
    return round(seconds * 1e9)
