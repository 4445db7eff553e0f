"""Box-estimator (bbreg) train settings. Run one with ``python -m ltr.run_training bbreg <name>``."""
