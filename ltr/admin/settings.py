"""Run-time settings of one training run (what ``ltr.run_training`` passes to a setting's ``run``).

Paths derive from the workspace: checkpoints in ``<workspace>/checkpoints/<module>/<name>/`` and
TensorBoard logs in ``<workspace>/tensorboard/<module>/<name>/``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ltr.admin.local_settings import Settings, load_settings
from ltr.admin.multigpu import DistInfo

__all__ = ["TrainSettings"]


@dataclass
class TrainSettings:
    """Settings of one run. ``epochs``/``workers``/``batch_size`` override the setting's own values when set."""

    module_name: str = "bbreg"
    script_name: str = "tiny"
    device: str | None = None
    resume: bool = False
    epochs: int | None = None
    workers: int | None = None
    batch_size: int | None = None
    seed: int = 1
    workspace: Path | None = None
    env: Settings | None = None
    dist: DistInfo | None = None
    show_progress: bool = True
    use_tensorboard: bool = True
    #: stream loss curves to the visdom server on 127.0.0.1:<port> (None: off)
    visdom_port: int | None = None
    keep_checkpoints: int | None = None
    #: mixed precision of the forward pass: 'off' (float32), 'bf16' or 'fp16' (with a gradient scaler);
    #: see :mod:`ltr.trainers.ltr_trainer`
    amp: str = "off"
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.env is None:
            self.env = load_settings()
        self.workspace = Path(self.workspace) if self.workspace is not None else Path(self.env.workspace)

    @property
    def project_path(self) -> str:
        """``'<module>/<name>'``, e.g. ``'bbreg/atom_ebm_cpu'``."""
        return f"{self.module_name}/{self.script_name}"

    @property
    def settings_file(self) -> str:
        """The Python file that defines this setting (for messages)."""
        return f"ltr/train_settings/{self.module_name}/{self.script_name}.py"

    @property
    def checkpoint_dir(self) -> Path:
        return self.workspace / "checkpoints" / self.module_name / self.script_name

    @property
    def tensorboard_dir(self) -> Path:
        return self.workspace / "tensorboard" / self.module_name / self.script_name
