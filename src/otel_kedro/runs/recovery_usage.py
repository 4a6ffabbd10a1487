"""con-duct's ``info.json`` for a run whose process was killed, from the usage records it left.

``usage.jsonl`` is written as the run goes (one record per report interval), so a killed run
keeps its resource figures up to its last record; this folds them into the
``execution_summary`` the sampler would have produced (peaks are the records' maxima, averages
are weighted by each record's samples) and writes ``info.json`` with the exit code unknown.
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path
from typing import Any

from otel_kedro.model.inflight import RunRecord
from otel_kedro.model.usage import UsageSummary

KILLED_MESSAGE = (
    "killed: the process ended abruptly (SIGKILL, the OOM killer or os._exit); exit code unknown"
)


def _records(path: Path) -> list[dict[str, Any]]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    records = []
    for line in data.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a torn last line
        if isinstance(record, dict) and "totals" in record:
            records.append(record)
    return records


def _timestamp(record: dict[str, Any]) -> float:
    return datetime.datetime.fromisoformat(str(record["timestamp"])).timestamp()


def summary_of_records(
    records: list[dict[str, Any]], started: float, last_seen: float
) -> UsageSummary:
    """The run's usage summary as far as its records go."""
    import psutil

    samples = sum(int(r.get("num_samples", 0)) for r in records) or 0
    weights = [max(1, int(r.get("num_samples", 1))) for r in records]
    total_weight = sum(weights) or 1

    def average(key: str) -> float:
        pairs = zip(records, weights, strict=True)
        return sum(float(r["averages"].get(key, 0.0)) * w for r, w in pairs) / total_weight

    last = records[-1] if records else {}
    extra = last.get("otel_kedro", {}) if last else {}
    cpu_user, cpu_system = float(extra.get("cpu_user", 0.0)), float(extra.get("cpu_system", 0.0))
    end = max([last_seen, *(_timestamp(r) for r in records)]) if records else last_seen
    start = min([started, *(_timestamp(r) for r in records)]) if records else started
    wall = max(0.0, end - start)
    peak_rss = max(
        [0, *(int(r["totals"].get("rss", 0)) for r in records),
         *(int(r.get("otel_kedro", {}).get("peak_rss", 0) or 0) for r in records)]
    )  # fmt: skip
    return UsageSummary(
        start_time=start,
        end_time=end,
        num_samples=samples,
        cpu_user=cpu_user,
        cpu_system=cpu_system,
        peak_rss=peak_rss,
        average_rss=average("rss") if records else 0.0,
        peak_vms=max([0, *(int(r["totals"].get("vsz", 0)) for r in records)]),
        average_vms=average("vsz") if records else 0.0,
        peak_pss=None,
        average_pss=None,
        peak_pcpu=max([0.0, *(float(r["totals"].get("pcpu", 0.0)) for r in records)]),
        average_pcpu=(cpu_user + cpu_system) / wall * 100 if wall > 0 else 0.0,
        memory_total=int(psutil.virtual_memory().total),
        cpu_total=os.cpu_count() or 1,
        approximations=("the run was killed: figures go up to its last usage record",),
    )


def write_info_of_killed_run(folder: Path, run: RunRecord, seen: dict[int, float]) -> bool:
    """Write ``info.json`` for a killed run unless it has one; whether it was written."""
    from otel_kedro.exporters.conduct import INFO_FILE, USAGE_FILE, ConductWriter

    if (folder / INFO_FILE).exists():
        return False
    records = _records(folder / USAGE_FILE)
    summary = summary_of_records(records, run.start_time, seen.get(run.pid, run.start_time))
    writer = ConductWriter(
        folder,
        command=run.command,
        working_directory=run.working_directory,
        text=str,  # the journal holds them processed already
        reports=len(records),
    )
    try:
        writer.finish(summary, None, message=KILLED_MESSAGE)
    finally:
        writer.close()
    return True
