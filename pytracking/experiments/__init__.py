"""Experiment modules: each function returns ``(trackers, dataset)`` for ``python -m pytracking.run_experiment``."""
