"""Dataset registry: ``get_dataset(name, path=None, split=None)`` -> ``list[Sequence]``.

Roots come from the local settings file (``ltr.admin.local_settings``); ``path`` (the CLI's
``--dataset_path``) overrides it. Names:

============== ============================ ================= =====================
name           class                        settings key      default split
============== ============================ ================= =====================
uav            UAVDataset (123 sequences)   uav               -
lasot          LaSOTDataset (280 test)      lasot             test
trackingnet    TrackingNetDataset           trackingnet       test
got10k_val     GOT10KDataset                got10k            val
got10k_test    GOT10KDataset                got10k            test
otb            OTBDataset                   otb               -
folder         FolderDataset                (path required)   all folders
demo           FolderDataset                demo              test
validation     FolderDataset                validation        test
wide_train     FolderDataset                wide_train        train
steady_train   FolderDataset                steady_train      train
wide_check     FolderDataset                wide_check        train
steady_check   FolderDataset                steady_check      train
============== ============================ ================= =====================
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence as TypingSequence

from ltr.admin.local_settings import load_settings
from pytracking.evaluation.dataset_base import BaseDataset
from pytracking.evaluation.folderdataset import FolderDataset
from pytracking.evaluation.got10kdataset import GOT10KDataset
from pytracking.evaluation.lasotdataset import LaSOTDataset
from pytracking.evaluation.otbdataset import OTBDataset
from pytracking.evaluation.sequence import Sequence
from pytracking.evaluation.trackingnetdataset import TrackingNetDataset
from pytracking.evaluation.uavdataset import UAVDataset

# name -> (settings key or None, factory(root, split))
_REGISTRY: dict[str, tuple[str | None, Callable[[Path, str | None], BaseDataset]]] = {
    "uav": ("uav", lambda root, split: UAVDataset(root)),
    "lasot": ("lasot", lambda root, split: LaSOTDataset(root, split)),
    "trackingnet": ("trackingnet", lambda root, split: TrackingNetDataset(root, split)),
    "got10k_val": ("got10k", lambda root, split: GOT10KDataset(root, split or "val")),
    "got10k_test": ("got10k", lambda root, split: GOT10KDataset(root, split or "test")),
    "otb": ("otb", lambda root, split: OTBDataset(root)),
    "folder": (None, lambda root, split: FolderDataset(root, split, name="folder")),
    "demo": ("demo", lambda root, split: FolderDataset(root, split or "test", name="demo")),
    "validation": ("validation", lambda root, split: FolderDataset(root, split or "test", name="validation")),
    "wide_train": ("wide_train", lambda root, split: FolderDataset(root, split or "train", name="wide_train")),
    "steady_train": ("steady_train", lambda root, split: FolderDataset(root, split or "train", name="steady_train")),
    "wide_check": ("wide_check", lambda root, split: FolderDataset(root, split or "train", name="wide_check")),
    "steady_check": ("steady_check", lambda root, split: FolderDataset(root, split or "train", name="steady_check")),
}


def dataset_names() -> list[str]:
    """Registered dataset names."""
    return list(_REGISTRY)


def dataset_root(name: str, path: str | Path | None = None) -> Path:
    """The root folder of dataset ``name``: ``path`` if given, else the local settings' entry."""
    if name not in _REGISTRY:
        raise ValueError(f"dataset_name: unknown dataset {name!r}; choose from {dataset_names()}")
    if path is not None:
        root = Path(path).expanduser()
        if not root.is_dir():
            raise ValueError(f"dataset_path: {root} is not a folder")
        return root
    key = _REGISTRY[name][0]
    if key is None:
        raise ValueError(f"dataset_path: dataset {name!r} has no settings entry; give --dataset_path")
    settings = load_settings()
    configured = settings.datasets.get(key, "")
    if name in ("demo", "validation") and configured and not settings.resolve_path(configured).exists():
        # the offline benchmarks are built on first use (about a minute, progress bar), as run_demo does
        from ltr.synthetic.demo_benchmark import ensure_demo_benchmark
        from ltr.synthetic.validation_benchmark import ensure_validation_benchmark

        print(f"[datasets] building the {name} benchmark (first use)")
        return (ensure_demo_benchmark if name == "demo" else ensure_validation_benchmark)(None)
    return settings.dataset_root(key, setting=f"dataset '{name}'")


def get_dataset_object(name: str, path: str | Path | None = None, split: str | None = None) -> BaseDataset:
    """The dataset object (cheap: names are listed, annotations are read on ``load_sequence``).

    A root that holds no dataset of this kind is a ``ValueError`` saying what was expected there.
    """
    root = dataset_root(name, path)
    dataset = _REGISTRY[name][1](root, split)
    dataset.check_root()
    return dataset


def get_dataset(name: str, path: str | Path | None = None, split: str | None = None,
                sequences: TypingSequence[str] | None = None) -> list[Sequence]:
    """Load dataset ``name`` as a list of sequences (only ``sequences`` if given, by name)."""
    return get_dataset_object(name, path, split).get_sequence_list(sequences)
