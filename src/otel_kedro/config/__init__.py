"""Configuration: settings (each declared once), consent and privacy settings, read once a session.

Imports only the standard library, yaml/tomli and :mod:`otel_kedro.diagnostics`, so every layer
above can be given these values without configuration reaching back into them.
"""
