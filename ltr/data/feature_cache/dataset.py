"""Training items from cached backbone features, with fresh candidate boxes every epoch."""
from __future__ import annotations

import numpy as np
import torch

from ltr.data.feature_cache.spec import FEATURE_KEYS
from ltr.data.processing import BBRegProcessing

__all__ = ["CachedPairDataset"]


class CachedPairDataset(torch.utils.data.Dataset):
    """Items of cached pairs with fresh candidate boxes (``processing.candidates``) per epoch.

    Item ``i`` of epoch ``e`` is pair ``perm_e[i]`` (``perm_e`` a permutation drawn from
    ``default_rng([seed, e])``; identity when ``shuffle`` is False) with candidates drawn from
    ``default_rng([seed, e, i])``; with ``fixed_epoch`` (validation) ``e`` stays 0. Output as
    :class:`BBRegProcessing` but with ``train_feat_s8/s16 [1, C, H, W]`` and ``test_feat_s8/s16
    [1, C, H, W]`` (float32) in place of the images.
    """

    def __init__(self, cache: dict[str, torch.Tensor], processing: BBRegProcessing, seed: int = 0,
                 shuffle: bool = True, fixed_epoch: bool = False):
        missing = [k for k in FEATURE_KEYS + ("train_boxes", "test_boxes") if k not in cache]
        if missing:
            raise ValueError(f"cache lacks {missing}")
        self.cache = cache
        self.processing = processing
        self.seed = int(seed)
        self.shuffle = bool(shuffle)
        self.fixed_epoch = bool(fixed_epoch)
        self.num_pairs = int(cache["train_boxes"].shape[0])
        if self.num_pairs < 1:
            raise ValueError("cache holds no pairs")
        self.epoch = 0
        self._perm = self._permutation(0)

    def _permutation(self, epoch: int) -> np.ndarray:
        if not self.shuffle:
            return np.arange(self.num_pairs)
        return np.random.default_rng([self.seed, epoch]).permutation(self.num_pairs)

    def set_epoch(self, epoch: int) -> None:
        if not self.fixed_epoch:
            self.epoch = int(epoch)
            self._perm = self._permutation(self.epoch)

    def __len__(self) -> int:
        return self.num_pairs

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        pair = int(self._perm[index])
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        item = {k: self.cache[k][pair:pair + 1].float() for k in FEATURE_KEYS}
        item["train_boxes"] = self.cache["train_boxes"][pair:pair + 1].float()
        item["test_boxes"] = self.cache["test_boxes"][pair:pair + 1].float()
        item.update(self.processing.candidates(item["test_boxes"], rng))
        return item
