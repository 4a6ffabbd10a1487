"""The one reader of configuration: defaults, ``[tool.otel_kedro]``, Kedro's ``otel.yml``, env vars.

Precedence, lowest to highest: defaults, ``pyproject.toml`` ``[tool.otel_kedro]``, ``otel.yml``
read through the project's config loader (so ``conf/base``, ``conf/local`` and ``--env`` apply),
then ``OTEL_KEDRO_*`` environment variables. Standard ``OTEL_*`` variables keep their usual meaning.
Each setting is declared once, as a field of :class:`Settings` made by :func:`setting`: its type,
default, parser, variable and documentation all come from there.
A bad value never raises: it becomes a problem message (file, key, value, what is allowed) and
the lower layer's value or the default is used, so a telemetry mistake cannot cost the user their
run. Consent is the exception (design.md §5): a malformed consent value, or a configuration file
that cannot be read, means "not given" for the run, never a lower layer's consent.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final, TypeVar

from otel_kedro.config.environment import (
    OTEL_KEDRO_CONFIG_DIR,
    OTEL_KEDRO_MAX_ATTRIBUTE_LENGTH,
    OTEL_KEDRO_PREFIX,
    OTEL_RESOURCE_ATTRIBUTES,
    OTEL_SDK_DISABLED,
    OTEL_SERVICE_NAME,
    PRIVACY_VARIABLES,
    parse_bool,
    sdk_disabled,
    setting_variable,
)
from otel_kedro.config.privacy import PrivacySettings, parse_privacy

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

CONFIG_KEY = "otel"
CONFIG_PATTERNS = ["otel*", "otel*/**"]
DEFAULT_OUTPUT_DIR = ".otel_kedro/runs"
CONSENT = "consent"  # the one key whose malformed value is "not given", never a lower layer's
_T = TypeVar("_T")
_DECLARATION = "otel_kedro.setting"


@dataclasses.dataclass(frozen=True)
class Declaration:
    """How one setting is read and documented, from its single declaration on :class:`Settings`."""

    parse: Callable[[object], object]  # a configured value to the setting's value, or ValueError
    doc: str  # one line for the configuration table
    shown: str | None = None  # the default as documented, when the value itself says too little
    # A mapping of options: its layers merge option by option, and instead of OTEL_KEDRO_<KEY>
    # each of these variables sets one option (variable -> option).
    options: Mapping[str, str] | None = None


def setting(
    default: _T,
    parse: Callable[[object], _T],
    doc: str,
    *,
    shown: str | None = None,
    options: Mapping[str, str] | None = None,
) -> _T:
    """Declare a field of :class:`Settings` as a setting: default, parser and documentation."""
    declaration = Declaration(parse, doc, shown, options)
    return dataclasses.field(default=default, metadata={_DECLARATION: declaration})


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
    """A non-empty string, stripped."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError("a non-empty string")


def _parse_path(value: object) -> Path:
    """A non-empty path, ``~`` expanded; a relative one is later taken from the project root."""
    return Path(_parse_text(value)).expanduser()


def _parse_url(value: object) -> str:
    """An http:// or https:// URL, stripped."""
    if isinstance(value, str) and value.strip().startswith(("http://", "https://")):
        return value.strip()
    raise ValueError("an http:// or https:// URL")


def _parse_consent(value: object) -> bool | None:
    """Explicit consent: true or false (None, "not given", is only ever the default)."""
    return parse_bool(value)


def _parse_keep_runs(value: object) -> int | None:
    """How many run folders to keep (None, keep all, only by default)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("a whole number of runs, 1 or more")
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ValueError("a whole number of runs, 1 or more")
    return number


_LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _parse_log_level(value: object) -> str:
    """A Python logging level name (any case; ``WARN`` and ``FATAL`` as Python reads them)."""
    if isinstance(value, str):
        name = value.strip().upper()
        name = {"WARN": "WARNING", "FATAL": "CRITICAL"}.get(name, name)
        if name in _LOG_LEVELS:
            return name
    raise ValueError(f"one of {', '.join(_LOG_LEVELS)}")


def _parse_interval(value: object) -> float | None:
    """Seconds between process-tree samples (None, the sampler's default, only by default)."""
    return _seconds(0.05, 60)(value)


@dataclasses.dataclass(frozen=True)
class Settings:
    """What otel-kedro does for one run, after every source of configuration was applied."""

    enabled: bool = setting(True, parse_bool, "trace runs at all")
    output_dir: Path = setting(  # noqa: RUF009 - setting() is a dataclasses.field
        Path(DEFAULT_OUTPUT_DIR),
        _parse_path,
        "where run folders go (relative to the project root)",
    )
    service_name: str = setting(
        "kedro",
        _parse_text,
        "`service.name` of the resource",
        shown="the project's package name",
    )
    announce: bool = setting(True, parse_bool, "print the one line saying where the trace is")
    dataset_spans: bool = setting(True, parse_bool, "record `LOAD`/`SAVE` spans")
    provenance: bool = setting(
        True,
        parse_bool,
        "record the git revision, branch, dirty flag and remote, the parameters' keyed hash, "
        "and dataset file paths, versions and sizes",
    )
    provenance_hashes: bool = setting(
        False,
        parse_bool,
        "also record the SHA-256 of each local dataset file up to 256 MiB (costs a read of it)",
    )
    privacy: PrivacySettings = setting(  # noqa: RUF009 - setting() is a dataclasses.field
        PrivacySettings(),
        parse_privacy,
        "per-destination processor chains and their options (the variables set the options)",
        shown="see [What leaves your machine](#what-leaves-your-machine)",
        options=PRIVACY_VARIABLES,
    )
    consent: bool | None = setting(
        None,
        _parse_consent,
        "remote export allowed (see [What leaves your machine](#what-leaves-your-machine))",
        shown="not set",
    )
    consent_source: str | None = None  # the file or variable that gave (or spoiled) consent
    delivery_wait: float = setting(
        0.3,
        _seconds(0, 60),
        "seconds a command waits at its end for the collector's acknowledgement (0 to 60)",
    )
    otlp: bool = setting(True, parse_bool, "with consent, deliver runs over OTLP")
    sampler: bool = setting(
        True,
        parse_bool,
        "sample the process tree: metrics, con-duct files and summary "
        "(per-node usage on spans stays on)",
    )
    sample_interval: float | None = setting(
        None, _parse_interval, "seconds between samples (0.05 to 60)", shown="`1.0`"
    )
    pss: bool = setting(
        False,
        parse_bool,
        "also sample PSS and USS (costly: about 6 ms per 300 MB process per sample)",
    )
    summary: bool = setting(True, parse_bool, "print the end-of-run summary")
    report: bool = setting(
        True,
        parse_bool,
        "write `report.html`, a self-contained page of the run, into its folder at the end",
    )
    logs: bool = setting(
        True,
        parse_bool,
        "record Python logging records of the run (every process and thread) in `logs.jsonl`, "
        "and with consent send them over OTLP",
    )
    logs_level: str = setting(
        "INFO",
        _parse_log_level,
        "lowest level recorded (DEBUG to CRITICAL); a logger's own level still decides "
        "whether a record exists at all",
    )
    heap: bool = setting(
        False, parse_bool, "with consent, also send kedro-telemetry-compatible Heap events"
    )
    heap_endpoint: str = setting(
        "https://heapanalytics.com/api/track", _parse_url, "where Heap events are sent"
    )
    heap_app_id: str = setting(
        "2388822444", _parse_text, "Heap app id of the events (kedro-telemetry's production id)"
    )
    keep_runs: int | None = setting(
        None,
        _parse_keep_runs,
        "at the end of each run, remove all but the newest this many run folders "
        "(see `otel-kedro prune`)",
        shown="not set: keep all",
    )


DECLARATIONS: Final[Mapping[str, Declaration]] = {
    field.name: field.metadata[_DECLARATION]
    for field in dataclasses.fields(Settings)
    if _DECLARATION in field.metadata
}
"""Every setting's declaration, by key, in the order of :class:`Settings`."""

SETTING_VARIABLES: Final[Mapping[str, str]] = {
    setting_variable(key): key
    for key, declaration in DECLARATIONS.items()
    if declaration.options is None
}
"""Each ``OTEL_KEDRO_<KEY>`` variable that sets a setting, to the setting's key."""

OPTION_VARIABLES: Final[Mapping[str, tuple[str, str]]] = {
    name: (key, option)
    for key, declaration in DECLARATIONS.items()
    for name, option in (declaration.options or {}).items()
}
"""Each variable that sets one option of a setting, to the setting's key and the option."""

# How an option variable's text becomes the option's value (lists are comma-separated).
_OPTION_TEXT: Final[Mapping[str, Callable[[str], object]]] = {
    OTEL_KEDRO_MAX_ATTRIBUTE_LENGTH: lambda text: int(text) if text.strip().isdigit() else text,
}


@dataclasses.dataclass(frozen=True)
class LoadedSettings:
    """Settings plus every problem found while reading them, for warnings and ``check``."""

    settings: Settings
    problems: tuple[str, ...]


def _shown_default(value: object) -> str:
    """A default value as the configuration table shows it."""
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if value is None:
        return "not set"
    return f"`{value}`"


def settings_reference() -> str:
    """The Markdown table of every setting (key, variable, default, meaning), for the README."""
    lines = ["| key | env variable | default | meaning |", "|---|---|---|---|"]
    for field in dataclasses.fields(Settings):
        declaration = field.metadata.get(_DECLARATION)
        if declaration is None:
            continue
        names = declaration.options or (setting_variable(field.name),)
        variables = ", ".join(f"`{name}`" for name in names)
        shown = declaration.shown or _shown_default(field.default)
        lines.append(f"| `{field.name}` | {variables} | {shown} | {declaration.doc} |")
    return "\n".join(lines) + "\n"


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
    allowed = ", ".join(sorted(DECLARATIONS))
    for key, raw in layer.items():
        declaration = DECLARATIONS.get(key)
        if declaration is None:
            problems.append(
                f"{where}: unknown key {key!r} (value {raw!r}) is ignored; allowed keys: {allowed}."
            )
            continue
        try:
            parsed = declaration.parse(raw)
        except ValueError as expected:
            if key == CONSENT:  # design.md §5: malformed consent is "not given", never lower
                values[CONSENT] = False
                values["consent_source"] = f"{where}, whose value {raw!r} is not true or false"
                problems.append(
                    f"{where}: key {key!r} has value {raw!r}; expected {expected}. "
                    "Consent is treated as not given: nothing is sent this run."
                )
                continue
            problems.append(
                f"{where}: key {key!r} has value {raw!r}; expected {expected}. "
                "Using the value from a lower layer or the default."
            )
            continue
        if declaration.options is not None and isinstance(raw, Mapping):
            below = values.get(key)
            parsed = _merge(below if isinstance(below, Mapping) else {}, raw)
        values[key] = parsed
        if key == CONSENT:
            values["consent_source"] = where


def _pyproject_layer(project_path: Path, problems: list[str]) -> Mapping[str, object] | None:
    """``[tool.otel_kedro]`` of the project's ``pyproject.toml``; None if it cannot be used."""
    path = project_path / "pyproject.toml"
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as error:
        problems.append(f"{path}: cannot be read ({error}); [tool.otel_kedro] is ignored.")
        return None
    table = document.get("tool", {}).get("otel_kedro", {})
    if not isinstance(table, dict):
        problems.append(f"{path}: [tool.otel_kedro] must be a table, not {table!r}; ignored.")
        return None
    return table


def _kedro_config_layer(config_loader: Any, problems: list[str]) -> Mapping[str, object] | None:
    """Read ``otel.yml`` through the project's own config loader (base, local, --env).

    None means it exists but cannot be used (a problem says why).
    """
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
        text = " ".join(str(error).split())  # one line, whatever the loader's message looks like
        problems.append(f"{where}: cannot be read ({type(error).__name__}: {text}); ignored.")
        return None
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        problems.append(f"{where}: must be a mapping of keys to values, not {document!r}; ignored.")
        return None
    return {str(key): value for key, value in document.items()}


def _apply_environment(
    environ: Mapping[str, str], values: dict[str, object], problems: list[str]
) -> None:
    """Apply every ``OTEL_KEDRO_*`` variable, the highest layer, to ``values``."""
    for name, value in environ.items():
        if not name.startswith(OTEL_KEDRO_PREFIX) or name == OTEL_KEDRO_CONFIG_DIR:
            continue
        where = f"environment variable {name}"
        if name in OPTION_VARIABLES:
            key, option = OPTION_VARIABLES[name]
            text = _OPTION_TEXT.get(name, str)(value)
            _apply({key: {option: text}}, where, values, problems)
        elif name in SETTING_VARIABLES:
            _apply({SETTING_VARIABLES[name]: value}, where, values, problems)
        else:
            known = ", ".join(sorted([*SETTING_VARIABLES, *OPTION_VARIABLES]))
            problems.append(
                f"{where}={value!r} is not an otel-kedro setting and is ignored; known: {known}."
            )


def _standard_service_name(environ: Mapping[str, str]) -> str | None:
    """The service name the standard OTEL_* variables ask for, if any (they win over ours)."""
    if environ.get(OTEL_SERVICE_NAME, "").strip():
        return environ[OTEL_SERVICE_NAME].strip()
    for pair in environ.get(OTEL_RESOURCE_ATTRIBUTES, "").split(","):
        key, _, value = pair.partition("=")
        if key.strip() == "service.name" and value.strip():
            return value.strip()
    return None


def _sdk_switch_problem(environ: Mapping[str, str]) -> str | None:
    """A warning for an ``OTEL_SDK_DISABLED`` value that is neither true nor false."""
    value = environ.get(OTEL_SDK_DISABLED, "")
    try:
        parse_bool(value)
    except ValueError as expected:
        if value.strip():
            return (
                f"environment variable {OTEL_SDK_DISABLED}={value!r}: expected {expected}; "
                "treated as false, so telemetry stays on."
            )
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
    layers: list[tuple[Mapping[str, object] | None, str]] = []
    if project_path is not None:
        where = f"{project_path / 'pyproject.toml'} [tool.otel_kedro]"
        layers.append((_pyproject_layer(project_path, problems), where))
    where = f"otel.yml under {getattr(config_loader, 'conf_source', 'conf')}"
    layers.append((_kedro_config_layer(config_loader, problems), where))
    for layer, where in layers:
        if layer is None:  # it may have said "consent: false": not given, never a lower layer's
            values[CONSENT] = False
            values["consent_source"] = f"{where}, which cannot be read"
            continue
        _apply(layer, where, values, problems)
    _apply_environment(environ, values, problems)
    if (problem := _sdk_switch_problem(environ)) is not None:
        problems.append(problem)

    validated: dict[str, Any] = {key: values[key] for key in DECLARATIONS if key in values}
    for key, declaration in DECLARATIONS.items():
        if declaration.options is not None and key in validated:  # valid layers merge validly
            validated[key] = declaration.parse(validated[key])
    output_dir = validated.get("output_dir", Settings.output_dir)
    if not output_dir.is_absolute() and project_path is not None:
        validated["output_dir"] = project_path / output_dir
    validated["service_name"] = (
        _standard_service_name(environ)
        or validated.get("service_name")
        or package_name
        or (project_path.name if project_path is not None else Settings.service_name)
    )
    validated["enabled"] = validated.get("enabled", True) and not sdk_disabled(environ)
    source = values.get("consent_source")
    settings = Settings(**validated, consent_source=source if isinstance(source, str) else None)
    return LoadedSettings(settings=settings, problems=tuple(problems))
