"""Reading a run folder for the views: run facts, nodes, lanes, failures, and resolving a run."""

from __future__ import annotations

from pathlib import Path

import pytest

from otel_kedro.model.comparison import compare, parse_threshold
from otel_kedro.model.run_folder import RunNotFoundError, resolve_run, run_folders
from otel_kedro.model.run_view import read_run, tree
from tests.support.run_folders import SECOND, FakeNode, write_run

NODES = [
    FakeNode("load", 0, 1.0, peak=100_000_000, outputs=("a",)),
    FakeNode("train", 1, 2.0, peak=500_000_000, inputs=("a",), outputs=("model",)),
    FakeNode("score", 3, 0.5, peak=50_000_000, inputs=("model",)),
]


class TestReadRun:
    def test_facts_nodes_and_tree(self, tmp_path: Path) -> None:
        """The run span's facts, every node with its usage, and the tree rooted at the run."""
        view = read_run(write_run(tmp_path / "r1", NODES))
        assert (view.pipeline, view.runner, view.result) == (
            "__default__",
            "SequentialRunner",
            "success",
        )
        assert view.duration_s == pytest.approx(3.5)
        assert [n.name for n in view.nodes] == ["load", "train", "score"]
        assert [n.peak_bytes for n in view.nodes] == [100_000_000, 500_000_000, 50_000_000]
        assert view.lanes == ["pid 4242 · MainThread"]
        depths = [(d, r.name) for d, r in tree(view.spans)]
        assert depths == [(0, "RUN __default__"), (1, "load"), (1, "train"), (1, "score")]

    def test_failure_is_read_from_the_exception_event(self, tmp_path: Path) -> None:
        """Recorded on the node and on the run span, the exception is listed once, on the node."""
        nodes = [FakeNode("boom", 0, 1, error="bad input")]
        view = read_run(write_run(tmp_path / "r1", nodes, result="failure"))
        assert sum(1 for r in view.spans if r.failure) == 2
        (failure,) = view.failures
        assert (failure.span, failure.type, failure.message) == ("boom", "ValueError", "bad input")
        assert view.nodes[0].result == "failure"

    def test_garbage_and_torn_lines_are_counted_not_fatal(self, tmp_path: Path) -> None:
        folder = write_run(tmp_path / "r1", NODES)
        good = (folder / "traces.jsonl").read_text()
        (folder / "traces.jsonl").write_text("not json\n" + good + good[: len(good) // 2])
        (folder / "metrics.jsonl").write_text('{"resourceMetrics": 3}\n')
        view = read_run(folder)
        assert [n.name for n in view.nodes] == ["load", "train", "score"]
        assert view.skipped_lines == 3

    def test_a_folder_without_a_run_span_is_unfinished(self, tmp_path: Path) -> None:
        folder = write_run(tmp_path / "r1", NODES)
        lines = (folder / "traces.jsonl").read_text()
        # Keep only the node spans: drop the run span from the one request line.
        import json

        document = json.loads(lines)
        spans = document["resourceSpans"][0]["scopeSpans"][0]["spans"]
        document["resourceSpans"][0]["scopeSpans"][0]["spans"] = [
            s for s in spans if not s["name"].startswith("RUN")
        ]
        (folder / "traces.jsonl").write_text(json.dumps(document) + "\n")
        view = read_run(folder)
        assert view.result == "unfinished"
        assert len(view.nodes) == 3


class TestResolveRun:
    @pytest.fixture
    def base(self, tmp_path: Path) -> Path:
        for name in ("2026-01-01T10.00.00.000Z-aaaaaa", "2026-01-02T10.00.00.000Z-bbbbbb",
                     "2026-01-02T11.00.00.000Z-cccccc"):  # fmt: skip
            write_run(tmp_path / name, NODES)
        (tmp_path / "not-a-run").mkdir()
        return tmp_path

    def test_newest_first_and_none_is_the_newest(self, base: Path) -> None:
        names = [p.name for p in run_folders(base)]
        assert names == sorted(names, reverse=True)
        assert "not-a-run" not in names
        assert resolve_run(base, None).name == names[0]

    def test_id_prefix_and_path(self, base: Path) -> None:
        assert resolve_run(base, "2026-01-01").name.endswith("aaaaaa")
        assert resolve_run(base, "2026-01-02T11.00.00.000Z-cccccc").name.endswith("cccccc")
        path = base / "2026-01-02T10.00.00.000Z-bbbbbb"
        assert resolve_run(tmp := base / "elsewhere", str(path)) == path.resolve()
        assert not tmp.exists()

    def test_ambiguous_and_unknown_say_what_to_do(self, base: Path) -> None:
        with pytest.raises(RunNotFoundError, match="fits 2 runs"):
            resolve_run(base, "2026-01-02")
        with pytest.raises(RunNotFoundError, match="otel-kedro ls"):
            resolve_run(base, "1999")
        with pytest.raises(RunNotFoundError, match="no run folders"):
            resolve_run(base / "empty", None)


class TestComparison:
    def test_regressions_added_and_removed(self, tmp_path: Path) -> None:
        before = read_run(write_run(tmp_path / "a", NODES))
        after_nodes = [
            FakeNode("load", 0, 1.1, peak=100_000_000),  # +10 %: under the threshold
            FakeNode("train", 1, 3.0, peak=500_000_000),  # +50 % time
            FakeNode("evaluate", 4, 0.2, peak=900_000_000),  # added
        ]
        after = read_run(write_run(tmp_path / "b", after_nodes, start_ns=1_800_000_000 * SECOND))
        comparison = compare(before, after, 0.2)
        assert comparison.added == ("evaluate",)
        assert comparison.removed == ("score",)
        assert [c.name for c in comparison.regressions] == ["train"]
        train = comparison.regressions[0]
        assert train.time_change == pytest.approx(0.5)
        assert train.slower
        assert not train.bigger

    def test_memory_growth_is_flagged(self, tmp_path: Path) -> None:
        before = read_run(write_run(tmp_path / "a", NODES))
        bigger = [FakeNode("load", 0, 1.0, peak=300_000_000)]
        after = read_run(write_run(tmp_path / "b", bigger))
        (change,) = compare(before, after, 0.2).changes
        assert change.bigger
        assert change.memory_change == pytest.approx(2.0)

    @pytest.mark.parametrize(("text", "value"), [("20%", 0.2), ("5", 0.05), ("0.3", 0.3)])
    def test_threshold_forms(self, text: str, value: float) -> None:
        assert parse_threshold(text) == pytest.approx(value)

    def test_bad_threshold(self) -> None:
        with pytest.raises(ValueError, match="percentage"):
            parse_threshold("fast")
