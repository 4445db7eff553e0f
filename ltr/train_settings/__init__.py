"""Train settings: plain Python modules ``ltr/train_settings/<module>/<name>.py``, each with ``run(settings)``."""
