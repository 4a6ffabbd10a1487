"""Local files: run folders never shared, and whole-line appends from many processes."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

from otel_kedro.exporters.files import AtomicAppendStream, create_run_folder
from otel_kedro.model.run_folder import RUN_MARKER, is_run_folder


def _append_lines(path: str, worker: int, lines: int, size: int) -> None:
    stream = AtomicAppendStream(Path(path))
    for index in range(lines):
        stream.write(json.dumps({"worker": worker, "index": index, "pad": "x" * size}) + "\n")
        stream.flush()
    stream.close()


def test_processes_appending_large_lines_never_interleave(tmp_path: Path) -> None:
    target = tmp_path / "traces.jsonl"
    context = multiprocessing.get_context("fork")
    # Lines far above the 8 KiB that a buffered writer would split into several writes.
    workers = [
        context.Process(target=_append_lines, args=(str(target), w, 40, 200_000)) for w in range(4)
    ]
    for process in workers:
        process.start()
    for process in workers:
        process.join()
        assert process.exitcode == 0
    records = [json.loads(line) for line in target.read_text().splitlines()]
    assert len(records) == 160
    for worker in range(4):
        assert [r["index"] for r in records if r["worker"] == worker] == list(range(40))


def test_run_folders_are_new_even_for_the_same_run_id(tmp_path: Path) -> None:
    folders = {create_run_folder(tmp_path / "runs", "2026-11-22T02.16.28.681Z") for _ in range(50)}
    assert len(folders) == 50
    assert all(f.name.startswith("2026-11-22T02.16.28.681Z-") for f in folders)
    assert all([p.name for p in f.iterdir()] == [RUN_MARKER] for f in folders)
    assert all(is_run_folder(f) for f in folders)


def test_run_folder_names_are_safe(tmp_path: Path) -> None:
    folder = create_run_folder(tmp_path, "../../etc/passwd run")
    assert folder.parent == tmp_path
    assert "/" not in folder.name
