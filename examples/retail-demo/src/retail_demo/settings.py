"""Project settings. otel-kedro needs nothing here: installing it registers its hooks."""
