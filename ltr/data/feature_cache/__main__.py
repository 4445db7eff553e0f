"""``python -m ltr.data.feature_cache`` (see :mod:`ltr.data.feature_cache.cli`)."""
from ltr.data.feature_cache.cli import main

if __name__ == "__main__":
    main()
