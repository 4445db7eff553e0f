"""Online-learning helpers for the trackers (optimisation, labels)."""
