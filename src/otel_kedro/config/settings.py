"""The one reader of configuration: defaults, ``[tool.otel_kedro]``, Kedro's ``otel.yml``, env vars.

Precedence, lowest to highest: defaults, ``pyproject.toml`` ``[tool.otel_kedro]``, ``otel.yml``
read through the project's config loader (so ``conf/base``, ``conf/local`` and ``--env`` apply),
then ``OTEL_KEDRO_*`` environment variables. Standard ``OTEL_*`` variables keep their usual meaning.
A bad value never raises: it becomes a problem message (file, key, value, what is allowed) and
the default is used, so a telemetry mistake cannot cost the user their run.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from otel_kedro.config.environment import sdk_disabled
from otel_kedro.config.privacy import PrivacySettings, parse_privacy

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

ENV_PREFIX = "OTEL_KEDRO_"
CONFIG_KEY = "otel"
CONFIG_PATTERNS = ["otel*", "otel*/**"]
DEFAULT_OUTPUT_DIR = ".otel_kedro/runs"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@dataclasses.dataclass(frozen=True)
class Settings:
    """What otel-kedro does for one run, after every source of configuration was applied."""

    enabled: bool = True
    output_dir: Path = Path(DEFAULT_OUTPUT_DIR)
    service_name: str = "kedro"
    announce: bool = True
    dataset_spans: bool = True
    privacy: PrivacySettings = dataclasses.field(default_factory=PrivacySettings)
    consent: bool | None = None  # our own explicit consent to remote export; None = not given
    consent_source: str | None = None  # the file or variable that gave it
    delivery_wait: float = 0.3  # longest a command waits for remote delivery at its end (s)
    otlp: bool = True  # with consent, deliver runs to the OTLP endpoint
    sampler: bool = True  # sample the process tree: metrics.jsonl, info.json, usage.jsonl
    sample_interval: float | None = None  # seconds between samples; None = the sampler's default
    pss: bool = False  # also sample PSS/USS (shared pages counted once; costs ms per process)
    summary: bool = True  # print the end-of-run summary
    heap: bool = False  # with consent, also send kedro-telemetry-compatible Heap events (opt-in)
    heap_endpoint: str = "https://heapanalytics.com/api/track"
    heap_app_id: str = "2388822444"  # kedro-telemetry's production app id


@dataclasses.dataclass(frozen=True)
class LoadedSettings:
    """Settings plus every problem found while reading them, for warnings and ``check``."""

    settings: Settings
    problems: tuple[str, ...]


def _parse_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError("true or false")


def _seconds(low: float, high: float) -> Callable[[object], float]:
    """A parser of a number of seconds within ``[low, high]``."""

    def parse(value: object) -> float:
        try:
            seconds = float(value) if not isinstance(value, bool) else -1.0  # type: ignore[arg-type]
        except (TypeError, ValueError):
            seconds = -1.0
        if low <= seconds <= high:
            return seconds
        raise ValueError(f"a number of seconds from {low:g} to {high:g}")

    return parse


def _parse_text(value: object) -> str:
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError("a non-empty string")


def _parse_url(value: object) -> str:
    if isinstance(value, str) and value.strip().startswith(("http://", "https://")):
        return value.strip()
    raise ValueError("an http:// or https:// URL")


_FIELDS: dict[str, Callable[[object], object]] = {
    "enabled": _parse_bool,
    "output_dir": _parse_text,
    "service_name": _parse_text,
    "announce": _parse_bool,
    "dataset_spans": _parse_bool,
    "privacy": parse_privacy,
    "consent": _parse_bool,
    "delivery_wait": _seconds(0, 60),
    "otlp": _parse_bool,
    "sampler": _parse_bool,
    "sample_interval": _seconds(0.05, 60),
    "pss": _parse_bool,
    "summary": _parse_bool,
    "heap": _parse_bool,
    "heap_endpoint": _parse_url,
    "heap_app_id": _parse_text,
}
# Environment variables for options nested under ``privacy`` (lists are comma-separated).
_PRIVACY_ENV: dict[str, Callable[[str], object]] = {
    "allow_args": str,
    "max_attribute_length": lambda text: int(text) if text.strip().isdigit() else text,
    "hash_key_file": str,
}


def _merge(base: Mapping[str, object], update: Mapping[str, object]) -> dict[str, object]:
    """Deep-merge two ``privacy`` layers, so a higher layer can change one destination only."""
    merged = dict(base)
    for key, value in update.items():
        below = merged.get(key)
        if isinstance(below, Mapping) and isinstance(value, Mapping):
            merged[key] = _merge(below, value)
        else:
            merged[key] = value
    return merged


def _apply(
    layer: Mapping[str, object], where: str, values: dict[str, object], problems: list[str]
) -> None:
    """Validate one configuration layer and merge what is valid into ``values``."""
    allowed = ", ".join(sorted(_FIELDS))
    for key, raw in layer.items():
        parse = _FIELDS.get(key)
        if parse is None:
            problems.append(
                f"{where}: unknown key {key!r} (value {raw!r}) is ignored; allowed keys: {allowed}."
            )
            continue
        try:
            parsed = parse(raw)
            if key == "privacy" and isinstance(raw, Mapping):
                privacy = values.get("privacy", {})
                parsed = _merge(privacy if isinstance(privacy, Mapping) else {}, raw)
            values[key] = parsed
            if key == "consent":
                values["consent_source"] = where
        except ValueError as expected:
            problems.append(
                f"{where}: key {key!r} has value {raw!r}; expected {expected}. "
                "Using the value from a lower layer or the default."
            )


def _pyproject_layer(project_path: Path, problems: list[str]) -> Mapping[str, object]:
    path = project_path / "pyproject.toml"
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as error:
        problems.append(f"{path}: cannot be read ({error}); [tool.otel_kedro] is ignored.")
        return {}
    table = document.get("tool", {}).get("otel_kedro", {})
    if not isinstance(table, dict):
        problems.append(f"{path}: [tool.otel_kedro] must be a table, not {table!r}; ignored.")
        return {}
    return table


def _kedro_config_layer(config_loader: Any, problems: list[str]) -> Mapping[str, object]:
    """Read ``otel.yml`` through the project's own config loader (base, local, --env)."""
    if config_loader is None:
        return {}
    where = f"otel.yml under {getattr(config_loader, 'conf_source', 'conf')}"
    try:
        patterns = getattr(config_loader, "config_patterns", None)
        if isinstance(patterns, dict) and CONFIG_KEY not in patterns:
            patterns[CONFIG_KEY] = list(CONFIG_PATTERNS)
        document = config_loader[CONFIG_KEY]
    except Exception as error:  # noqa: BLE001 - any loader failure is a config problem, not a crash
        if type(error).__name__ == "MissingConfigException":
            return {}
        problems.append(f"{where}: cannot be read ({type(error).__name__}: {error}); ignored.")
        return {}
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        problems.append(f"{where}: must be a mapping of keys to values, not {document!r}; ignored.")
        return {}
    return {str(key): value for key, value in document.items()}


def _environment_layer(environ: Mapping[str, str], problems: list[str]) -> dict[str, object]:
    layer: dict[str, object] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX) :].lower()
        if key in _PRIVACY_ENV:
            nested = {"privacy": {key: _PRIVACY_ENV[key](value)}}
            _apply(nested, f"environment variable {name}", layer, problems)
            continue
        if key not in _FIELDS or key == "privacy":
            names = {*_FIELDS, *_PRIVACY_ENV} - {"privacy"}
            known = ", ".join(ENV_PREFIX + field.upper() for field in sorted(names))
            problems.append(
                f"environment variable {name}={value!r} is not an otel-kedro setting "
                f"and is ignored; known: {known}."
            )
            continue
        _apply({key: value}, f"environment variable {name}", layer, problems)
    return layer


def _standard_service_name(environ: Mapping[str, str]) -> str | None:
    """The service name the standard OTEL_* variables ask for, if any (they win over ours)."""
    if environ.get("OTEL_SERVICE_NAME", "").strip():
        return environ["OTEL_SERVICE_NAME"].strip()
    for pair in environ.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
        key, _, value = pair.partition("=")
        if key.strip() == "service.name" and value.strip():
            return value.strip()
    return None


def load_settings(
    project_path: Path | None,
    config_loader: Any = None,
    environ: Mapping[str, str] | None = None,
    package_name: str | None = None,
) -> LoadedSettings:
    """Read every configuration source for a project and return the merged, validated value."""
    environ = os.environ if environ is None else environ
    problems: list[str] = []
    values: dict[str, object] = {}
    if project_path is not None:
        where = f"{project_path / 'pyproject.toml'} [tool.otel_kedro]"
        _apply(_pyproject_layer(project_path, problems), where, values, problems)
    kedro_layer = _kedro_config_layer(config_loader, problems)
    where = f"otel.yml under {getattr(config_loader, 'conf_source', 'conf')}"
    _apply(kedro_layer, where, values, problems)
    environment = _environment_layer(environ, problems)
    if isinstance(environment.get("privacy"), Mapping) and isinstance(
        values.get("privacy"), Mapping
    ):
        environment["privacy"] = _merge(values["privacy"], environment["privacy"])  # type: ignore[arg-type]
    values.update(environment)

    output_dir = Path(str(values.get("output_dir", DEFAULT_OUTPUT_DIR))).expanduser()
    if not output_dir.is_absolute() and project_path is not None:
        output_dir = project_path / output_dir
    service_name = (
        _standard_service_name(environ)
        or values.get("service_name")
        or package_name
        or (project_path.name if project_path is not None else "kedro")
    )
    enabled = bool(values.get("enabled", True)) and not sdk_disabled(environ)
    settings = Settings(
        enabled=enabled,
        output_dir=output_dir,
        service_name=str(service_name),
        announce=bool(values.get("announce", True)),
        dataset_spans=bool(values.get("dataset_spans", True)),
        privacy=parse_privacy(values.get("privacy", {})),
        consent=consent if isinstance(consent := values.get("consent"), bool) else None,
        delivery_wait=wait if isinstance(wait := values.get("delivery_wait"), float) else 0.3,
        consent_source=str(values["consent_source"]) if "consent_source" in values else None,
        otlp=bool(values.get("otlp", True)),
        sampler=bool(values.get("sampler", True)),
        sample_interval=interval
        if isinstance(interval := values.get("sample_interval"), float)
        else None,
        pss=bool(values.get("pss", False)),
        summary=bool(values.get("summary", True)),
        heap=bool(values.get("heap", False)),
        heap_endpoint=str(values.get("heap_endpoint", Settings.heap_endpoint)),
        heap_app_id=str(values.get("heap_app_id", Settings.heap_app_id)),
    )
    return LoadedSettings(settings=settings, problems=tuple(problems))
