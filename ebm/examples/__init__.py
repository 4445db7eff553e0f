"""Runnable examples of the EBM regression core (``python -m ebm.examples.<name>``)."""
