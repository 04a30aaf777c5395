"""gpufleet-apitest: schemathesis against a live gpufleet, once per role."""
