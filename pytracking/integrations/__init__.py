"""Adapters that run our trackers inside other evaluation toolkits (``got10k``: the GOT-10k toolkit).

The VOT toolkit talks to ``python -m pytracking.run_vot`` over TraX; ``vot_cli`` runs the toolkit's
command line without its online update check.
"""
