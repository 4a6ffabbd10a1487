"""Chains of privacy processors: a destination's processors, ready to apply in order.

A chain is built once per destination from processor names and their options, then applied by
:mod:`otel_kedro.processors.apply` to every attribute set and free text of every signal.
Processors are pure functions of attributes in, attributes out; the composition root decides
which chain each destination gets (from :mod:`otel_kedro.config.privacy`).
"""

from __future__ import annotations

import functools
import os
import re
import shlex
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Final, NamedTuple

from opentelemetry.util.types import AttributeValue

from otel_kedro import attributes as attr
from otel_kedro.processors.cli_args import Vocabulary, mask_command_args
from otel_kedro.processors.redaction import Redactor
from otel_kedro.processors.secrets import scrub_attributes, scrub_text

# Processor names, as configuration spells them (config.privacy checks it lists the same ones).
MASK_ARGS: Final = "mask_args"
SCRUB_SECRETS: Final = "scrub_secrets"
HASH_IDENTIFIERS: Final = "hash_identifiers"
DROP_KEYS: Final = "drop_keys"
ALLOW_KEYS: Final = "allow_keys"
PROCESSORS: Final = (MASK_ARGS, SCRUB_SECRETS, HASH_IDENTIFIERS, DROP_KEYS, ALLOW_KEYS)

# Attributes that hold a command line; ``command`` is kedro-telemetry's Heap property.
COMMAND_KEYS: Final = ("process.command_args", "process.command_line", "process.command", "command")
_COMMAND_KEY_SET: Final = frozenset(COMMAND_KEYS)
_COMMAND_LINE_KEYS: Final = ("process.command_line", "command")

Attributes = Mapping[str, AttributeValue]
Step = Callable[[Attributes], Attributes]


# A named tuple rather than a frozen dataclass: as immutable, and a tenth of the cost to define
# (~0.5 ms of `otel-kedro run`'s 100 ms start-up budget, which imports this module).
class Chain(NamedTuple):
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


def _mask_args_step(
    vocabulary: Vocabulary | None, allow: Collection[str], keep: Collection[str]
) -> Step:
    def step(attributes: Attributes) -> Attributes:
        if not _COMMAND_KEY_SET.intersection(attributes):
            return attributes
        result = dict(attributes)
        args = result.get("process.command_args")
        if isinstance(args, (list, tuple)):
            result["process.command_args"] = mask_command_args(
                [str(a) for a in args], vocabulary, allow, keep
            )
        for key in _COMMAND_LINE_KEYS:
            line = result.get(key)
            if isinstance(line, str):
                try:
                    words = shlex.split(line)
                except ValueError:
                    words = line.split()
                result[key] = " ".join(mask_command_args(words, vocabulary, allow, keep))
        command = result.get("process.command")
        if isinstance(command, str):
            result["process.command"] = os.path.basename(command)  # noqa: PTH119 - any OS's path
        return result

    return step


# Digests otel-kedro itself records (a git revision, a file's SHA-256, a keyed hash): kept when
# the value has exactly that shape, scrubbed like any other value otherwise.
_OWN_DIGESTS: Final = {
    attr.VCS_REF_HEAD_REVISION: re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}"),
    attr.KEDRO_DATASET_SHA256: re.compile(r"[0-9a-f]{64}"),
    attr.KEDRO_PARAMS_HASH: re.compile(r"hmac:[0-9a-f]{32}"),
}
_OWN_DIGEST_KEYS: Final = frozenset(_OWN_DIGESTS)


def _scrub_step(attributes: Attributes, *, max_length: int) -> dict[str, AttributeValue]:
    exempt = (
        ()
        if _OWN_DIGEST_KEYS.isdisjoint(attributes)  # most sets: no digest, checked in C
        else [
            key
            for key, shape in _OWN_DIGESTS.items()
            if isinstance(value := attributes.get(key), str) and shape.fullmatch(value)
        ]
    )
    return scrub_attributes(attributes, max_length=max_length, exempt=exempt)


def _scrub_text_step(text: str, *, max_length: int) -> str:
    return scrub_text(text, max_length=max_length)


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


def build_chain(  # noqa: PLR0913 - one keyword per processor option
    processors: Sequence[str],
    *,
    hash_keys: Collection[str] = (),
    drop_keys: Collection[str] = (),
    allow_keys: Sequence[str] = (),
    allow_args: Collection[str] = (),
    keep_run_options: Collection[str] = (),
    max_length: int = 4096,
    key_file: str | None = None,
    vocabulary: Vocabulary | None = None,
    project_path: Path | None = None,
    known_values: Collection[str] = (),
) -> Chain:
    """Turn processor names, in order, into functions; the hashing key is read only if used.
    ``keep_run_options`` names the ``kedro run`` options whose values ``mask_args`` keeps.

    ``known_values`` (the run's sensitive values, see :mod:`otel_kedro.processors.redaction`) are
    masked first, by every chain whatever its configured processors, so no later step (clipping,
    hashing, dropping) ever sees them. An unknown name raises ``ValueError`` (configuration
    validates names before this).
    """
    steps: list[Step] = []
    text_steps: list[Callable[[str], str]] = []
    redactor = Redactor(known_values)
    if redactor:
        steps.append(redactor.attributes)
        text_steps.append(redactor.text)
    for name in processors:
        if name == MASK_ARGS:
            steps.append(_mask_args_step(vocabulary, allow_args, keep_run_options))
        elif name == SCRUB_SECRETS:
            steps.append(functools.partial(_scrub_step, max_length=max_length))
            text_steps.append(functools.partial(_scrub_text_step, max_length=max_length))
        elif name == HASH_IDENTIFIERS:
            # Imported here: hashlib, hmac and secrets cost ~4 ms that `otel-kedro run`'s
            # files chain (no hashing) does without.
            from otel_kedro.processors.identifiers import hash_attributes, path_replacements

            key = hash_key(key_file)
            paths = path_replacements(key, Path.home(), project_path)
            keys = frozenset(hash_keys)
            steps.append(functools.partial(hash_attributes, key=key, keys=keys, paths=paths))
            text_steps.append(functools.partial(_replace_all, paths=paths))
        elif name == DROP_KEYS:
            steps.append(functools.partial(_drop_step, keys=frozenset(drop_keys)))
        elif name == ALLOW_KEYS:
            steps.append(_allow(allow_keys))
        else:
            raise ValueError(f"unknown processor {name!r}; known: {', '.join(PROCESSORS)}")
    return Chain(steps=tuple(steps), text_steps=tuple(text_steps))


def _replace_all(text: str, paths: Mapping[str, str]) -> str:
    for path, hashed in sorted(paths.items(), key=lambda item: -len(item[0])):
        text = text.replace(path, hashed)
    return text


def hash_key(key_file: str | None = None) -> bytes:
    """The organisation's key file when one is given, else this install's own key."""
    if key_file:
        import hashlib

        return hashlib.sha256(Path(key_file).expanduser().read_bytes().strip()).digest()
    from otel_kedro.processors.identifiers import install_key

    return install_key()
