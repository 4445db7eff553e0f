"""UAV123 (123 sequences from 91 image folders) in the official layout.

Layout: ``<root>/data_seq/UAV123/<folder>/%06d.jpg`` (1-based) and
``<root>/anno/UAV123/<name>.txt`` (comma separated, ``NaN`` rows = target absent).
The sequence -> folder/frame-range mapping comes from ``data_specs/uav123_sequences.csv`` (a copy
of the protocol table): frames ``start_frame..end_frame`` inclusive, 1-based; row i of the
annotation belongs to image ``start_frame + i``. Sub-sequences of one folder may share their
boundary frame. Attributes from ``anno/UAV123/att/<name>.txt`` (12 flags, order
SV ARC LR FM FOC POC OV BC IV VC CM SOB) when present.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from pytracking.evaluation.dataset_base import BaseDataset, sequence_from_annotation
from pytracking.evaluation.results_io import read_boxes, read_numbers
from pytracking.evaluation.sequence import Sequence

SPEC_FILE = Path(__file__).with_name("data_specs") / "uav123_sequences.csv"
UAV_ATTRIBUTES = ("SV", "ARC", "LR", "FM", "FOC", "POC", "OV", "BC", "IV", "VC", "CM", "SOB")


@dataclass(frozen=True)
class UAVSequenceSpec:
    """One row of the protocol table; frame numbers are 1-based and inclusive."""

    name: str
    folder: str
    start_frame: int
    end_frame: int
    nz: int
    ext: str
    object_class: str
    anno: str

    @property
    def num_frames(self) -> int:
        return self.end_frame - self.start_frame + 1


def uav_sequence_specs(spec_file: Path = SPEC_FILE) -> list[UAVSequenceSpec]:
    """The 123 UAV123 sequence specs in the protocol's order."""
    specs = []
    with open(spec_file, newline="") as f:
        for line_no, row in enumerate(csv.DictReader(f), start=2):
            try:
                spec = UAVSequenceSpec(name=row["name"], folder=row["folder"], start_frame=int(row["start_frame"]),
                                       end_frame=int(row["end_frame"]), nz=int(row["nz"]), ext=row["ext"],
                                       object_class=row["object_class"], anno=row["anno"])
            except (KeyError, ValueError) as err:
                raise ValueError(f"{spec_file}:{line_no}: bad row {row}: {err}") from err
            if spec.start_frame < 1 or spec.end_frame < spec.start_frame:
                raise ValueError(f"{spec_file}:{line_no}: bad frame range {spec.start_frame}..{spec.end_frame}")
            specs.append(spec)
    return specs


class UAVDataset(BaseDataset):
    """UAV123: 123 sequences; ground truth NaN rows are the absent frames."""

    name = "uav"
    layout = "<root>/anno/UAV123/<name>.txt and <root>/data_seq/UAV123/<folder>/%06d.jpg (UAV123)"

    def __init__(self, root: str | Path, spec_file: str | Path = SPEC_FILE):
        super().__init__(root)
        self._specs = {s.name: s for s in uav_sequence_specs(Path(spec_file))}

    def sequence_names(self) -> list[str]:
        return list(self._specs)

    def check_root(self) -> None:
        if not any((self.root / spec.anno).is_file() for spec in self._specs.values()):
            raise self.no_dataset_error(f"none of the {len(self._specs)} annotation files is there")

    def load_sequence(self, name: str) -> Sequence:
        spec = self._specs[name]
        anno_file = self.root / spec.anno
        if not anno_file.exists():
            raise ValueError(f"UAV123 annotation {anno_file} is missing (sequence {name})")
        gt = read_boxes(anno_file)
        if gt.shape[0] != spec.num_frames:
            raise ValueError(f"{anno_file}: {gt.shape[0]} rows, the protocol says {spec.num_frames} "
                             f"(frames {spec.start_frame}..{spec.end_frame})")
        folder = self.root / "data_seq" / "UAV123" / spec.folder
        frames = [str(folder / f"{i:0{spec.nz}d}.{spec.ext}") for i in range(spec.start_frame, spec.end_frame + 1)]
        att_file = self.root / "anno" / "UAV123" / "att" / f"{name[len('uav_'):] if name.startswith('uav_') else name}.txt"
        attributes = None
        if att_file.exists():
            flags = read_numbers(att_file).reshape(-1)
            if flags.shape[0] != len(UAV_ATTRIBUTES):
                raise ValueError(f"{att_file}: expected {len(UAV_ATTRIBUTES)} attribute flags, got {flags.shape[0]}")
            attributes = {a: bool(v) for a, v in zip(UAV_ATTRIBUTES, flags)}
        return sequence_from_annotation(anno_file, name=name, frames=frames, ground_truth_rect=gt, target_visible=None,
                                        dataset=self.name, object_class=spec.object_class, attributes=attributes)
