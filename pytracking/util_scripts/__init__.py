"""Utility scripts: submission packs for the evaluation servers (TrackingNet, GOT-10k test)."""
