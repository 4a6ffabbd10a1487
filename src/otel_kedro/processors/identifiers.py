"""HMAC-SHA256 hashing of identifiers (user and host names, paths), keyed per install.

Unlike kedro-telemetry's unsalted SHA-512 of low-entropy values (reversible by trying every user
name), a keyed hash cannot be reversed without the key. The key is random, created once per
install in the user's config folder with mode 0600, never inside a project and never exported; an
organisation can set one shared key instead, so the same user hashes alike on every machine.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Final

from opentelemetry.util.types import AttributeValue

KEY_FILE: Final = "identifier-hash.key"
HASH_PREFIX: Final = "hmac:"
_KEY_BYTES: Final = 32
_DIGEST_HEX: Final = 32  # 128 bits: collisions are not a concern at this scale


def config_dir() -> Path:
    """The per-user folder for otel-kedro's own state (``OTEL_KEDRO_CONFIG_DIR`` overrides)."""
    override = os.environ.get("OTEL_KEDRO_CONFIG_DIR", "").strip()
    if override:
        return Path(override).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("otel-kedro", appauthor=False))


def install_key(folder: Path | None = None) -> bytes:
    """The hashing key of this install, created atomically (mode 0600) on first use."""
    folder = config_dir() if folder is None else folder
    path = folder / KEY_FILE
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = folder / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(descriptor, secrets.token_bytes(_KEY_BYTES).hex().encode("ascii"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    try:
        os.link(temporary, path)  # fails if another process won the race; then use theirs
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    text = path.read_text(encoding="ascii").strip()
    key = bytes.fromhex(text)
    if len(key) < 16:
        raise ValueError(f"{path}: the identifier-hash key is too short; delete the file")
    return key


def hash_identifier(value: str, key: bytes) -> str:
    """``hmac:`` and the first 128 bits of HMAC-SHA256(key, value), in hex."""
    digest = hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
    return HASH_PREFIX + digest[:_DIGEST_HEX]


def _hash_value(value: AttributeValue, key: bytes) -> AttributeValue:
    if isinstance(value, str):
        return value if value.startswith(HASH_PREFIX) else hash_identifier(value, key)
    if isinstance(value, (list, tuple)):
        return [str(_hash_value(item, key)) for item in value]
    return hash_identifier(str(value), key)


def hash_attributes(
    attributes: Mapping[str, AttributeValue],
    *,
    key: bytes,
    keys: Collection[str],
    paths: Mapping[str, str] | None = None,
) -> dict[str, AttributeValue]:
    """Hash the values of ``keys``; in every other string, replace each sensitive path prefix
    (home, project) by its hash, so ``/home/alice/proj/x.csv`` keeps its tail but not the name.
    """
    replacements = sorted((paths or {}).items(), key=lambda item: -len(item[0]))
    result: dict[str, AttributeValue] = {}
    for name, value in attributes.items():
        if name in keys:
            result[name] = _hash_value(value, key)
        elif replacements and isinstance(value, str):
            result[name] = _replace_paths(value, replacements)
        elif (
            replacements
            and isinstance(value, (list, tuple))
            and value
            and isinstance(value[0], str)
        ):
            result[name] = [_replace_paths(str(item), replacements) for item in value]
        else:
            result[name] = value
    return result


def _replace_paths(text: str, replacements: list[tuple[str, str]]) -> str:
    for path, hashed in replacements:
        if path and path in text:
            text = text.replace(path, hashed)
    return text


def path_replacements(key: bytes, *paths: str | Path | None) -> dict[str, str]:
    """Map each given path (home, project root) to a hashed stand-in of the same role."""
    result: dict[str, str] = {}
    for path in paths:
        if path is None:
            continue
        text = str(path).rstrip(os.sep)
        if len(text) > 1:
            result[text] = f"<{hash_identifier(text, key)}>"
    return result
