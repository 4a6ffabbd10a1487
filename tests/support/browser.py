"""A real headless browser for page tests: Debian's ``chromium`` driven by Playwright.

Playwright's own browser download does not work on the CI machines (no GitHub downloads), so the
tests use the distribution's Chromium through ``executable_path``, installed here with apt-get on
first use (as root, under a lock, so parallel workers install it once) when it is missing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_LOCK = Path(tempfile.gettempdir()) / "otel-kedro-tests-chromium.lock"


def ensure_chromium() -> Path:
    """``/usr/bin/chromium``, installed with apt-get if it is not there yet."""
    if CHROMIUM.exists():
        return CHROMIUM
    with _LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not CHROMIUM.exists():
            prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            apt = shutil.which("apt-get")
            if apt is None:
                raise RuntimeError("the page tests need Debian's chromium, and apt-get is missing")
            for argv in ([apt, "update"], [apt, "install", "-y", "chromium"]):
                done = subprocess.run(
                    [*prefix, *argv], env=env, capture_output=True, text=True, timeout=1800
                )
                if done.returncode != 0 and argv[-1] == "chromium":
                    raise RuntimeError(f"apt-get install chromium failed:\n{done.stderr[-2000:]}")
    return CHROMIUM


@dataclasses.dataclass
class OpenedPage:
    """A page loaded from a file, and what happened while loading it."""

    page: Any
    console_errors: list[str]
    requests: list[str]
    load_ms: float


@contextlib.contextmanager
def open_file(path: Path, *, width: int = 1400, height: int = 1000) -> Iterator[OpenedPage]:
    """Open ``path`` in headless Chromium; record console errors, page errors and requests."""
    from playwright.sync_api import sync_playwright

    executable = ensure_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            errors: list[str] = []
            requests: list[str] = []
            page.on(
                "console",
                lambda message: errors.append(message.text) if message.type == "error" else None,
            )
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("request", lambda request: requests.append(request.url))
            url = path.resolve().as_uri()
            page.goto(url, wait_until="load")
            load_ms = float(
                page.evaluate(
                    "() => { const n = performance.getEntriesByType('navigation')[0];"
                    " return n ? n.loadEventEnd : performance.now(); }"
                )
            )
            yield OpenedPage(page, errors, requests, load_ms)
        finally:
            browser.close()
