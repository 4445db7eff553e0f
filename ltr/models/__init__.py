"""Networks: backbones, the ATOM IoU-Net style box estimator, the tracking network wrapper.

Constructors are registered by name in :mod:`ltr.models.registry` so checkpoints can rebuild them.
"""
