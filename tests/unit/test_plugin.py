"""Hooks never raise: a telemetry failure is one warning and the run goes on."""

from __future__ import annotations

import logging

import pytest
from opentelemetry import trace

from otel_kedro.plugin import cli_hooks, project_hooks
from otel_kedro.sources.kedro.propagation import (
    RunEnvironment,
    RunHandoff,
    context_from_traceparent,
)
from otel_kedro.sources.kedro.run_attributes import pipeline_label, runner_name


def test_hooks_swallow_their_own_errors_and_warn_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="otel_kedro")
    for _ in range(3):
        assert (
            project_hooks.before_pipeline_run(run_params=None, pipeline=None, catalog=None) is None
        )
        assert (
            project_hooks.before_node_run(node=None, catalog=None, is_async=False, run_id="x")
            is None
        )
    assert project_hooks.after_context_created(context=object()) is None
    assert cli_hooks.after_command_run(project_metadata=None, exit_code=3) is None
    messages = [r.getMessage() for r in caplog.records if r.name == "otel_kedro"]
    assert len(messages) == len(set(messages)) == 3
    assert all(m.startswith("otel-kedro: internal error in ") for m in messages)


def test_runner_names_from_kedro_reprs() -> None:
    assert (
        runner_name({"runner": "<kedro.runner.thread_runner.ThreadRunner object at 0x7f>"})
        == "ThreadRunner"
    )
    assert runner_name({"runner": "ParallelRunner(max_workers=2)"}) == "ParallelRunner"
    assert runner_name({}) == "SequentialRunner"
    assert pipeline_label({"pipeline_names": ["a", "b"]}) == "a+b"
    assert pipeline_label({"pipeline_names": None}) == "__default__"


def test_run_environment_restores_the_original_after_overlapping_runs() -> None:
    original = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    environ = {"TRACEPARENT": original}
    runs = RunEnvironment(environ)
    first = context_from_traceparent("00-11111111111111111111111111111111-1111111111111111-01")
    second = context_from_traceparent("00-22222222222222222222222222222222-2222222222222222-01")
    assert first is not None
    assert second is not None
    handoff = RunHandoff("", "", "/tmp", "svc", True, {}, None)
    runs.run_started("a", first, handoff)
    assert environ["TRACEPARENT"].startswith("00-1111")
    runs.run_started("b", second, handoff)
    assert environ["TRACEPARENT"].startswith("00-2222")
    inbound = runs.inbound()  # overlapping runs still see the process's own parent, not a run
    assert trace.get_current_span(inbound).get_span_context().trace_id == int(original[3:35], 16)
    runs.run_finished("b")
    assert environ["TRACEPARENT"].startswith("00-1111")
    runs.run_finished("a")
    assert environ == {"TRACEPARENT": original}


def test_invalid_traceparent_is_ignored() -> None:
    assert context_from_traceparent("garbage") is None
    assert (
        context_from_traceparent("00-00000000000000000000000000000000-0000000000000000-01") is None
    )
