"""Offline synthetic data: procedural tracking scenes built from the photographs shipped with
scikit-image (``scenes``) and the on-disk demo benchmark in the LaSOT layout (``demo_benchmark``).
The datasets rendering these scenes on the fly live in ``ltr.dataset`` (``SyntheticVideo``,
``StillImagePairs``); this package imports nothing from ``ltr.dataset``. Nothing is downloaded.
"""
