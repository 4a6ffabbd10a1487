"""Sinks, one destination per module."""
