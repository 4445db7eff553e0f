"""TrackingNet training dataset in the official layout.

``<root>/TRAIN_k/frames/<video>/<n>.jpg`` (0-based, not zero-padded: frame ``i`` is ``{i}.jpg``, so
the order is numeric, never lexicographic) and ``<root>/TRAIN_k/anno/<video>.txt`` (one box per
frame). The release has no visibility flags: ``visible = valid``.
"""
from __future__ import annotations

import os
from collections.abc import Iterable

from ltr.data.image_loader import imread_rgb
from ltr.dataset.annotation_io import read_boxes
from ltr.dataset.sequence_dataset import ImageLoader, SequenceFolderDataset, resolve_root

NUM_TRAIN_CHUNKS = 12


class TrackingNet(SequenceFolderDataset):
    """TrackingNet. ``set_ids``: chunk numbers k of ``TRAIN_k`` (e.g. ``range(4)``); None -> every chunk on disk.

    Requested chunks missing on disk are skipped with a warning. Sequence names are ``TRAIN_k/<video>``.
    """

    def __init__(self, root: str | os.PathLike | None = None, set_ids: Iterable[int] | None = None,
                 image_loader: ImageLoader = imread_rgb):
        super().__init__("TrackingNet", resolve_root(root, "trackingnet", setting="TrackingNet"), image_loader)
        explicit = set_ids is not None
        set_ids = list(range(NUM_TRAIN_CHUNKS)) if set_ids is None else [int(k) for k in set_ids]
        for k in set_ids:
            if not 0 <= k < NUM_TRAIN_CHUNKS:
                raise ValueError(f"set_ids: chunk {k} not in 0..{NUM_TRAIN_CHUNKS - 1}")
        self.chunk_ids: list[int] = []
        self.video_list: list[tuple[int, str]] = []
        missing_chunks = []
        for k in set_ids:
            anno_dir = os.path.join(self.root, f"TRAIN_{k}", "anno")
            if not os.path.isdir(anno_dir):
                missing_chunks.append(k)
                continue
            self.chunk_ids.append(k)
            videos = sorted(f[:-4] for f in os.listdir(anno_dir) if f.endswith(".txt"))
            self.video_list += [(k, v) for v in videos]
        if missing_chunks and explicit:
            self.report(f"TrackingNet: chunks {missing_chunks} (TRAIN_k/anno) missing under {self.root}; skipping")
        if not self.chunk_ids:
            raise ValueError(f"root: no TrackingNet chunk TRAIN_k/anno for k in {set_ids} under {self.root}")
        self.sequence_list = [f"TRAIN_{k}/{v}" for k, v in self.video_list]

    def _read_annotation(self, seq_id: int):
        chunk, video = self.video_list[seq_id]
        boxes, problems = read_boxes(os.path.join(self.root, f"TRAIN_{chunk}", "anno", f"{video}.txt"))
        for problem in problems:
            self.report(problem)
        return boxes, None, {}

    def _frame_path(self, seq_id: int, frame_id: int) -> str:
        chunk, video = self.video_list[seq_id]
        return os.path.join(self.root, f"TRAIN_{chunk}", "frames", video, f"{frame_id}.jpg")

    def _keep_sequences(self, seq_ids: list[int]) -> None:
        self.video_list = [self.video_list[i] for i in seq_ids]
        super()._keep_sequences(seq_ids)
