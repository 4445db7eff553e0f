"""Tracker parameter files: ``pytracking/parameter/<tracker>/<param>.py`` each define ``parameters()``
returning a :class:`pytracking.utils.params.TrackerParams` (plain Python, no config files)."""
