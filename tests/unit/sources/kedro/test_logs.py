"""LogCapture: which run and span a record is stamped with, the threshold, and that it leaves
the root logger (and every other handler) as it found them."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Hashable, Iterator

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanContext

from otel_kedro.model.log_record import CapturedLog
from otel_kedro.sources.kedro.logs import LogCapture

_tracer = TracerProvider().get_tracer("test")


class _QuotaError(Exception):
    pass


class _Runs:
    """Two runs, each with a span tree and a list its records go to; ``node`` is the node
    context to report as in flight on the calling thread."""

    def __init__(self) -> None:
        self.spans: dict[tuple[int, int], Hashable] = {}
        self.node: otel_context.Context | None = None
        self.loading: str | None = None
        self.memory: dict[str, list[CapturedLog]] = {"a": [], "b": []}
        self.run_spans = {run: _tracer.start_span(f"RUN {run}") for run in self.memory}
        for run, span in self.run_spans.items():
            self.own(span, run)
        self.capture = LogCapture(self.run_of, lambda: self.node, lambda: self.loading)

    def own(self, span: trace.Span, run: str) -> trace.Span:
        context = span.get_span_context()
        self.spans[(context.trace_id, context.span_id)] = run
        return span

    def run_of(self, context: SpanContext) -> Hashable | None:
        return self.spans.get((context.trace_id, context.span_id))

    def add(self, run: str, level: int = logging.INFO) -> None:
        context = trace.set_span_in_context(self.run_spans[run])
        self.capture.add(run, context, self.memory[run].append, level)

    def logs(self, run: str) -> list[CapturedLog]:
        return list(self.memory[run])


@pytest.fixture
def runs() -> Iterator[_Runs]:
    runs = _Runs()
    yield runs
    for run in ("a", "b"):
        runs.capture.remove(run)


logger = logging.getLogger("test_logs_source")
logger.setLevel(logging.DEBUG)


def _span_id(record: CapturedLog) -> int:
    return record.span_id


class TestRouting:
    """The run and span of each record."""

    def test_the_current_node_span_stamps_the_record(self, runs: _Runs) -> None:
        """A record logged inside a node span carries that span, in that span's run."""
        runs.add("a")
        runs.add("b")
        node = runs.own(
            _tracer.start_span("node", trace.set_span_in_context(runs.run_spans["b"])), "b"
        )
        with trace.use_span(node):
            logger.info("inside the node")
        assert runs.logs("a") == []
        (record,) = runs.logs("b")
        assert _span_id(record) == node.get_span_context().span_id
        assert record.body == "inside the node"
        assert record.scope == "test_logs_source"

    def test_a_node_saving_its_outputs_still_owns_its_records(self, runs: _Runs) -> None:
        """No current span, but a node in flight on this thread: the node's span."""
        runs.add("a")
        node = runs.own(
            _tracer.start_span("node", trace.set_span_in_context(runs.run_spans["a"])), "a"
        )
        runs.node = trace.set_span_in_context(node)
        logger.info("saving")
        (record,) = runs.logs("a")
        assert _span_id(record) == node.get_span_context().span_id

    def test_records_of_input_loads_wait_for_their_node_span(self, runs: _Runs) -> None:
        """Logged while the node's inputs load (no span yet): emitted with the node span once it
        starts, with their own timestamps; a node that never starts leaves them to the run."""
        runs.add("a")
        runs.loading = "node"
        logger.info("loading its input")
        logger.debug("below the threshold")
        assert runs.logs("a") == []
        node = runs.own(
            _tracer.start_span("node", trace.set_span_in_context(runs.run_spans["a"])), "a"
        )
        runs.loading = None
        runs.capture.emit_held("node", trace.set_span_in_context(node))
        (record,) = runs.logs("a")
        assert record.body == "loading its input"
        assert _span_id(record) == node.get_span_context().span_id
        assert record.observed_timestamp > record.timestamp

        runs.loading = "failed_node"
        logger.warning("its load failed")
        runs.capture.remove("a")
        last = runs.logs("a")[-1]
        assert last.body == "its load failed"
        assert _span_id(last) == runs.run_spans["a"].get_span_context().span_id

    def test_otherwise_the_only_run_span(self, runs: _Runs) -> None:
        """Outside any node (the runner's own lines), the single active run's span."""
        runs.add("a")
        thread = threading.Thread(target=logger.warning, args=("from another thread",))
        thread.start()
        thread.join()
        (record,) = runs.logs("a")
        assert _span_id(record) == runs.run_spans["a"].get_span_context().span_id
        assert record.severity_text == "WARN"

    def test_two_runs_and_no_span_cannot_be_told_apart(self, runs: _Runs) -> None:
        """With concurrent runs, a record of no span belongs to neither rather than the wrong one."""
        runs.add("a")
        runs.add("b")
        logger.info("whose?")
        assert runs.logs("a") == runs.logs("b") == []

    def test_threshold_and_exception_details(self, runs: _Runs) -> None:
        """Below the run's level nothing is recorded; an exception comes with its details."""
        runs.add("a", logging.WARNING)
        logger.info("too low")
        try:
            raise KeyError("missing")  # noqa: TRY301
        except KeyError:
            logger.exception("failed")
        try:
            raise _QuotaError("over quota")  # noqa: TRY301
        except _QuotaError:
            logger.error("failed again", exc_info=True)  # noqa: G201 - the other spelling
        builtin, custom = runs.logs("a")
        attributes = builtin.attributes
        assert attributes["exception.type"] == "KeyError"
        assert attributes["exception.message"] == "missing"
        assert "KeyError: 'missing'" in str(attributes["exception.stacktrace"])
        attributes = custom.attributes
        assert attributes["exception.type"] == f"{__name__}._QuotaError", "fully qualified"


class TestRootLogger:
    """Attached only while a run captures, and invisible to every other handler."""

    def test_attached_while_runs_capture_and_removed_after(self, runs: _Runs) -> None:
        """The handler joins the root logger with the first run and leaves with the last."""
        root = logging.getLogger()
        assert runs.capture not in root.handlers
        runs.add("a")
        runs.add("b")
        assert root.handlers.count(runs.capture) == 1
        runs.capture.remove("a")
        assert runs.capture in root.handlers
        runs.capture.remove("b")
        assert runs.capture not in root.handlers
        logger.info("after the run")
        assert runs.logs("a") == runs.logs("b") == []

    def test_other_handlers_print_what_they_printed(self, runs: _Runs) -> None:
        """Levels are untouched, so a console handler prints the same lines with or without."""
        stream = io.StringIO()
        console = logging.StreamHandler(stream)
        console.setLevel(logging.INFO)
        root = logging.getLogger()
        root.addHandler(console)
        try:
            levels = (root.level, logger.level)
            for _ in range(2):
                logger.debug("debug line")
                logger.info("info line")
                runs.add("a", logging.DEBUG)
            assert (root.level, logger.level) == levels
        finally:
            root.removeHandler(console)
        assert stream.getvalue().splitlines() == ["info line", "info line"]
        assert len(runs.logs("a")) == 2  # the second round's debug and info lines

    def test_records_logged_while_emitting_do_not_recurse(self, runs: _Runs) -> None:
        """A record logged by whatever our pipeline calls is dropped, not captured again."""

        def chatty(record: CapturedLog) -> None:
            logger.warning("logged by the pipeline")
            runs.memory["a"].append(record)

        runs.capture.add("a", trace.set_span_in_context(runs.run_spans["a"]), chatty, 0)
        logger.info("one")
        assert [r.body for r in runs.logs("a")] == ["one"]


def test_reattaches_after_the_root_logger_is_reconfigured(runs: _Runs) -> None:
    """Kedro's spawn workers run dictConfig before every node: the capture comes back."""
    runs.add("a")
    root = logging.getLogger()
    saved = root.handlers[:]
    root.removeHandler(runs.capture)  # what dictConfig does to every root handler
    logger.info("lost")
    runs.capture.ensure_attached()
    logger.info("found")
    assert root.handlers.count(runs.capture) == 1
    assert [r.body for r in runs.logs("a")] == ["found"]
    assert [h for h in saved if h is not runs.capture] == [
        h for h in root.handlers if h is not runs.capture
    ]
