"""The resource of otel-kedro's spans, built by us instead of by the SDK's default detectors, so
that every attribute on it is one we chose and one the privacy chains know about.

:func:`resource_attributes` gives the same attributes as plain values without importing the SDK,
for ``otel-kedro run``, which writes its one span without it (its start-up budget is 100 ms).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from otel_kedro import attributes as attr

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource


def build_resource(service_name: str) -> Resource:
    """service, host, process and runtime facts, then ``OTEL_RESOURCE_ATTRIBUTES`` on top."""
    from opentelemetry.sdk.resources import OTELResourceDetector, Resource
    from opentelemetry.sdk.version import __version__ as sdk_version

    facts: dict[str, str | int] = {
        "telemetry.sdk.language": "python",
        "telemetry.sdk.name": "opentelemetry",
        "telemetry.sdk.version": sdk_version,
        **_facts(),
    }
    resource = Resource(facts).merge(OTELResourceDetector().detect())
    return resource.merge(Resource({attr.SERVICE_NAME: service_name}))


def resource_attributes(
    service_name: str, environ: Mapping[str, str] | None = None
) -> dict[str, str | int]:
    """:func:`build_resource`'s attributes without the SDK: the same facts, then
    ``OTEL_RESOURCE_ATTRIBUTES`` (parsed as the SDK parses it), then the service name. The
    ``telemetry.sdk.*`` keys name otel-kedro, which writes these spans itself.
    """
    from otel_kedro import __version__

    environ = os.environ if environ is None else environ
    facts: dict[str, str | int] = {
        "telemetry.sdk.language": "python",
        "telemetry.sdk.name": "otel-kedro",
        "telemetry.sdk.version": __version__,
        **_facts(),
    }
    for item in environ.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
        key, equals, value = item.partition("=")
        if equals and key.strip():
            facts[key.strip()] = urllib.parse.unquote(value.strip())
    facts[attr.SERVICE_NAME] = service_name
    return facts


def _facts() -> dict[str, str | int]:
    """Process, runtime and host facts shared by both forms of the resource."""
    facts: dict[str, str | int] = {
        "process.pid": os.getpid(),
        "process.runtime.name": sys.implementation.name,
        "process.runtime.version": python_version(),
        "os.type": sys.platform,
        "host.name": host_name(),
    }
    with contextlib.suppress(KeyError, OSError):  # no passwd entry, e.g. in some containers
        facts["process.owner"] = user_name()
    return facts


# ``platform``, ``socket`` and ``getpass`` are not imported for these values: together they cost
# ~5 ms of ``otel-kedro run``'s 100 ms start-up budget (``platform`` compiles a dozen patterns).
_VERSION: Final = re.compile(r"[\w.+]+")


def python_version() -> str:
    """``platform.python_version()``: the leading version word of ``sys.version``
    (``3.11.7``, ``3.13.0rc1``), with a missing micro number read as ``.0``.
    """
    found = _VERSION.match(sys.version)
    version = found.group() if found else ""
    return f"{version}.0" if version.count(".") == 1 else version


def user_name() -> str:
    """``getpass.getuser()`` (whose module imports ``termios`` and ``io`` for its prompts): the
    first of ``LOGNAME``, ``USER``, ``LNAME`` and ``USERNAME`` that is set, else the password
    database's name for our uid (``KeyError`` when it has none).
    """
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        user = os.environ.get(name)
        if user:
            return user
    import pwd

    return pwd.getpwuid(os.getuid())[0]


def host_name() -> str:
    """``socket.gethostname()``, which is the kernel's node name wherever ``os.uname`` exists."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket

    return socket.gethostname()
