"""Every environment variable otel-kedro reads, and the one strict parser of boolean values.

The plugin reads ``OTEL_SDK_DISABLED`` on every ``kedro`` command, so this module imports only the
standard library. The ``OTEL_KEDRO_<KEY>`` variable of each setting is derived from the setting's
declaration (:data:`otel_kedro.config.settings.SETTING_VARIABLES`); the variables that are not
settings are constants here. ``OTEL_EXPORTER_OTLP_*`` belong to the OTLP exporters, not to us.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

OTEL_SDK_DISABLED: Final = "OTEL_SDK_DISABLED"
"""Standard OpenTelemetry switch: true turns every SDK off, otel-kedro included."""

OTEL_SERVICE_NAME: Final = "OTEL_SERVICE_NAME"
"""Standard ``service.name`` of the resource; wins over the ``service_name`` setting."""

OTEL_RESOURCE_ATTRIBUTES: Final = "OTEL_RESOURCE_ATTRIBUTES"
"""Standard ``key=value,…`` resource attributes; a ``service.name`` in it wins over ours."""

DO_NOT_TRACK: Final = "DO_NOT_TRACK"
"""Cross-tool veto (any non-empty value): nothing leaves the machine, whatever else says."""

KEDRO_DISABLE_TELEMETRY: Final = "KEDRO_DISABLE_TELEMETRY"
"""Kedro's own veto (any non-empty value), honoured exactly like ``DO_NOT_TRACK``."""

VETOES: Final = (DO_NOT_TRACK, KEDRO_DISABLE_TELEMETRY)
"""The variables that switch every remote destination off; nothing overrides them."""

OTEL_KEDRO_PREFIX: Final = "OTEL_KEDRO_"
"""Prefix of otel-kedro's own variables: ``OTEL_KEDRO_<KEY>`` sets the setting ``<key>``."""

OTEL_KEDRO_ALLOW_ARGS: Final = OTEL_KEDRO_PREFIX + "ALLOW_ARGS"
"""Comma-separated command-line values kept unmasked (the ``privacy.allow_args`` option)."""

OTEL_KEDRO_MAX_ATTRIBUTE_LENGTH: Final = OTEL_KEDRO_PREFIX + "MAX_ATTRIBUTE_LENGTH"
"""Longest attribute value kept, in characters (the ``privacy.max_attribute_length`` option)."""

OTEL_KEDRO_HASH_KEY_FILE: Final = OTEL_KEDRO_PREFIX + "HASH_KEY_FILE"
"""File whose key hashes identifiers instead of the install's key (``privacy.hash_key_file``)."""

PRIVACY_VARIABLES: Final[Mapping[str, str]] = {
    OTEL_KEDRO_ALLOW_ARGS: "allow_args",
    OTEL_KEDRO_MAX_ATTRIBUTE_LENGTH: "max_attribute_length",
    OTEL_KEDRO_HASH_KEY_FILE: "hash_key_file",
}
"""Each variable that sets an option nested under the ``privacy`` setting, to that option."""

OTEL_KEDRO_CONFIG_DIR: Final = OTEL_KEDRO_PREFIX + "CONFIG_DIR"
"""Per-user folder of otel-kedro's own state (the identifier hashing key); not a setting."""

_TRUE: Final = frozenset({"true", "1", "yes", "on"})
_FALSE: Final = frozenset({"false", "0", "no", "off"})
BOOLEAN_SPELLINGS: Final = _TRUE | _FALSE
"""Every spelling of a boolean the parser accepts, in lower case (any case is accepted)."""


def setting_variable(key: str) -> str:
    """The environment variable of the setting ``key``, e.g. ``OTEL_KEDRO_OUTPUT_DIR``."""
    return OTEL_KEDRO_PREFIX + key.upper()


def parse_bool(value: object) -> bool:
    """A real bool, or true/false/1/0/yes/no/on/off in any case; anything else is a ValueError.

    The one boolean parser of every setting and variable, so each accepts the same spellings.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError("true or false")


def sdk_disabled(environ: Mapping[str, str]) -> bool:
    """True when ``OTEL_SDK_DISABLED`` asks every OpenTelemetry SDK to stay off.

    A value the parser rejects (or none) means "not disabled", as the OpenTelemetry
    specification says for invalid booleans.
    """
    value = environ.get(OTEL_SDK_DISABLED)
    if not value:  # the usual case, asked before every hook: no parsing, no exception
        return False
    try:
        return parse_bool(value)
    except ValueError:
        return False
