"""The remote destinations a consenting run delivers to: OTLP, and Heap when opted in.

Consent is decided by the caller; this only turns settings into delivery jobs, each with its own
privacy chain, shared by the end of a run and by ``otel-kedro replay``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from otel_kedro.diagnostics import warn_once

if TYPE_CHECKING:
    from otel_kedro.exporters.heap import HeapDelivery
    from otel_kedro.processors.cli_args import Vocabulary
    from otel_kedro.config.settings import Settings

Job = tuple[str, Callable[[Path], object]]


def heap_delivery(
    settings: Settings,
    project_path: Path,
    vocabulary: Vocabulary | None,
    package_name: str | None,
) -> HeapDelivery:
    """Heap's events builder and sender for this project, with the Heap chain."""
    from otel_kedro.exporters.heap import HeapDelivery, HeapFacts, HeapTarget
    from otel_kedro.processors.chain import build_chain, hash_key

    chain = build_chain(
        settings.privacy.heap, settings.privacy, vocabulary=vocabulary, project_path=project_path
    )
    return HeapDelivery(
        target=HeapTarget(settings.heap_endpoint, settings.heap_app_id),
        facts=HeapFacts.of(hash_key(settings.privacy), project_path, package_name),
        chain=chain,
        vocabulary=vocabulary,
        allow_args=settings.privacy.allow_args,
    )


def remote_jobs(  # noqa: PLR0913 - endpoint and force are replay's keyword-only options
    settings: Settings,
    project_path: Path,
    vocabulary: Vocabulary | None,
    package_name: str | None,
    *,
    endpoint: str | None = None,
    force: bool = False,
) -> list[Job]:
    """One ``(destination, deliver(folder))`` job per enabled remote destination."""
    from otel_kedro.exporters import otlp
    from otel_kedro.processors.chain import build_chain

    jobs: list[Job] = []
    if settings.otlp:
        try:
            target = otlp.target_from_env(os.environ, endpoint)
        except ValueError as error:
            warn_once(f"{error}; set OTEL_EXPORTER_OTLP_PROTOCOL. Nothing is sent over OTLP.")
        else:
            chain = build_chain(
                settings.privacy.otlp, settings.privacy, vocabulary=vocabulary,
                project_path=project_path,
            )  # fmt: skip
            otlp.prepare(target)
            deliver = functools.partial(otlp.deliver_run, target=target, chain=chain, force=force)
            jobs.append((target.endpoint, deliver))
    if settings.heap:
        heap = heap_delivery(settings, project_path, vocabulary, package_name)
        jobs.append((heap.target.endpoint, functools.partial(heap.deliver_run, force=force)))
    return jobs
