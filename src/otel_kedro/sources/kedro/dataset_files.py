"""Where a dataset's data lives: file path, version and size on ``LOAD``/``SAVE`` spans.

Kedro's file datasets (kedro-datasets, and any ``AbstractVersionedDataset``) keep their path in
``_filepath`` and protocol in ``_protocol``; versioned ones resolve the run's load and save
versions. Only local files are sized (one ``stat``) and, when asked, hashed; remote objects
would cost a request each. Datasets without a file (memory, parameters) give nothing, and
remember so.
"""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath
from stat import S_ISREG
from typing import Any, Final

from opentelemetry.util.types import AttributeValue

from otel_kedro import attributes as attr
from otel_kedro.sources.vcs import strip_userinfo

# Larger files are not hashed: at ~1 GB/s a 256 MiB file already costs a quarter second.
CONTENT_HASH_MAX_BYTES: Final = 256 * 1024 * 1024
_LOCAL_PROTOCOLS: Final = frozenset({"file", "local", ""})
_CHUNK: Final = 1024 * 1024


def dataset_file_facts(
    dataset: Any, *, saved: bool, content_hash: bool = False
) -> dict[str, AttributeValue]:
    """``file.path``, ``kedro.dataset.version``, ``file.size`` and, with ``content_hash``, the
    SHA-256 of a local file no larger than ``CONTENT_HASH_MAX_BYTES``; empty for a dataset
    without a file.
    """
    filepath = getattr(dataset, "_filepath", None)
    if filepath is None:
        return {}
    protocol = str(getattr(dataset, "_protocol", "") or "")
    version = _version(dataset, saved=saved)
    path = str(filepath)
    if version is not None:
        path = str(PurePosixPath(path) / version / PurePosixPath(path).name)
    local = protocol in _LOCAL_PROTOCOLS
    shown = path if local or "://" in path else f"{protocol}://{path}"
    facts: dict[str, AttributeValue] = {attr.FILE_PATH: strip_userinfo(shown)}
    if version is not None:
        facts[attr.KEDRO_DATASET_VERSION] = version
    if local:
        facts.update(_local_file_facts(path, content_hash=content_hash))
    return facts


def _version(dataset: Any, *, saved: bool) -> str | None:
    """The version this operation used, for a versioned dataset (None otherwise)."""
    if getattr(dataset, "_version", None) is None:
        return None
    resolve = getattr(dataset, "resolve_save_version" if saved else "resolve_load_version", None)
    if resolve is None:
        return None
    try:
        version = resolve()
    except Exception:  # noqa: BLE001 - no version found (nothing saved yet): no attribute
        return None
    return str(version) if version else None


def _local_file_facts(path: str, *, content_hash: bool) -> dict[str, AttributeValue]:
    try:
        stat = Path(path).stat()
    except OSError:
        return {}
    if not S_ISREG(stat.st_mode):  # a partitioned or folder dataset: no single size
        return {}
    facts: dict[str, AttributeValue] = {attr.FILE_SIZE: stat.st_size}
    if content_hash and stat.st_size <= CONTENT_HASH_MAX_BYTES:
        digest = _sha256(path)
        if digest is not None:
            facts[attr.KEDRO_DATASET_SHA256] = digest
    return facts


def _sha256(path: str) -> str | None:
    digest = hashlib.sha256()
    try:
        with Path(path).open("rb") as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()
