"""The plugin's work per node in Python bytecodes, at several pipeline sizes: a profile with no
clock in it, so a shared, noisy machine gives the same figures every time (not a test: run it on
demand; ``tests/integration/test_per_node_work.py`` holds the growth to zero).

    .venv/bin/python benchmarks/per_node_work.py [--nodes 100 1000] [--top 25] [--report]

Each size is one ``kedro run`` of a generated chain of trivial nodes, counted by
``tests/support/per_node_work.py``: opcodes executed inside each hook of the plugin and inside
the log capture, on the thread that called them (the SDK's and the standard library's Python
code included; C code and the plugin's own threads not). Printed per size: opcodes per call of
each hook, the marginal opcodes of a node between consecutive sizes (all hooks, the run's start
and end included), and the code objects that executed the most opcodes per node at the largest
size. The report is off unless ``--report`` (it is written for small runs only, a step between
sizes). At about 30 ns per opcode on this machine, opcodes times 30 ns is roughly the CPU time.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.per_node_work import count_work


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--top", type=int, default=25, help="code objects to list")
    parser.add_argument("--report", action="store_true", help="leave report.html on")
    args = parser.parse_args()
    sizes = sorted(args.nodes)
    settings = {} if args.report else {"OTEL_KEDRO_REPORT": "false"}
    with tempfile.TemporaryDirectory() as tmp:
        work = [count_work(Path(tmp), n, by_code=n == sizes[-1], **settings) for n in sizes]
    labels = sorted({label for w in work for label in w.hooks})
    print("opcodes per call, by pipeline size")
    print(f"  {'':44}" + "".join(f"{w.nodes:>12}" for w in work))
    for label in labels:
        cells = []
        for w in work:
            calls, opcodes = w.hooks.get(label, (0, 0))
            cells.append(f"{opcodes / calls:12.0f}" if calls else f"{'-':>12}")
        print(f"  {label:44}" + "".join(cells))
    print(
        f"  {'per-node hooks and log capture, per node':44}"
        + "".join(f"{w.per_node / w.nodes:12.0f}" for w in work)
    )
    print(f"  {'everything, per node':44}" + "".join(f"{w.total / w.nodes:12.0f}" for w in work))
    for smaller, larger in itertools.pairwise(work):
        marginal = (larger.total - smaller.total) / (larger.nodes - smaller.nodes)
        print(f"  marginal opcodes of a node, {smaller.nodes} -> {larger.nodes}: {marginal:.0f}")
    largest = work[-1]
    print(f"code objects by opcodes per node, {largest.nodes} nodes:")
    ranked = sorted(largest.by_code.items(), key=lambda item: -item[1])
    for where, opcodes in ranked[: args.top]:
        print(f"  {opcodes / largest.nodes:9.1f}  {where}")


if __name__ == "__main__":
    main()
