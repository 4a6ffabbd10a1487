"""The process-tree sampler, its readers, and the OTLP process metrics made from its samples."""
