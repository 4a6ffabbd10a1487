"""Start-up phases cut from the instants a command reached."""

from __future__ import annotations

import sys

import pytest
from kedro.framework import project
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import set_span_in_context

from otel_kedro.sources.kedro import startup
from otel_kedro.sources.kedro.startup import (
    CATALOG_CREATED,
    COMMAND,
    CONTEXT,
    REGISTRY_END,
    REGISTRY_START,
    StartupMarks,
    record_phases,
    watch_registry,
)


def _marks(**instants: int) -> StartupMarks:
    marks = StartupMarks()
    for name, at in instants.items():
        marks.mark(name, at)
    return marks


@pytest.fixture(autouse=True)
def no_process_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test process is not a ``kedro`` command: no bootstrap phase unless a test says so."""
    monkeypatch.setattr(sys, "argv", ["pytest"])


class TestPhases:
    def test_a_whole_start_up_is_four_consecutive_phases(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Process start, command, context, registry and catalog cut four phases."""
        monkeypatch.setattr(startup, "process_start_ns", lambda: 50)
        marks = _marks(
            **{COMMAND: 100, CONTEXT: 200, REGISTRY_START: 210, REGISTRY_END: 400,
               CATALOG_CREATED: 450}
        )  # fmt: skip
        assert marks.phases(end_ns=500) == [
            ("bootstrap", 50, 100),
            ("session", 100, 200),
            ("pipelines", 210, 400),
            ("catalog", 400, 450),
        ]

    def test_a_command_that_failed_in_the_registry_has_no_catalog_phase(self) -> None:
        """An import error in a pipeline module: the registry phase ends at the failure."""
        marks = _marks(**{COMMAND: 100, CONTEXT: 200, REGISTRY_START: 210})
        assert marks.phases(end_ns=300) == [("session", 100, 200), ("pipelines", 210, 300)]

    def test_without_a_registry_watch_catalog_starts_at_the_context(self) -> None:
        """A registry loaded before the context (or not watchable) leaves it in no phase."""
        marks = _marks(**{COMMAND: 100, CONTEXT: 200, CATALOG_CREATED: 450})
        assert marks.phases(end_ns=500) == [("session", 100, 200), ("catalog", 200, 450)]

    def test_a_mark_is_kept_the_first_time_only(self) -> None:
        """A second session of the same command does not move its phases."""
        marks = _marks(**{COMMAND: 100, CONTEXT: 200})
        marks.mark(CONTEXT, 900)
        assert marks.phases(end_ns=1000) == [("session", 100, 200)]

    def test_phases_become_spans_under_the_parent(self) -> None:
        """One span per phase, with its times and its phase attribute."""
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tracer = provider.get_tracer("test")
        parent = tracer.start_span("kedro run", start_time=100)
        marks = _marks(**{COMMAND: 100, CONTEXT: 200, CATALOG_CREATED: 450})
        record_phases(tracer, set_span_in_context(parent), marks, end_ns=500)
        spans = exporter.get_finished_spans()
        assert [(s.name, s.start_time, s.end_time) for s in spans] == [
            ("STARTUP session", 100, 200),
            ("STARTUP catalog", 200, 450),
        ]
        assert all(s.parent is not None and s.parent.span_id == parent.get_span_context().span_id
                   for s in spans)  # fmt: skip
        assert [s.attributes["kedro.startup.phase"] for s in spans] == ["session", "catalog"]


class TestRegistryWatch:
    def test_the_first_load_is_timed_and_the_watch_undone(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Only the load that fills the registry is marked; undo leaves the class's method."""
        registry = project._ProjectPipelines()
        monkeypatch.setattr(project, "pipelines", registry)
        monkeypatch.setitem(sys.modules, "fake_registry", type(sys)("fake_registry"))
        sys.modules["fake_registry"].register_pipelines = lambda: {"__default__": "p"}  # type: ignore[attr-defined]
        registry.configure("fake_registry")
        marks = StartupMarks()
        undo = watch_registry(marks)
        assert undo is not None
        assert dict(registry) == {"__default__": "p"}
        assert dict(registry) == {"__default__": "p"}
        assert set(marks.marks) == {REGISTRY_START, REGISTRY_END}
        undo()
        assert "_load_data" not in registry.__dict__
        assert watch_registry(StartupMarks()) is None, "already loaded: nothing to time"
