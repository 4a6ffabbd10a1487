"""Per-destination processor chains: which privacy processors run, in order, before a byte of
telemetry is written to files or sent to OTLP or Heap, and how users configure them.

A chain is built once per destination and then applied by the exporter wrappers in
:mod:`._apply` to every attribute set: span, event, link, resource, metric point and log record.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import shlex
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Final

from opentelemetry.util.types import AttributeValue

from otel_kedro.processors.cli_args import Vocabulary, mask_command_args
from otel_kedro.processors.identifiers import hash_attributes, install_key, path_replacements
from otel_kedro.processors.secrets import scrub_attributes, scrub_text

MASK_ARGS: Final = "mask_args"
SCRUB_SECRETS: Final = "scrub_secrets"
HASH_IDENTIFIERS: Final = "hash_identifiers"
DROP_KEYS: Final = "drop_keys"
ALLOW_KEYS: Final = "allow_keys"
PROCESSORS: Final = (MASK_ARGS, SCRUB_SECRETS, HASH_IDENTIFIERS, DROP_KEYS, ALLOW_KEYS)
DESTINATIONS: Final = ("files", "otlp", "heap")

COMMAND_KEYS: Final = ("process.command_args", "process.command_line", "process.command")
_COMMAND_KEY_SET: Final = frozenset(COMMAND_KEYS)
DEFAULT_HASH_KEYS: Final = (
    "user.name", "user.id", "user.email", "enduser.id", "process.owner", "host.name", "host.id",
    "host.ip", "kedro.project.path",
)  # fmt: skip
DEFAULT_MAX_LENGTH: Final = 4096
# What kedro-telemetry sends to Heap, and nothing else (see facts.md).
HEAP_ALLOWED_KEYS: Final = (
    "username", "project_id", "project_version", "telemetry_version", "python_version", "os",
    "is_ci_env", "command", "main_command", "number_of_datasets", "number_of_nodes",
    "number_of_pipelines", "dataset_type_count.*", "run_result", "run_duration_s",
)  # fmt: skip

Attributes = Mapping[str, AttributeValue]
Step = Callable[[Attributes], Attributes]


@dataclasses.dataclass(frozen=True)
class ChainSpec:
    """One destination's chain as configured: processor names in order, and their key lists."""

    processors: tuple[str, ...]
    hash_keys: tuple[str, ...] = DEFAULT_HASH_KEYS
    drop_keys: tuple[str, ...] = ()
    allow_keys: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class PrivacySettings:
    """Every destination's chain, plus the options the processors share."""

    files: ChainSpec = ChainSpec((MASK_ARGS, SCRUB_SECRETS))
    otlp: ChainSpec = ChainSpec((MASK_ARGS, SCRUB_SECRETS, HASH_IDENTIFIERS))
    heap: ChainSpec = ChainSpec(
        (MASK_ARGS, SCRUB_SECRETS, HASH_IDENTIFIERS, ALLOW_KEYS), allow_keys=HEAP_ALLOWED_KEYS
    )
    allow_args: tuple[str, ...] = ()
    max_attribute_length: int = DEFAULT_MAX_LENGTH
    hash_key_file: str | None = None

    def spec(self, destination: str) -> ChainSpec:
        """The chain of ``files``, ``otlp`` or ``heap``."""
        spec: ChainSpec = getattr(self, destination)
        return spec


def _string_list(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where} must be a list of strings, not {value!r}")
    return tuple(value)


def _chain_spec(value: object, where: str, default: ChainSpec) -> ChainSpec:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} must be a mapping, not {value!r}")
    fields = {"processors", "hash_keys", "drop_keys", "allow_keys"}
    unknown = sorted(set(value) - fields)
    if unknown:
        raise ValueError(f"{where} has unknown keys {unknown}; allowed: {sorted(fields)}")
    changes = {key: _string_list(value[key], f"{where}.{key}") for key in fields & set(value)}
    bad = [name for name in changes.get("processors", ()) if name not in PROCESSORS]
    if bad:
        raise ValueError(f"{where}.processors has {bad}; allowed: {list(PROCESSORS)}")
    return dataclasses.replace(default, **changes)


def parse_privacy(value: object) -> PrivacySettings:
    """Validate the ``privacy`` configuration value; errors name the sub-key that is wrong."""
    if not isinstance(value, Mapping):
        raise ValueError(f"a mapping with keys {', '.join(DESTINATIONS)} and options")
    result = PrivacySettings()
    allowed = {*DESTINATIONS, "allow_args", "max_attribute_length", "hash_key_file"}
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ValueError(f"known sub-keys only (unknown: {unknown}; allowed: {sorted(allowed)})")
    specs = {
        name: _chain_spec(value[name], f"privacy.{name}", result.spec(name))
        for name in DESTINATIONS
        if name in value
    }
    result = dataclasses.replace(
        result,
        files=specs.get("files", result.files),
        otlp=specs.get("otlp", result.otlp),
        heap=specs.get("heap", result.heap),
    )
    if "allow_args" in value:
        result = dataclasses.replace(
            result, allow_args=_string_list(value["allow_args"], "privacy.allow_args")
        )
    if "max_attribute_length" in value:
        length = value["max_attribute_length"]
        if isinstance(length, bool) or not isinstance(length, int) or length < 64:
            raise ValueError(
                f"privacy.max_attribute_length must be an integer >= 64, not {length!r}"
            )
        result = dataclasses.replace(result, max_attribute_length=length)
    if "hash_key_file" in value:
        path = value["hash_key_file"]
        if not isinstance(path, str) or not path.strip():
            raise ValueError(f"privacy.hash_key_file must be a path, not {path!r}")
        result = dataclasses.replace(result, hash_key_file=path.strip())
    return result


@dataclasses.dataclass(frozen=True)
class Chain:
    """A destination's processors, ready to apply: attribute sets in, attribute sets out."""

    steps: tuple[Step, ...]
    text_steps: tuple[Callable[[str], str], ...]

    def attributes(self, attributes: Attributes | None) -> dict[str, AttributeValue]:
        """Apply every step to one attribute set (never mutates the input; returns the input
        itself when it is a dict that no step changed).
        """
        if not attributes:
            return {}
        result = attributes
        for step in self.steps:  # a step returns its input when it changes nothing
            result = step(result)
        return result if isinstance(result, dict) else dict(result)

    def text(self, text: str) -> str:
        """Apply the text-level steps to a span name or a status description."""
        for step in self.text_steps:
            text = step(text)
        return text


def _mask_args_step(vocabulary: Vocabulary | None, allow: Collection[str]) -> Step:
    def step(attributes: Attributes) -> Attributes:
        if not _COMMAND_KEY_SET.intersection(attributes):
            return attributes
        result = dict(attributes)
        args = result.get("process.command_args")
        if isinstance(args, (list, tuple)):
            result["process.command_args"] = mask_command_args(
                [str(a) for a in args], vocabulary, allow
            )
        line = result.get("process.command_line")
        if isinstance(line, str):
            try:
                words = shlex.split(line)
            except ValueError:
                words = line.split()
            result["process.command_line"] = " ".join(mask_command_args(words, vocabulary, allow))
        command = result.get("process.command")
        if isinstance(command, str):
            result["process.command"] = os.path.basename(command)  # noqa: PTH119 - any OS's path
        return result

    return step


def _scrub_step(attributes: Attributes, *, max_length: int) -> dict[str, AttributeValue]:
    return scrub_attributes(attributes, max_length=max_length)


def _scrub_text_step(text: str, *, max_length: int) -> str:
    return scrub_text(text, max_length=max_length)


def _hash_step(
    attributes: Attributes, *, key: bytes, keys: frozenset[str], paths: Mapping[str, str]
) -> dict[str, AttributeValue]:
    return hash_attributes(attributes, key=key, keys=keys, paths=paths)


def _drop_step(attributes: Attributes, *, keys: frozenset[str]) -> dict[str, AttributeValue]:
    return {k: v for k, v in attributes.items() if k not in keys}


def _allow_step(
    attributes: Attributes, *, keys: frozenset[str], prefixes: tuple[str, ...]
) -> dict[str, AttributeValue]:
    return {k: v for k, v in attributes.items() if k in keys or k.startswith(prefixes)}


def _allow(keys: Sequence[str]) -> Step:
    """Keep only the listed keys; an entry ending in ``*`` keeps every key with that prefix."""
    exact = frozenset(key for key in keys if not key.endswith("*"))
    prefixes = tuple(key[:-1] for key in keys if key.endswith("*"))
    return functools.partial(_allow_step, keys=exact, prefixes=prefixes)


def build_chain(
    spec: ChainSpec,
    privacy: PrivacySettings,
    *,
    vocabulary: Vocabulary | None = None,
    project_path: Path | None = None,
) -> Chain:
    """Turn a configured chain into functions; the hashing key is read only if it is used."""
    steps: list[Step] = []
    text_steps: list[Callable[[str], str]] = []
    length = privacy.max_attribute_length
    for name in spec.processors:
        if name == MASK_ARGS:
            steps.append(_mask_args_step(vocabulary, privacy.allow_args))
        elif name == SCRUB_SECRETS:
            steps.append(functools.partial(_scrub_step, max_length=length))
            text_steps.append(functools.partial(_scrub_text_step, max_length=length))
        elif name == HASH_IDENTIFIERS:
            key = hash_key(privacy)
            paths = path_replacements(key, Path.home(), project_path)
            keys = frozenset(spec.hash_keys)
            steps.append(functools.partial(_hash_step, key=key, keys=keys, paths=paths))
            text_steps.append(functools.partial(_replace_all, paths=paths))
        elif name == DROP_KEYS:
            steps.append(functools.partial(_drop_step, keys=frozenset(spec.drop_keys)))
        elif name == ALLOW_KEYS:
            steps.append(_allow(spec.allow_keys))
    return Chain(steps=tuple(steps), text_steps=tuple(text_steps))


def _replace_all(text: str, paths: Mapping[str, str]) -> str:
    for path, hashed in sorted(paths.items(), key=lambda item: -len(item[0])):
        text = text.replace(path, hashed)
    return text


def hash_key(privacy: PrivacySettings) -> bytes:
    """The organisation's key file when configured, else this install's own key."""
    if privacy.hash_key_file:
        import hashlib

        return hashlib.sha256(
            Path(privacy.hash_key_file).expanduser().read_bytes().strip()
        ).digest()
    return install_key()


def spec_to_json(spec: ChainSpec, privacy: PrivacySettings) -> dict[str, object]:
    """A worker-process handoff of one chain (no key material: workers read the key file)."""
    return {
        "processors": list(spec.processors),
        "hash_keys": list(spec.hash_keys),
        "drop_keys": list(spec.drop_keys),
        "allow_keys": list(spec.allow_keys),
        "allow_args": list(privacy.allow_args),
        "max_attribute_length": privacy.max_attribute_length,
        "hash_key_file": privacy.hash_key_file,
    }


def spec_from_json(data: Mapping[str, object]) -> tuple[ChainSpec, PrivacySettings]:
    """Inverse of :func:`spec_to_json`."""

    def strings(name: str) -> tuple[str, ...]:
        value = data.get(name) or ()
        return tuple(str(v) for v in value) if isinstance(value, Sequence) else ()

    spec = ChainSpec(
        processors=strings("processors"),
        hash_keys=strings("hash_keys"),
        drop_keys=strings("drop_keys"),
        allow_keys=strings("allow_keys"),
    )
    length = data.get("max_attribute_length")
    key_file = data.get("hash_key_file")
    privacy = PrivacySettings(
        allow_args=strings("allow_args"),
        max_attribute_length=length if isinstance(length, int) else DEFAULT_MAX_LENGTH,
        hash_key_file=key_file if isinstance(key_file, str) else None,
    )
    return spec, privacy
