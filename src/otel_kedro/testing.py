"""Run a Kedro pipeline in this process with otel-kedro active, and see what each destination got.

For our tests and for users' own: ``run_session`` runs a real ``KedroSession`` (real hooks, real
runner) without a subprocess, writes the run folder under ``output_dir``, and returns it read
back with the one run-folder reader. ``CapturedRun.sent_to`` applies a destination's privacy
chain to the run's spans exactly as delivery does, so "what would OTLP or Heap receive" is a
function call, not a network test.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from otel_kedro.config.environment import setting_variable
from otel_kedro.model.run_folder import duration_s, read_logs, read_metrics, read_spans

if TYPE_CHECKING:
    from opentelemetry.sdk._logs import ReadableLogRecord
    from opentelemetry.sdk.metrics.export import MetricsData
    from opentelemetry.sdk.trace import ReadableSpan

    from otel_kedro.config.privacy import PrivacySettings


@dataclasses.dataclass(frozen=True)
class CapturedRun:
    """One run's folder and what its files hold (spans, metrics and log records as SDK
    objects).
    """

    folder: Path
    spans: list[ReadableSpan]
    metrics: list[MetricsData]
    error: BaseException | None = None
    logs: list[ReadableLogRecord] = dataclasses.field(default_factory=list)

    def span(self, name: str) -> ReadableSpan:
        """The only span called ``name`` (``AssertionError`` if there is not exactly one)."""
        found = [span for span in self.spans if span.name == name]
        assert len(found) == 1, f"{len(found)} spans named {name!r} in {self.folder}"  # noqa: S101
        return found[0]

    def durations(self) -> dict[str, float]:
        """Each span's wall time in seconds, by span name (the last one wins on a repeat)."""
        return {span.name: duration_s(span) for span in self.spans}

    def sent_to(
        self, destination: str, privacy: PrivacySettings | None = None
    ) -> list[ReadableSpan]:
        """The spans as ``files``, ``otlp`` or ``heap`` would receive them, through that
        destination's chain (``privacy`` defaults to the built-in chains).
        """
        from otel_kedro.config.privacy import PrivacySettings
        from otel_kedro.processors.apply import apply_to_spans
        from otel_kedro.runs.chains import destination_chain

        chain = destination_chain(privacy or PrivacySettings(), destination)
        return apply_to_spans(self.spans, chain)


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _folders(output_dir: Path) -> list[Path]:
    """The folders under ``output_dir`` (beside them: its ``.gitignore``)."""
    return [p for p in output_dir.iterdir() if p.is_dir()] if output_dir.is_dir() else []


def run_session(  # noqa: PLR0913 - the options of a Kedro run
    project_path: Path,
    output_dir: Path,
    *,
    pipeline_name: str | None = None,
    runner: Any = None,
    env: str | None = None,
    runtime_params: Mapping[str, Any] | None = None,
) -> CapturedRun:
    """Run ``pipeline_name`` of the project at ``project_path`` in this process, writing the run
    folder under ``output_dir``; a pipeline failure is returned in ``error``, not raised.
    """
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    project_path = Path(project_path).resolve()
    output_dir = Path(output_dir).resolve()
    before = set(_folders(output_dir))
    bootstrap_project(project_path)
    error: BaseException | None = None
    with (
        _environment({setting_variable("output_dir"): str(output_dir)}),
        KedroSession.create(
            project_path, env=env, runtime_params=dict(runtime_params or {})
        ) as session,
    ):
        try:
            session.run(pipeline_name=pipeline_name, runner=runner)  # type: ignore[call-arg]
        except Exception as raised:  # noqa: BLE001 - returned to the caller with the run
            error = raised
    folders = sorted(set(_folders(output_dir)) - before)
    if len(folders) != 1:
        raise RuntimeError(f"expected one new run folder under {output_dir}, found {folders}")
    folder = folders[0]
    logs = [record for line in read_logs(folder).items for record in line]
    return CapturedRun(
        folder, read_spans(folder).items, read_metrics(folder).items, error, logs=logs
    )
