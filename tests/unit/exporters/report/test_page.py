"""The report page from synthetic runs: every section, escaped names, and folders with nothing
but ``info.json`` (a wrapped command) or no samples.
"""

from __future__ import annotations

import json
from pathlib import Path

from otel_kedro.exporters.report import render
from otel_kedro.model.comparison import compare
from otel_kedro.model.run_view import read_run
from tests.support.run_folders import FakeNode, write_run

NODES = [
    FakeNode("<b>load</b>", 0, 1.0, peak=100_000_000, outputs=("raw",)),
    FakeNode("train", 1, 2.0, peak=500_000_000, inputs=("raw",), error="x < y & z"),
]


def test_every_section_and_names_escaped(tmp_path: Path) -> None:
    before = read_run(write_run(tmp_path / "a", NODES[:1]))
    view = read_run(write_run(tmp_path / "b", NODES, result="failure"))
    page = render(view, compare(before, view), generator="otel-kedro test")
    for section in ("facts", "failures", "phases", "timeline", "usage", "pipeline", "top"):
        assert f'id="{section}"' in page
    assert "<b>load</b>" not in page
    assert "&lt;b&gt;load&lt;/b&gt;" in page
    assert "x &lt; y &amp; z" in page
    assert "added: train" in page
    assert "no samples in metrics.jsonl" in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page


def test_a_folder_with_only_info_json_still_renders(tmp_path: Path) -> None:
    folder = tmp_path / "wrapped"
    folder.mkdir()
    (folder / "info.json").write_text(json.dumps({"command": "sleep 1"}))
    view = read_run(folder)
    assert view.result == "unknown"
    assert view.nodes == ()
    page = render(view)
    assert "No earlier run of this pipeline" in page
    assert page.endswith("</html>")
