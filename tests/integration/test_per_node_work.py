"""The plugin's work per node does not grow with the pipeline (issue 14): counted in Python
bytecodes executed inside its hooks during real ``kedro run``s of 50, 100 and 200 chained nodes,
a measure with no clock in it (``tests/support/per_node_work.py``).
"""

from __future__ import annotations

from pathlib import Path

from tests.support.per_node_work import LOG_CAPTURE, PER_NODE_HOOKS, count_work

# Kedro logs five records per node of a chain: loading, running, saving, completed (and the
# load of the next input).
_RECORDS_PER_NODE = 5


def test_the_plugins_work_per_node_does_not_grow_with_the_pipeline(tmp_path: Path) -> None:
    """The marginal work of a node between 100 and 200 nodes is no more than between 50 and 100
    (0.25 % allowed: two runs differ by 0.01 %), all hooks counted, the run's start and end too: a
    loop over earlier nodes or an ever-growing structure walked per node would make it grow. Every per-node hook is called once per node
    (load and save hooks once per dataset) and does the same work at every size.
    """
    # The report is written for small runs only (a size limit), a step in the totals.
    work = {n: count_work(tmp_path, n, OTEL_KEDRO_REPORT="false") for n in (50, 100, 200)}
    first = (work[100].total - work[50].total) / 50
    second = (work[200].total - work[100].total) / 100
    assert first > 10_000, "the counter counted (a node costs thousands of opcodes)"
    assert second <= first * 1.0025, (first, second)
    small, large = work[50], work[200]
    for label in PER_NODE_HOOKS:
        assert small.hooks[label][0] == 50, label
        assert large.hooks[label][0] == 200, label
    assert large.hooks[LOG_CAPTURE][0] >= 200 * _RECORDS_PER_NODE - 5
    per_node_small = small.per_node / small.nodes
    per_node_large = large.per_node / large.nodes
    assert per_node_large <= per_node_small * 1.0025, (per_node_small, per_node_large)
