"""The resource of otel-kedro's spans, built by us instead of by the SDK's default detectors, so
that every attribute on it is one we chose and one the privacy chains know about.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import platform
import socket
import sys

from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.version import __version__ as sdk_version

from otel_kedro import attributes as attr


def build_resource(service_name: str) -> Resource:
    """service, host, process and runtime facts, then ``OTEL_RESOURCE_ATTRIBUTES`` on top."""
    facts: dict[str, str | int] = {
        "telemetry.sdk.language": "python",
        "telemetry.sdk.name": "opentelemetry",
        "telemetry.sdk.version": sdk_version,
        "process.pid": os.getpid(),
        "process.runtime.name": sys.implementation.name,
        "process.runtime.version": platform.python_version(),
        "os.type": sys.platform,
        "host.name": socket.gethostname(),
    }
    with contextlib.suppress(KeyError, OSError):  # no passwd entry, e.g. in some containers
        facts["process.owner"] = getpass.getuser()
    resource = Resource(facts).merge(OTELResourceDetector().detect())
    return resource.merge(Resource({attr.SERVICE_NAME: service_name}))
