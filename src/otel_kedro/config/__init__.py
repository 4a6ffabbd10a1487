"""Settings, consent and privacy configuration: every source of configuration, read in one place."""
