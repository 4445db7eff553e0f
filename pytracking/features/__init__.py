"""Feature extraction for the trackers: patch sampling, normalisation, shared backbone pass."""
