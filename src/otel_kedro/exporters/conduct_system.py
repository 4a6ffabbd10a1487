"""The machine con-duct describes in ``info.json``'s ``system`` block, from ``os`` alone on Linux.

``platform`` and ``socket`` cost ~5 ms to import (``platform`` compiles a dozen regular
expressions), a twentieth of ``otel-kedro run``'s start-up budget, for values ``os.uname()``
already holds; ``/etc/os-release`` is read as ``platform.freedesktop_os_release`` reads it. Other
systems fall back to ``platform`` and ``socket``.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any, Final

# As platform.freedesktop_os_release (CPython 3.11-3.13): the same files, lines and unescaping.
_OS_RELEASE_FILES: Final = ("/etc/os-release", "/usr/lib/os-release")
_OS_RELEASE_LINE: Final = re.compile(
    "^(?P<name>[a-zA-Z0-9_]+)=(?P<quote>[\"']?)(?P<value>.*)(?P=quote)$"
)
_OS_RELEASE_UNESCAPE: Final = re.compile(r"\\([\\\$\"\'`])")


def memory_total() -> int:
    """Physical memory of the machine; ``sysconf`` where it knows (no psutil import on the
    start-up path of ``otel-kedro run``), psutil elsewhere.
    """
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # Windows, or a platform without the names
        import psutil

        return int(psutil.virtual_memory().total)


def os_release() -> dict[str, str]:
    """The freedesktop ``os-release`` fields, with their defaults, as
    ``platform.freedesktop_os_release()`` gives them; empty where no such file exists (macOS).
    """
    for candidate in _OS_RELEASE_FILES:
        lines = _read_lines(candidate)
        if lines is None:
            continue
        info = {"NAME": "Linux", "ID": "linux", "PRETTY_NAME": "Linux"}
        for line in lines:
            found = _OS_RELEASE_LINE.match(line)
            if found is not None:
                info[found["name"]] = _OS_RELEASE_UNESCAPE.sub(r"\1", found["value"])
        return info
    return {}


def _read_lines(path: str) -> list[str] | None:
    """The lines of a text file, line ends kept as iterating a file keeps them; None if unread."""
    try:
        with open(path, encoding="utf-8") as file:  # noqa: PTH123 - pathlib is not needed here
            return file.readlines()
    except OSError:
        return None


def system_block(cpu_total: int, memory_total: int) -> dict[str, Any]:
    """con-duct's ``system`` block, from the standard library alone and without subprocesses."""
    uname = os.uname() if hasattr(os, "uname") else None
    release = os_release()
    linux = sys.platform.startswith("linux")
    if uname is None or not linux:
        import platform
        import socket

        hostname = socket.gethostname()
        # platform.processor() runs `uname -p` on Unix, which on Linux says nothing useful.
        processor = platform.processor()
    else:
        hostname, processor = uname.nodename, ""  # gethostname() is uname's nodename on Linux
    return {
        "cpu_total": cpu_total,
        "memory_total": memory_total,
        "hostname": hostname,
        "uid": os.getuid() if hasattr(os, "getuid") else -1,
        "user": os.environ.get("USER"),
        "os_name": uname.sysname if uname else _platform().system(),
        "os_release": uname.release if uname else _platform().release(),
        "os_version": uname.version if uname else _platform().version(),
        "arch": uname.machine if uname else _platform().machine(),
        "processor": processor,
        "distro_id": release.get("ID", ""),
        "distro_id_like": release.get("ID_LIKE", ""),
        "distro_name": release.get("NAME", ""),
        "distro_version": release.get("VERSION", ""),
        "distro_version_id": release.get("VERSION_ID", ""),
        "distro_codename": release.get("VERSION_CODENAME", ""),
        "distro_variant_id": release.get("VARIANT_ID", ""),
        "distro_pretty_name": release.get("PRETTY_NAME", ""),
        "distro_build_id": release.get("BUILD_ID", ""),
    }


def _platform() -> Any:
    import platform

    return platform
