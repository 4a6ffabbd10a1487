"""The process-tree sampler and its platform readers."""
