"""Analysis of tracking results: metrics (:mod:`.metrics`), scoring of result folders (:mod:`.evaluate`),
tables (:mod:`.tables`), plots (:mod:`.plots`); CLI ``python -m pytracking.analysis``."""
