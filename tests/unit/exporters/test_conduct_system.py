"""info.json's ``system`` block without ``platform`` and ``socket``: the same values they give."""

from __future__ import annotations

import os
import platform
import socket
import sys
from pathlib import Path

import pytest

from otel_kedro.exporters import conduct_system
from otel_kedro.exporters.conduct_system import os_release, system_block


def test_os_release_equals_platforms() -> None:
    """This machine's os-release fields are exactly ``platform.freedesktop_os_release()``'s."""
    try:
        expected = platform.freedesktop_os_release()
    except OSError:
        expected = {}
    assert os_release() == expected


def test_os_release_quotes_escapes_and_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Quotes are removed, backslash escapes undone, bad lines skipped, the defaults kept, and
    the second file read when the first is missing."""
    text = 'NAME="Deb \\"ian\\""\nID=debian\n# comment\nbad line\nVERSION=\'12 (x)\'\nX=a\\$b\n'
    second = tmp_path / "os-release"
    second.write_text(text, encoding="utf-8")
    monkeypatch.setattr(
        conduct_system, "_OS_RELEASE_FILES", (str(tmp_path / "missing"), str(second))
    )
    assert os_release() == {
        "NAME": 'Deb "ian"',
        "ID": "debian",
        "PRETTY_NAME": "Linux",
        "VERSION": "12 (x)",
        "X": "a$b",
    }
    monkeypatch.setattr(conduct_system, "_OS_RELEASE_FILES", (str(tmp_path / "missing"),))
    assert os_release() == {}


def test_system_block_names_this_machine() -> None:
    """Host, OS and architecture are socket's and platform's values."""
    block = system_block(4, 1024)
    assert block["hostname"] == socket.gethostname()
    assert (block["os_name"], block["os_release"], block["os_version"], block["arch"]) == (
        platform.system(),
        platform.release(),
        platform.version(),
        platform.machine(),
    )
    assert block["processor"] == ("" if sys.platform.startswith("linux") else platform.processor())
    assert (block["cpu_total"], block["memory_total"], block["user"]) == (
        4,
        1024,
        os.environ.get("USER"),
    )
