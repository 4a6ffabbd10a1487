"""Privacy settings: which processors each destination runs, in order, and their options.

This is configuration only (validated values); the processors themselves are in
:mod:`otel_kedro.processors`, and the composition root turns these values into chains.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final, NamedTuple

MASK_ARGS: Final = "mask_args"
SCRUB_SECRETS: Final = "scrub_secrets"
HASH_IDENTIFIERS: Final = "hash_identifiers"
DROP_KEYS: Final = "drop_keys"
ALLOW_KEYS: Final = "allow_keys"
PROCESSORS: Final = (MASK_ARGS, SCRUB_SECRETS, HASH_IDENTIFIERS, DROP_KEYS, ALLOW_KEYS)
DESTINATIONS: Final = ("files", "otlp", "heap")

DEFAULT_HASH_KEYS: Final = (
    "user.name", "user.id", "user.email", "enduser.id", "process.owner", "host.name", "host.id",
    "host.ip", "kedro.project.path", "vcs.repository.url.full",
)  # fmt: skip
DEFAULT_MAX_LENGTH: Final = 4096
# Kedro's own `kedro run` options whose values tell runs apart and are not secret: the local
# files keep them (issue 11.7); remote chains keep kedro-telemetry's masking.
KEPT_RUN_OPTIONS: Final = (
    "--pipeline", "-p", "--pipelines", "--runner", "-r", "--env", "-e", "--tags", "-t", "--nodes",
    "-n", "--from-nodes", "--to-nodes", "--namespace", "--namespaces", "-ns", "--from-inputs",
    "--to-outputs",
)  # fmt: skip
# Options whose values are never kept, whatever a chain says: --params values may be secrets,
# --conf-source may be a URL with credentials.
NEVER_KEPT_OPTIONS: Final = ("--params", "--conf-source")
# What kedro-telemetry sends to Heap, and nothing else (see facts.md).
HEAP_ALLOWED_KEYS: Final = (
    "username", "project_id", "project_version", "telemetry_version", "python_version", "os",
    "is_ci_env", "command", "main_command", "number_of_datasets", "number_of_nodes",
    "number_of_pipelines", "dataset_type_count.*", "run_result", "run_duration_s",
)  # fmt: skip


class ChainSpec(NamedTuple):
    """One destination's chain as configured: processor names in order, and their key lists."""

    processors: tuple[str, ...]
    hash_keys: tuple[str, ...] = DEFAULT_HASH_KEYS
    drop_keys: tuple[str, ...] = ()
    allow_keys: tuple[str, ...] = ()
    keep_run_options: tuple[str, ...] = ()


class PrivacySettings(NamedTuple):
    """Every destination's chain, plus the options the processors share."""

    files: ChainSpec = ChainSpec((MASK_ARGS, SCRUB_SECRETS), keep_run_options=KEPT_RUN_OPTIONS)
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
    fields = {"processors", "hash_keys", "drop_keys", "allow_keys", "keep_run_options"}
    unknown = sorted(set(value) - fields)
    if unknown:
        raise ValueError(f"{where} has unknown keys {unknown}; allowed: {sorted(fields)}")
    changes = {key: _string_list(value[key], f"{where}.{key}") for key in fields & set(value)}
    bad = [name for name in changes.get("processors", ()) if name not in PROCESSORS]
    if bad:
        raise ValueError(f"{where}.processors has {bad}; allowed: {list(PROCESSORS)}")
    _check_kept_options(changes.get("keep_run_options", ()), f"{where}.keep_run_options")
    return default._replace(**changes)


def _check_kept_options(options: Sequence[str], where: str) -> None:
    """Option names only, and never one whose values may be secret."""
    not_options = [o for o in options if not o.startswith("-")]
    if not_options:
        raise ValueError(f"{where} lists option names (like --pipeline), not {not_options}")
    secret = sorted(set(options) & set(NEVER_KEPT_OPTIONS))
    if secret:
        raise ValueError(
            f"{where} cannot keep {secret}: their values may be secrets and are always masked"
        )


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
    result = result._replace(
        files=specs.get("files", result.files),
        otlp=specs.get("otlp", result.otlp),
        heap=specs.get("heap", result.heap),
    )
    if "allow_args" in value:
        result = result._replace(allow_args=_string_list(value["allow_args"], "privacy.allow_args"))
    if "max_attribute_length" in value:
        length = value["max_attribute_length"]
        if isinstance(length, bool) or not isinstance(length, int) or length < 64:
            raise ValueError(
                f"privacy.max_attribute_length must be an integer >= 64, not {length!r}"
            )
        result = result._replace(max_attribute_length=length)
    if "hash_key_file" in value:
        path = value["hash_key_file"]
        if not isinstance(path, str) or not path.strip():
            raise ValueError(f"privacy.hash_key_file must be a path, not {path!r}")
        result = result._replace(hash_key_file=path.strip())
    return result


def spec_to_json(spec: ChainSpec, privacy: PrivacySettings) -> dict[str, object]:
    """A worker-process handoff of one chain (no key material: workers read the key file)."""
    return {
        "processors": list(spec.processors),
        "hash_keys": list(spec.hash_keys),
        "drop_keys": list(spec.drop_keys),
        "allow_keys": list(spec.allow_keys),
        "keep_run_options": list(spec.keep_run_options),
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
        keep_run_options=strings("keep_run_options"),
    )
    length = data.get("max_attribute_length")
    key_file = data.get("hash_key_file")
    privacy = PrivacySettings(
        allow_args=strings("allow_args"),
        max_attribute_length=length if isinstance(length, int) else DEFAULT_MAX_LENGTH,
        hash_key_file=key_file if isinstance(key_file, str) else None,
    )
    return spec, privacy
