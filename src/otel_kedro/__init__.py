"""OpenTelemetry for Kedro: every run becomes one trace, written to local OTLP-JSON files."""

__version__ = "0.1.0"
