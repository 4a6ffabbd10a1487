"""Kedro sources: command, run, node and dataset spans, node usage, and duration histograms."""
