"""retail-demo: an example Kedro project traced by otel-kedro."""

__version__ = "0.1.0"
