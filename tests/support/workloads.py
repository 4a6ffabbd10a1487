"""Workloads with known resource usage, for the sampler's tests and its benchmark.

    python tests/workloads.py NAME [--pace SECONDS]

Each workload measures its own ground truth (getrusage, its own high-water mark, the clock) and
prints it as one JSON line on stdout. Without ``--pace`` it reads a line from stdin before the
work, prints its result after, and then waits for stdin to close before it exits, so a test can
take samples while the finished workload is still there. With ``--pace`` it waits that many
seconds before and after the work instead (for tools such as con-duct that wrap a command).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

MB = 1_000_000
_HELD: list[bytes] = []  # memory a workload keeps until the process exits
WORKLOADS = Path(__file__).resolve()
BURN = (
    "import resource, sys\n"
    "def used():\n"
    "    r = resource.getrusage(resource.RUSAGE_SELF)\n"
    "    return r.ru_utime + r.ru_stime\n"
    "end = used() + float(sys.argv[1])\n"
    "while used() < end:\n"
    "    sum(range(10000))\n"
)


def cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def max_rss() -> int:
    """This process's RSS high-water mark in bytes. On Linux VmHWM, not ru_maxrss: the kernel
    carries the forked parent's size (pytest's) into the maxrss of an exec'd child.
    """
    status = Path("/proc/self/status")
    if status.exists():
        return int(status.read_text().split("VmHWM:")[1].split()[0]) * 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def rss_now() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def burn(seconds: float) -> None:
    """Use ``seconds`` of CPU in this process."""
    end = cpu_self() + seconds
    while cpu_self() < end:
        sum(range(10000))


def hold() -> dict[str, object]:
    """Hold 300 MB for 2 s."""
    block = b"\x01" * (300 * MB)
    time.sleep(2.0)
    del block
    return {"peak": max_rss(), "allocated": 300 * MB}


def spike() -> dict[str, object]:
    """Hold 500 MB for 0.3 s, then free it."""
    start = time.time()
    block = b"\x01" * (500 * MB)
    time.sleep(0.3)
    del block
    return {"peak": max_rss(), "start": start, "end": time.time()}


def children() -> dict[str, object]:
    """Four short-lived children, one after another, each burning 0.4 s of CPU."""
    before, start = cpu_self() + cpu_children(), time.time()
    for _ in range(4):
        subprocess.run([sys.executable, "-c", BURN, "0.4"], check=True)
    return {"cpu": cpu_self() + cpu_children() - before, "start": start, "end": time.time()}


def busy() -> dict[str, object]:
    """Keep one core busy for 3 s of wall time."""
    before, start = cpu_self(), time.monotonic()
    wall_start = time.time()
    while time.monotonic() - start < 3.0:
        sum(range(10000))
    cpu, wall = cpu_self() - before, time.monotonic() - start
    return {"cpu": cpu, "rate": cpu / wall * 100, "start": wall_start, "end": time.time()}


def cow() -> dict[str, object]:
    """A 300 MB parent with four forked children that touch nothing and sleep."""
    baseline = rss_now()
    block = b"\x01" * (300 * MB)
    _HELD.append(block)
    pids = []
    for _ in range(4):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
            time.sleep(60)
            os._exit(0)
        pids.append(pid)
    time.sleep(0.5)  # let every child finish starting
    return {"baseline": baseline, "allocated": len(block), "pids": pids}


def _cow_cleanup(result: dict[str, object]) -> None:
    for pid in result.get("pids", []):  # type: ignore[attr-defined]
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)


def _pool_task(seconds: float) -> tuple[int, int]:
    child = subprocess.Popen([sys.executable, "-c", BURN, str(seconds)])
    child.wait()
    return os.getpid(), child.pid


def pool() -> dict[str, object]:
    """A multiprocessing pool of two workers, each starting processes that burn CPU."""
    before = cpu_self() + cpu_children()
    with multiprocessing.Pool(2) as workers:
        pids = workers.map(_pool_task, [1.2, 1.2], chunksize=1)  # outlive a 1 s interval
        workers.close()
        workers.join()
    return {"cpu": cpu_self() + cpu_children() - before, "pids": pids}


def churn() -> dict[str, object]:
    """Processes that come and go for 2.5 s: reaped at once, left as zombies, killed, orphaned."""
    before, end, spawned = cpu_self() + cpu_children(), time.monotonic() + 2.5, 0
    zombies: list[int] = []
    while time.monotonic() < end:
        kind = spawned % 4
        pid = os.fork()
        if pid == 0:
            if kind == 3 and os.fork() != 0:  # orphan a sleeping grandchild
                os._exit(0)
            burn(0.0 if kind == 3 else 0.02)
            time.sleep(0.2 if kind == 3 else 0.0)
            if kind == 2:
                time.sleep(5)  # killed before it ends
            os._exit(0)
        spawned += 1
        if kind == 2:
            time.sleep(0.01)
            os.kill(pid, signal.SIGKILL)
        if kind == 1:
            zombies.append(pid)  # reaped later, after a while as a zombie
        else:
            os.waitpid(pid, 0)
        if len(zombies) >= 3:
            for zombie in zombies:
                os.waitpid(zombie, 0)
            zombies.clear()
        time.sleep(0.02)
    for zombie in zombies:
        os.waitpid(zombie, 0)
    return {"cpu": cpu_self() + cpu_children() - before, "spawned": spawned}


WORKLOADS_BY_NAME: dict[str, Callable[[], dict[str, object]]] = {
    "hold": hold,
    "spike": spike,
    "children": children,
    "busy": busy,
    "cow": cow,
    "pool": pool,
    "churn": churn,
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("name", choices=sorted(WORKLOADS_BY_NAME))
    parser.add_argument("--pace", type=float, default=None)
    args = parser.parse_args()
    if args.pace is None:
        sys.stdin.readline()
    else:
        time.sleep(args.pace)
    result = WORKLOADS_BY_NAME[args.name]()
    print(json.dumps(result), flush=True)
    if args.pace is None:
        sys.stdin.read()
    else:
        time.sleep(args.pace)
    if args.name == "cow":
        _cow_cleanup(result)


if __name__ == "__main__":
    main()
