"""Kedro hooks -> command, run, node and dataset spans."""
