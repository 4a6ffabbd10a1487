"""Producers of telemetry: they create spans and know nothing of processors or exporters."""
