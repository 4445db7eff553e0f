"""The one local settings file: dataset roots, workspace, results, device.

The file is ``local_settings.toml`` in the repository root (override the location with the
environment variable ``EBMTRACK_SETTINGS``). ``install.sh`` creates it with defaults that point
inside the repository, so nothing has to be edited before the first run. Paths may be absolute or
relative to the file's folder; an empty string means "not set".

``python -m ltr.admin.local_settings --create`` writes the defaults (never overwrites);
``python -m ltr.admin.local_settings`` prints the resolved settings.
"""
from __future__ import annotations

import argparse
import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

DATASET_KEYS = ("lasot", "got10k", "trackingnet", "coco", "uav", "otb", "imagefolder", "demo", "validation", "wide_train",
                "steady_train", "wide_check", "steady_check")

DEFAULT_TEXT = """# Local settings of this checkout (created by install.sh; edit freely, never committed).
# Paths: absolute, or relative to this file's folder. "" means not set.

[paths]
workspace = "workspace"          # checkpoints, TensorBoard logs of training
results = "results"              # tracking results: <results>/<dataset>/<tracker>/<param>[_NNN]/
plots = "plots"                  # analysis plots and tables (kept out of the results tree)

[device]
device = "auto"                  # auto | cpu | cuda | cuda:N

[datasets]                       # roots of the official releases (layouts: docstrings of ltr/dataset, pytracking/evaluation)
lasot = ""
got10k = ""
trackingnet = ""
coco = ""
uav = ""
otb = ""
imagefolder = ""
demo = "workspace/demo_benchmark"  # built offline on first use
validation = "workspace/validation_benchmark"  # built offline on first use; report only
wide_train = "workspace/wide_train_benchmark"  # train side: python -m ltr.synthetic.wide_sequences (needs the photo bank)
steady_train = "workspace/steady_train_benchmark"  # train side: ... wide_sequences --profile steady
wide_check = "workspace/wide_check_benchmark"  # train side, other seeds: a check of decisions (--profile wide_check)
steady_check = "workspace/steady_check_benchmark"  # train side, other seeds (--profile steady_check)
"""


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the key and the settings file."""


def settings_path() -> Path:
    """Location of the settings file: $EBMTRACK_SETTINGS or <repo>/local_settings.toml."""
    env = os.environ.get("EBMTRACK_SETTINGS")
    return Path(env).expanduser().resolve() if env else REPO_ROOT / "local_settings.toml"


@dataclass
class Settings:
    """Resolved local settings. Use :func:`load_settings` to build one."""

    file: Path
    workspace: Path
    results: Path
    plots: Path
    device: str
    datasets: dict[str, str] = field(default_factory=dict)

    def dataset_root(self, name: str, setting: str | None = None) -> Path:
        """Root folder of dataset ``name``; a clear error if it is unset or missing.

        ``setting`` names the train setting or experiment asking, for the message.
        """
        who = f" (needed by {setting})" if setting else ""
        raw = self.datasets.get(name, "")
        if not raw:
            raise SettingsError(
                f"dataset root '{name}' is not set{who}: set [datasets] {name} = \"/path/to/{name}\" "
                f"in {self.file}")
        path = self.resolve_path(raw)
        if not path.exists():
            raise SettingsError(
                f"dataset root '{name}' = {path} does not exist{who}: fix [datasets] {name} in {self.file}")
        return path

    def resolve_path(self, raw: str) -> Path:
        """``raw`` (a settings entry) as a path: ``~`` expanded, relative to the settings file's folder."""
        p = Path(raw).expanduser()
        return p if p.is_absolute() else (self.file.parent / p)

    def with_data_root(self, data_root: str | os.PathLike) -> "Settings":
        """A copy whose dataset roots point into ``data_root``: ``[datasets] key = <data_root>/<key>`` for every
        key of :data:`DATASET_KEYS` whose folder exists there (the others keep their setting).

        The folder names are the keys (``lasot``, ``got10k``, ...), as ``ltr.synthetic.layout_data`` writes them.
        A ``SettingsError`` names ``data_root`` if it is missing or holds none of those folders.
        """
        root = Path(data_root).expanduser().resolve()
        if not root.is_dir():
            raise SettingsError(f"data root {root} (--data-root) is not a folder")
        found = {key: str(root / key) for key in DATASET_KEYS if (root / key).is_dir()}
        if not found:
            raise SettingsError(f"data root {root} (--data-root) holds none of the dataset folders "
                                f"{', '.join(DATASET_KEYS)}")
        return replace(self, datasets={**self.datasets, **found})

    def torch_device(self, override: str | None = None) -> str:
        """The device string to use: ``override`` if given, else the setting; 'auto' picks cuda if available."""
        choice = override or self.device or "auto"
        if choice == "auto":
            import torch
            return "cuda" if torch.cuda.is_available() else "cpu"
        return choice


def load_settings(path: str | os.PathLike | None = None) -> Settings:
    """Read the settings file; a missing file gives the defaults (as install.sh would write them)."""
    file = Path(path).resolve() if path else settings_path()
    if file.exists():
        try:
            data = tomllib.loads(file.read_text())
        except tomllib.TOMLDecodeError as err:
            raise SettingsError(f"{file}: not valid TOML: {err}") from err
    else:
        data = tomllib.loads(DEFAULT_TEXT)
    defaults = tomllib.loads(DEFAULT_TEXT)
    paths = {**defaults["paths"], **data.get("paths", {})}
    device = {**defaults["device"], **data.get("device", {})}
    datasets = {**defaults["datasets"], **data.get("datasets", {})}
    for section, values in (("paths", paths), ("device", device), ("datasets", datasets)):
        for key, value in values.items():
            if not isinstance(value, str):
                raise SettingsError(f"{file}: [{section}] {key} must be a string, got {value!r}")

    def resolve(raw: str) -> Path:
        p = Path(raw).expanduser()
        return p if p.is_absolute() else (file.parent / p)

    return Settings(file=file, workspace=resolve(paths["workspace"]), results=resolve(paths["results"]),
                    plots=resolve(paths["plots"]), device=device["device"], datasets=datasets)


def create_default(path: Path | None = None) -> bool:
    """Write the default settings file if it does not exist. Returns True if it was written."""
    file = path or settings_path()
    if file.exists():
        return False
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_suffix(".tmp")
    tmp.write_text(DEFAULT_TEXT)
    tmp.replace(file)
    return True


def build_parser() -> argparse.ArgumentParser:
    from ltr.admin.cli import cli_parser
    parser = cli_parser("ltr.admin.local_settings", __doc__)
    parser.add_argument("--create", action="store_true", help="write the default file if it is missing")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.create:
        file = settings_path()
        print(f"[install] {'wrote default settings' if create_default() else 'settings file present'}: {file}")
        return
    s = load_settings()
    print(f"settings file: {s.file}\nworkspace: {s.workspace}\nresults: {s.results}\nplots: {s.plots}\n"
          f"device: {s.device}")
    for k, v in s.datasets.items():
        print(f"dataset {k}: {v or '(not set)'}")


if __name__ == "__main__":
    main()
