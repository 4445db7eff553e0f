"""Offline synthetic data: procedural tracking scenes built from the photographs shipped with
scikit-image (``scenes``), the on-disk demo benchmark in the LaSOT layout (``demo_benchmark``) and
still-image pairs for estimator training (``still_pairs``). Nothing is downloaded.
"""
