"""One run folder, read once into what `ls`, `show`, `diff` and the HTML report display.

Built only from the one reader (:mod:`otel_kedro.model.run_folder`), so it takes what any run
folder holds: a finished run, a run cut short (no run span yet, torn last line) or garbage lines,
which are counted, never fatal. Spans are classified by the attributes each kind carries (run,
command, node, dataset; anything else — startup phases, user spans — is shown generically), and
node and dataset spans get a lane: the process and thread they ran on.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from otel_kedro import attributes as attr
from otel_kedro.model.run_folder import read_metric_series, read_spans

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

    from otel_kedro.model.metric_series import MetricSeries

# The value types below are named tuples, not frozen dataclasses: as immutable, and a fifth of
# the cost to define (this module is imported at the end of every run, for its summary).
KIND_COMMAND = "command"
KIND_RUN = "run"
KIND_NODE = "node"
KIND_DATASET = "dataset"
KIND_OTHER = "span"
STATUS_OK = "ok"
STATUS_ERROR = "error"
STATUS_UNSET = "unset"
# The metrics the views read (the tree's CPU time, RSS and high-water mark).
_USAGE_METRICS = frozenset(
    {attr.PROCESS_CPU_TIME, attr.PROCESS_MEMORY_USAGE, attr.KEDRO_PROCESS_MEMORY_PEAK}
)


class Failure(NamedTuple):
    """An exception recorded on a span (already scrubbed by the files chain)."""

    span: str
    type: str
    message: str
    stacktrace: str


class SpanRow(NamedTuple):
    """One span, as the views need it."""

    span_id: int
    parent_id: int | None
    name: str
    kind: str
    start_ns: int
    end_ns: int
    status: str
    status_message: str
    lane: str
    attributes: Mapping[str, Any]
    failure: Failure | None = None

    @property
    def duration_s(self) -> float:
        """Wall time in seconds (0 for a span with no end)."""
        return max(0, self.end_ns - self.start_ns) / 1e9


class NodeRow(NamedTuple):
    """A node span with its usage figures and its place in the pipeline graph."""

    span: SpanRow
    result: str
    cpu_s: float | None
    peak_bytes: int | None
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    @property
    def name(self) -> str:
        """The node's name (``namespace.name``)."""
        return str(self.span.attributes.get(attr.CICD_TASK_NAME, self.span.name))

    @property
    def duration_s(self) -> float:
        """The node span's wall time in seconds."""
        return self.span.duration_s


class UsageSeries(NamedTuple):
    """The process tree over time: seconds since the run started, CPU % of one core, RSS."""

    times_s: tuple[float, ...] = ()
    cpu_percent: tuple[float, ...] = ()
    rss_bytes: tuple[float, ...] = ()
    cpu_seconds: float | None = None
    peak_rss: float | None = None


class RunView(NamedTuple):
    """Everything the views show about one run folder."""

    folder: Path
    run_id: str
    pipeline: str  # cicd.pipeline.name: ``__default__``, ``a`` or ``a+b``
    pipelines: tuple[str, ...]  # each pipeline of the run (``kedro run --pipelines a,b``)
    runner: str
    env: str
    result: str
    start_ns: int
    end_ns: int
    command: str
    exit_code: int | None
    versions: Mapping[str, str]
    spans: tuple[SpanRow, ...]
    nodes: tuple[NodeRow, ...]
    failures: tuple[Failure, ...]
    usage: UsageSeries
    skipped_lines: int

    @property
    def duration_s(self) -> float:
        """The run's wall time in seconds."""
        return max(0, self.end_ns - self.start_ns) / 1e9

    @property
    def lanes(self) -> list[str]:
        """Every lane a node ran on, in the order of their first node."""
        seen: dict[str, None] = {}
        for node in sorted(self.nodes, key=lambda n: n.span.start_ns):
            seen.setdefault(node.span.lane, None)
        return list(seen)


def _kind(values: Mapping[str, Any]) -> str:
    if attr.CICD_TASK_NAME in values:
        return KIND_NODE
    if attr.KEDRO_DATASET_NAME in values:
        return KIND_DATASET
    if attr.CICD_PIPELINE_RUN_ID in values:
        return KIND_RUN
    if attr.PROCESS_COMMAND_ARGS in values:
        return KIND_COMMAND
    return KIND_OTHER


def _failure(span: ReadableSpan) -> Failure | None:
    for event in span.events:
        if event.name == "exception":
            values = event.attributes or {}
            return Failure(
                span=span.name,
                type=str(values.get(attr.EXCEPTION_TYPE, "")),
                message=str(values.get(attr.EXCEPTION_MESSAGE, "")),
                stacktrace=str(values.get(attr.EXCEPTION_STACKTRACE, "")),
            )
    return None


def _status(span: ReadableSpan) -> str:
    name = span.status.status_code.name  # OK, ERROR or UNSET
    return {"OK": STATUS_OK, "ERROR": STATUS_ERROR}.get(name, STATUS_UNSET)


def _lane(span: ReadableSpan) -> str:
    values = span.attributes or {}
    resource = span.resource.attributes if span.resource else {}
    pid = values.get(attr.PROCESS_PID, resource.get(attr.PROCESS_PID, "?"))
    thread = values.get(attr.THREAD_NAME) or values.get(attr.THREAD_ID)
    return f"pid {pid} · {thread}" if thread else f"pid {pid}"


def _rows(spans: list[ReadableSpan]) -> list[SpanRow]:
    rows = []
    for span in spans:
        values = dict(span.attributes or {})
        rows.append(
            SpanRow(
                span_id=span.context.span_id if span.context else 0,
                parent_id=span.parent.span_id if span.parent else None,
                name=span.name,
                kind=_kind(values),
                start_ns=span.start_time or 0,
                end_ns=span.end_time or span.start_time or 0,
                status=_status(span),
                status_message=span.status.description or "",
                lane=_lane(span),
                attributes=values,
                failure=_failure(span),
            )
        )
    by_id = {row.span_id: row for row in rows}
    # A dataset span runs on its node's lane (its own thread may be an async loader's).
    return [
        row._replace(lane=by_id[row.parent_id].lane)
        if row.kind == KIND_DATASET and row.parent_id in by_id
        else row
        for row in rows
    ]


def _distinct_failures(rows: list[SpanRow]) -> tuple[Failure, ...]:
    """Each exception once, on the innermost span that recorded it (a node's failure is also
    recorded on the run and command spans), in start order.
    """
    seen: set[tuple[str, str]] = set()
    found: list[tuple[int, Failure]] = []
    failed = [(depth, row) for depth, row in tree(rows) if row.failure is not None]
    for _, row in sorted(failed, key=lambda item: -item[0]):  # deepest first (stable)
        failure = row.failure
        if failure is not None and (failure.type, failure.message) not in seen:
            seen.add((failure.type, failure.message))
            found.append((row.start_ns, failure))
    return tuple(failure for _, failure in sorted(found, key=lambda item: item[0]))


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return (str(value),) if value else ()


def _node(row: SpanRow) -> NodeRow:
    values = row.attributes
    cpu = values.get(attr.KEDRO_NODE_CPU_TIME)
    peak = values.get(attr.KEDRO_NODE_MEMORY_PEAK)
    default = attr.RESULT_FAILURE if row.status == STATUS_ERROR else attr.RESULT_SUCCESS
    return NodeRow(
        span=row,
        result=str(values.get(attr.CICD_TASK_RUN_RESULT, default)),
        cpu_s=float(cpu) if isinstance(cpu, (int, float)) else None,
        peak_bytes=int(peak) if isinstance(peak, (int, float)) else None,
        inputs=_strings(values.get(attr.KEDRO_NODE_INPUTS)),
        outputs=_strings(values.get(attr.KEDRO_NODE_OUTPUTS)),
    )


def _tree_points(metrics: list[MetricSeries]) -> Iterator[tuple[str, Any]]:
    """Every data point of the process tree's totals (per-process points carry a pid)."""
    for series in metrics:
        for point in series.points:
            if attr.PROCESS_PID not in point.attributes:
                yield series.name, point


def usage_series(metrics: list[MetricSeries], start_ns: int) -> UsageSeries:
    """The tree's CPU rate (from its cumulative CPU time) and RSS at each sample."""
    cpu_at: dict[int, float] = {}
    rss_at: dict[int, float] = {}
    peaks: list[float] = []
    for name, point in _tree_points(metrics):
        value = float(getattr(point, "value", 0.0))
        if name == attr.PROCESS_CPU_TIME:
            cpu_at[point.time_ns] = cpu_at.get(point.time_ns, 0.0) + value
        elif name == attr.PROCESS_MEMORY_USAGE:
            rss_at[point.time_ns] = value
        elif name == attr.KEDRO_PROCESS_MEMORY_PEAK:
            peaks.append(value)
    times = sorted(set(cpu_at) | set(rss_at))
    if not times:
        return UsageSeries()
    origin = start_ns or times[0]
    cpu_percent = []
    previous: tuple[int, float] | None = None
    for at in times:
        rate = 0.0
        if at in cpu_at:
            if previous is not None and at > previous[0]:
                rate = max(0.0, (cpu_at[at] - previous[1]) / ((at - previous[0]) / 1e9) * 100)
            previous = (at, cpu_at[at])
        cpu_percent.append(rate)
    rss = [rss_at.get(at, 0.0) for at in times]
    return UsageSeries(
        times_s=tuple((at - origin) / 1e9 for at in times),
        cpu_percent=tuple(cpu_percent),
        rss_bytes=tuple(rss),
        cpu_seconds=max(cpu_at.values()) if cpu_at else None,
        peak_rss=max([*peaks, *rss]) if peaks or rss else None,
    )


def _text(values: Mapping[str, Any], key: str, default: str = "") -> str:
    value = values.get(key)
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return default if value is None else str(value)


def read_run(folder: Path, *, metrics: bool = True) -> RunView:
    """Read a run folder into a :class:`RunView` (``metrics=False`` skips ``metrics.jsonl``)."""
    decoded = read_spans(folder)
    rows = _rows(decoded.items)
    skipped = decoded.skipped_lines
    run = next((r for r in rows if r.kind == KIND_RUN), None)
    command = next((r for r in rows if r.kind == KIND_COMMAND), None)
    run_values = run.attributes if run else {}
    starts = [r.start_ns for r in rows if r.start_ns]
    ends = [r.end_ns for r in rows if r.end_ns]
    start_ns = run.start_ns if run else min(starts, default=0)
    end_ns = run.end_ns if run else max(ends, default=0)
    nodes = tuple(_node(r) for r in sorted(rows, key=lambda r: r.start_ns) if r.kind == KIND_NODE)
    if run is not None:
        result = _text(run_values, attr.CICD_PIPELINE_RESULT, "unknown")
    elif nodes:
        result = "unfinished"
    else:
        result = "unknown"
    versions = {"kedro": _text(run_values, attr.KEDRO_VERSION)}
    for span in decoded.items[:1]:
        resource = dict(span.resource.attributes) if span.resource else {}
        versions["python"] = str(resource.get("process.runtime.version", ""))
        versions["opentelemetry-sdk"] = str(resource.get("telemetry.sdk.version", ""))
        scope = span.instrumentation_scope
        if scope is not None and scope.version:
            versions["otel-kedro"] = scope.version
    usage = UsageSeries()
    if metrics:
        decoded_metrics = read_metric_series(folder, _USAGE_METRICS)
        skipped += decoded_metrics.skipped_lines
        usage = usage_series(decoded_metrics.items, start_ns)
    exit_code = command.attributes.get(attr.PROCESS_EXIT_CODE) if command else None
    run_id = _text(run_values, attr.CICD_PIPELINE_RUN_ID) or folder.name
    return RunView(
        folder=folder,
        run_id=run_id,
        pipeline=_text(run_values, attr.CICD_PIPELINE_NAME),
        pipelines=_strings(run_values.get(attr.KEDRO_PIPELINE_NAMES)),
        runner=_text(run_values, attr.KEDRO_RUNNER),
        env=_text(run_values, attr.KEDRO_ENV),
        result=result,
        start_ns=start_ns,
        end_ns=end_ns,
        command=_text(command.attributes, attr.PROCESS_COMMAND_ARGS) if command else "",
        exit_code=int(exit_code) if isinstance(exit_code, int) else None,
        versions={k: v for k, v in versions.items() if v},
        spans=tuple(rows),
        nodes=nodes,
        failures=_distinct_failures(rows),
        usage=usage,
        skipped_lines=skipped,
    )


def tree(rows: tuple[SpanRow, ...] | list[SpanRow]) -> list[tuple[int, SpanRow]]:
    """Spans depth-first in start order, each with its depth; orphans (parent not in the file,
    e.g. an inbound TRACEPARENT's) are roots.
    """
    ids = {row.span_id for row in rows}
    children: dict[int | None, list[SpanRow]] = {}
    for row in rows:
        parent = row.parent_id if row.parent_id in ids else None
        children.setdefault(parent, []).append(row)
    for siblings in children.values():
        siblings.sort(key=lambda r: (r.start_ns, r.name))
    ordered: list[tuple[int, SpanRow]] = []
    stack = [(0, row) for row in reversed(children.get(None, []))]
    while stack:
        depth, row = stack.pop()
        ordered.append((depth, row))
        stack.extend((depth + 1, child) for child in reversed(children.get(row.span_id, [])))
    return ordered
