"""A node's peak is judged against the kedro process's own high-water mark, never one inherited
from the process that started it."""

from __future__ import annotations

import subprocess
import sys

import pytest

_CHILD = """
import resource
from otel_kedro.sources.kedro.node_usage import NodeUsageMeter, _process_counters
meter = NodeUsageMeter()
window = meter.start()
data = bytearray(150 * 1024 * 1024)  # a node's 150 MB, touched page by page
data[::4096] = b"x" * len(data[::4096])
usage = meter.finish(window, same_thread=True)
inherited = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(_process_counters()[2], inherited, usage["kedro.node.memory.peak"],
      usage["kedro.node.memory.peak.exact"])
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM is Linux's")
def test_a_large_parent_does_not_hide_the_nodes_peak() -> None:
    """Started by a 400 MB parent (an Airflow worker, a notebook), the child's ``ru_maxrss``
    says 400 MB from the start; the node's 150 MB must still read as a new, exact peak.
    """
    ballast = bytearray(400 * 1024 * 1024)
    ballast[::4096] = b"x" * len(ballast[::4096])
    out = subprocess.run(
        [sys.executable, "-c", _CHILD], capture_output=True, text=True, check=True
    ).stdout.split()
    del ballast
    mark, inherited, peak, exact = int(out[0]), int(out[1]), int(out[2]), out[3]
    assert inherited > 390 * 1024 * 1024, "the kernel carries the parent's mark over exec"
    assert exact == "True"
    assert 150 * 1024 * 1024 < peak == mark < 390 * 1024 * 1024
