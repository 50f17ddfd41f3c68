"""Many recordings: experiment sheets, per-file settings, outputs and the runner."""
