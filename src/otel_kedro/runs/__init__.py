"""The composition root: builds each run's sources, privacy chains, exporters and delivery."""
