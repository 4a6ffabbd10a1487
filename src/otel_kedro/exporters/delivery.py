"""What every remote destination shares: the record of what was acknowledged, and delivery off
the hot path with one bounded wait for all destinations of a run.

Each destination is recorded in the run folder's ``delivery.json`` under its own key (``otlp
http/protobuf http://…``, ``heap https://…``): OTLP endpoints line by line, request by request
(``exporters.ledger``), Heap once per run (its events summarise the whole run), so
``otel-kedro replay`` sends only what is missing.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from otel_kedro.exporters.files import write_json_atomically
from otel_kedro.exporters.ledger import document_lock, read_document
from otel_kedro.model.run_folder import DELIVERY_FILE


def delivered(folder: Path) -> dict[str, Any]:
    """What ``delivery.json`` says each destination acknowledged."""
    return read_document(folder)


def record_delivery(folder: Path, key: str, **facts: object) -> None:
    """Note that destination ``key`` acknowledged this run (atomically, for concurrent writers)."""
    with document_lock(folder):
        document = read_document(folder)
        document[key] = {**facts, "at": dt.datetime.now(dt.timezone.utc).isoformat()}
        write_json_atomically(folder / DELIVERY_FILE, document, indent=2)


def deliver_in_background(
    folder: Path, jobs: Sequence[tuple[str, Callable[[Path], object]]], wait_s: float
) -> list[threading.Thread]:
    """Run each ``(destination, job)`` on its own daemon thread and wait at most ``wait_s`` for
    all of them together: a slow or silent endpoint can never hold up the user's command, and
    whatever is not acknowledged stays on disk for ``otel-kedro replay``.
    """
    from otel_kedro.diagnostics import warn_once

    def work(destination: str, job: Callable[[Path], object]) -> None:
        try:
            job(folder)
        except Exception as error:  # noqa: BLE001 - recorded as undelivered, replayable
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            warn_once(
                f"run {folder.name} not delivered to {destination}: {reason}. It stays on disk; "
                "send it later with `otel-kedro replay`."
            )

    threads = [
        threading.Thread(target=work, args=job, name="otel-kedro-delivery", daemon=True)
        for job in jobs
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + wait_s
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return threads
