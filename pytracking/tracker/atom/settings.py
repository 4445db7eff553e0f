"""Typed settings of the ATOM tracker, read once from its parameter file.

Every parameter the tracker reads is one field below, with its default (the paper's tracker on a
CPU, ``pytracking/parameter/atom/default.py``): the defaults live here and nowhere else. Parameter
files set only what they change. :meth:`ATOMSettings.from_params` rejects a key that no field reads,
naming the key and the closest valid one. Adding a parameter is one line in one class.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pytracking.utils.params import ParamSettings, nested, param

__all__ = ["ATOMSettings", "AugmentationSettings", "ClassifierSettings", "GateSettings", "NetworkSettings",
           "RefinementSettings", "parameter_file_hint"]


@dataclass(frozen=True)
class NetworkSettings(ParamSettings):
    """Where the network comes from (see :func:`pytracking.tracker.atom.atom.load_tracker_network`) and
    how the box estimator runs."""

    net: Any = None                      # an nn.Module (tests, shared networks)
    net_path: Any = None                 # checkpoint / exported weights file
    net_constructor: Any = None          # (registry name, kwargs): random estimator weights (tests)
    use_registry_fallback: bool = False  # build fallback_net_constructor when net_path is missing
    fallback_net_constructor: Any = param(("atom_efficientnet_lite0", {"pretrained_backbone": True}), convert=None)
    backbone: Any = None                 # a backbone module/callable given directly (with box_estimator)
    box_estimator: Any = None            # a BoxEstimator given directly
    box_estimator_type: str = "auto"     # 'auto' | 'score' | 'regression'
    box_estimator_fast: bool = True      # the estimator's inference path (docs/speed.md)
    fold_batchnorm: bool = True          # backbone inference copy with BatchNorm folded (docs/speed.md)
    cuda_graph: bool = True              # CUDA graphs of the backbone pass and the refinement (on CUDA only)
    compile_refinement: bool = False     # experimental: torch.compile of the estimator's inference head
    # more box-scoring heads (estimator checkpoints on the same backbone): the refinement ascends the sum of their
    # scores and the network's head's, a product of experts (box_estimator.ProductOfExpertsEstimator)
    expert_paths: tuple[str, ...] = ()
    expert_weights: tuple[float, ...] = ()  # per head, the network's first; empty: all 1

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.box_estimator_type not in ("auto", "score", "regression"):
            raise ValueError(f"box_estimator_type must be 'auto', 'score' or 'regression', got {self.box_estimator_type!r}")


@dataclass(frozen=True)
class AugmentationSettings(ParamSettings):
    """First-frame augmentations of the classifier's training samples."""

    augmentation_shifts: tuple[float, ...] = (0.0625,)         # fraction of the patch: (+-s, 0), (0, +-s)
    augmentation_flip: bool = True
    augmentation_rotations: tuple[float, ...] = (-10.0, 10.0)  # degrees
    augmentation_blur_sigmas: tuple[float, ...] = (1.0, 2.0)   # patch pixels
    augmentation_dropout_num: int = 2                          # feature channel-dropout copies
    augmentation_dropout_prob: float = 0.2


@dataclass(frozen=True)
class ClassifierSettings(ParamSettings):
    """The online classifier (:class:`pytracking.tracker.atom.classifier.OnlineClassifier`) and its updates."""

    projection_dim: int = 64
    filter_size: int = 4
    projection_init: str = "pca"          # 'pca' | 'randn'
    filter_reg: float = 0.1
    projection_reg: float = 1e-4
    output_sigma_factor: float = 0.25     # label sigma = 1/4 of the target size in feature cells
    init_GN_iter: int = 6
    init_CG_iter: int = 60                # total over the GN iterations
    CG_iter: int = 5
    train_skipping: int = 10
    learning_rate: float = 0.01
    sample_memory_size: int = 100
    init_samples_minimum_weight: float = 0.25
    hard_negative_learning_rate: float = 0.02
    hard_negative_CG_iter: int = 5

    limits = {"projection_dim": (1, None), "filter_size": (1, None), "filter_reg": (0, None),
              "projection_reg": (0, None), "init_GN_iter": (0, None), "init_CG_iter": (0, None), "CG_iter": (0, None),
              "train_skipping": (1, None), "sample_memory_size": (1, None), "init_samples_minimum_weight": (0, 1),
              "hard_negative_CG_iter": (0, None)}

    def __post_init__(self) -> None:
        super().__post_init__()
        for key, rate in (("learning_rate", self.learning_rate),
                          ("hard_negative_learning_rate", self.hard_negative_learning_rate)):
            if not 0 < rate <= 1:
                raise ValueError(f"{key} must be in (0, 1], got {rate!r}")
        if self.output_sigma_factor <= 0:
            raise ValueError(f"output_sigma_factor must be > 0, got {self.output_sigma_factor!r}")
        if self.projection_init not in ("pca", "randn"):
            raise ValueError(f"projection_init must be 'pca' or 'randn', got {self.projection_init!r}")


# Algorithm S1's step lengths in the paper (DESIGN.md), (cx / w0, cy / h0, log w, log h) in relative space
PAPER_STEP_LENGTH: tuple[float, ...] = (2e-4, 2e-4, 1e-3, 1e-3)


@dataclass(frozen=True)
class RefinementSettings(ParamSettings):
    """Numbers of the box refinement (:mod:`pytracking.tracker.atom.box_refinement`)."""

    num_boxes: int = param(10, key="box_refinement_num_boxes")
    jitter_pos: float = param(0.1, key="box_jitter_pos")
    jitter_sz: float = param(0.5, key="box_jitter_sz")
    # T = 3 steps (the paper: T = 10). Chosen with `python -m pytracking.tune_parameters` on 40 train-side sequences
    # (docs/tuning_on_train.md; the 10-shard ML-IS head): three seeds, T = 10 at its best step (paper x 0.25) 72.70,
    # T = 5 at paper x 0.5 72.41, T = 3 at paper x 1 72.74 mean AUC; 4 estimator passes per frame instead of 11
    # (1.06-1.09x CSRT instead of 0.75-0.81x on AVX2 kernels, docs/speed.md). The paper's T = 10: parameter file t10
    num_iter: int = param(3, key="box_refinement_iter")
    # (cx / w0, cy / h0, log w, log h) in relative space: the paper's x 2 = (4e-4, 4e-4, 2e-3, 2e-3), the best at T = 3
    # for the shipped ML-IS head (wide cache, 20 x 1000 pairs) on those sequences (paper x 0.5 / 1 / 2 / 4: 74.22 /
    # 73.20 / 74.34 / 73.66, seed 0). The step is a property of the weights and of T: re-run the search for others
    step_length: tuple[float, ...] = param(tuple(2.0 * s for s in PAPER_STEP_LENGTH), key="box_refinement_step_length")
    decay: float = param(0.5, key="box_refinement_decay")
    # the tracker's new size: previous size x (refined / previous) ** size_rate (1: the refined size, as ATOM)
    size_rate: float = param(1.0, key="box_refinement_size_rate")
    # dead-bands (0: off): the tracker keeps its previous size while max(|log(w'/w)|, |log(h'/h)|) of the refined
    # size is below size_deadband, and the classifier's centre while the refined centre moved less than
    # centre_deadband x sqrt(w h) from it: small corrections, indistinguishable from the estimator's noise, leave the
    # classifier-alone box (and the tracker's state) as they are
    size_deadband: float = param(0.0, key="box_refinement_size_deadband")
    centre_deadband: float = param(0.0, key="box_refinement_centre_deadband")
    # first-frame calibration (pytracking.tracker.atom.calibration): refinements from the true first box whose mean
    # offset (the estimator's bias on this target) is taken out of every later refined box; 0: off
    calibration_draws: int = param(0, key="box_refinement_calibration_draws")
    # first-frame adaptation (pytracking.tracker.atom.estimator_adaptation): Adam steps fitting the head's reference
    # modulation to the first frame's shape-keeping augmentations (ML-IS objective, `adapt_proposals` proposals per
    # sample, step `adapt_lr` relative to the vectors' RMS, pull `adapt_reg` towards the network's vectors); 0: off.
    # Only a box-scoring network estimator adapts (others are left as they are). For the shipped ML-IS head, on 60
    # train-side sequences (docs/tuning_on_train.md): adaptation on (20 steps, lr 0.01, 64 proposals; three seeds
    # 78.88 against off's 78.28 mean AUC, harm 13.4 against 15.7 %), then the cheapest setting no worse than that by a
    # rule written before the runs: 10 steps, lr 0.02, 32 proposals (three seeds 78.76, harm 13.6 %, 1 sequence > 5
    # below no_refine as before; `initialize` 0.97 s against 2.35 s, 0.46 s without adaptation, one thread; the
    # report-only benchmarks score it 1.3 / 4.4 AUC lower than the former setting, README).
    # The objective is ML-IS's: other heads run without it (not searched for them)
    adapt_steps: int = param(10, key="box_refinement_adapt_steps")
    adapt_lr: float = param(0.02, key="box_refinement_adapt_lr")
    adapt_reg: float = param(1.0, key="box_refinement_adapt_reg")
    adapt_proposals: int = param(32, key="box_refinement_adapt_proposals")
    # more adaptation samples: the first frame cropped around the target with the search region x each factor (the
    # target 1 / factor as large in the patch; one more backbone pass for all); empty: the augmentations only
    adapt_scales: tuple[float, ...] = param((), key="box_refinement_adapt_scales")
    # the tracker keeps its previous width (height) while the refined box's score exceeds its best log-width
    # (log-height) neighbour at +-0.1 by less than this (box_refinement.size_sharpness): a flat density along that
    # side; 0: off. In the head's score units (log-density for an EBM)
    size_min_sharpness: float = param(0.0, key="box_refinement_size_min_sharpness")
    # size evidence: the tracker keeps its previous size unless the refined box scores at least this much above the
    # refined centre with the previous size (box_refinement.held_size_box); 0: off. In the head's score units: 2 for
    # the shipped ML-IS head, chosen on 60 train-side sequences (three seeds: 76.41 against off's 75.80 mean AUC, harm
    # 14.7 against 16.4 %, 1 sequence > 5 below no_refine against 4; docs/tuning_on_train.md). Other heads: re-search
    size_min_gain: float = param(2.0, key="box_refinement_size_min_gain")
    # home size: after size evidence the estimator also scores the refined centre with the first frame's size, and
    # the tracker takes that size unless the chosen box scores at least home_min_gain above it (score units). Off:
    # on 60 train-side sequences, three seeds, gain 0 scored 78.55 against 78.28, harm 14.5 against 15.7 %, below
    # the adoption rule's thresholds (docs/tuning_on_train.md)
    home_size: bool = param(False, key="box_refinement_home_size")
    home_min_gain: float = param(0.0, key="box_refinement_home_min_gain")
    # eager CPU path: stop once the remaining steps cannot move any candidate coordinate (relative space) by more
    # than this (ebm.refinement.refine's stop_tol; 0: always num_iter steps; the CUDA graph always runs num_iter)
    stop_tol: float = param(0.0, key="box_refinement_stop_tol")
    max_aspect: float = param(6.0, key="maximal_aspect_ratio")
    top_k: int = param(3, key="box_refinement_topk")
    max_scale_change: float = param(4.0, key="box_refinement_max_scale_change")
    max_shift: float = param(2.0, key="box_refinement_max_shift")

    limits = {"num_boxes": (1, None), "jitter_pos": (0, None), "jitter_sz": (0, None), "num_iter": (0, None),
              "step_length": (0, None), "decay": (0, 1), "size_rate": (0, 1), "size_deadband": (0, None),
              "centre_deadband": (0, None), "calibration_draws": (0, None), "adapt_steps": (0, None),
              "adapt_reg": (0, None), "adapt_proposals": (1, None), "adapt_scales": (0.2, 5.0),
              "size_min_sharpness": (0, None),
              "size_min_gain": (0, None), "home_min_gain": (0, None), "stop_tol": (0, None), "max_aspect": (1, None),
              "top_k": (1, None),
              "max_scale_change": (1, None), "max_shift": (0, None)}

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(self.step_length) != 4:
            raise ValueError("box_refinement_step_length must hold 4 values (cx, cy, log w, log h), got "
                             f"{self.step_length!r}")
        if not self.adapt_lr > 0:   # an open bound: not a `limits` range
            raise ValueError(f"box_refinement_adapt_lr must be > 0, got {self.adapt_lr!r}")


@dataclass(frozen=True)
class GateSettings(ParamSettings):
    """The refinement gate's numbers (:mod:`pytracking.tracker.atom.refinement_gate`); ``enabled=False``
    accepts every refinement. Off by default: on the demo's train split no gate setting beat the ungated tracker
    (mean AUC over its 40 sequences: off 64.3; steps 1.25 62.0, 1.5 61.7, 2.0 64.1; score and centre only 64.0),
    so the step limits below are the best gated setting there (parameter file ``gated``). Re-searched with the
    re-trained weights (20 train sequences: off 65.3; steps 1.25 / 1.5 / 2.0 / 4.0: 63.8 / 61.4 / 65.2 / 65.2) and
    with the wide-cache heads (``python -m pytracking.tune_parameters``, 40 train-side sequences, T = 10: off 72.53,
    ``gated`` 72.47; ``min_peak`` 0.4 / 0.5 / 0.6 with the other checks opened: 72.19 / 69.88 / 65.12; at T = 3:
    off 72.64, ``size_min_peak`` 0.3 / 0.4 / 0.5: 72.47 / 72.52 / 72.02; docs/tuning_on_train.md)."""

    enabled: bool = param(False, key="refinement_gate")
    min_score_gain: float = param(0.0, key="gate_min_score_gain")
    max_centre_shift: float = param(0.5, key="gate_max_centre_shift")
    max_scale_step: float = param(2.0, key="gate_max_scale_step")
    max_aspect_step: float = param(2.0, key="gate_max_aspect_step")
    reacquire_frames: int = param(3, key="gate_reacquire_frames")
    min_peak: float = param(0.0, key="gate_min_peak")   # no refinement while the classifier's peak is below this
    size_min_peak: float = param(0.0, key="gate_size_min_peak")  # below this peak: the refined centre, the old size

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_centre_shift <= 0 or self.max_scale_step < 1 or self.max_aspect_step < 1:
            raise ValueError("refinement gate: max_centre_shift must be > 0, max_scale_step and max_aspect_step >= 1; "
                             f"got {self.max_centre_shift}, {self.max_scale_step}, {self.max_aspect_step}")
        if self.reacquire_frames < 0:
            raise ValueError(f"refinement gate: reacquire_frames must be >= 0, got {self.reacquire_frames}")


@dataclass(frozen=True)
class ATOMSettings(ParamSettings):
    """Everything the ATOM tracker reads from its parameter file (see the tracker's module docstring)."""

    # run
    debug: int = 0
    device: Any = param("auto", convert=None)  # 'auto' | 'cpu' | 'cuda' | 'cuda:N' (or a torch.device)
    seed: int = 0                         # the tracker's generator (jitter, dropout); run k uses seed + k
    deterministic: bool = True            # on CUDA: cuDNN deterministic kernels (repeatable runs of one seed)
    tracker_name: Any = None              # set by pytracking.evaluation.Tracker
    param_name: Any = None
    # search region and features (one backbone pass per frame)
    image_sample_size: int = 256          # patch side in pixels (paper: 288)
    search_area_scale: float = 5.0        # patch covers 5 * sqrt(w h) image pixels
    classifier_layer: str = "layer3"                               # stride 16
    estimator_layers: tuple[str, ...] = ("layer2", "layer3")       # stride 8 and 16
    scale_factors: tuple[float, ...] = (1.0,)
    # while the target is not found: the search region's side grows by lost_search_growth per consecutive such
    # frame, up to lost_search_max x the normal side, at the normal image scale (more patch pixels); 1: off.
    # 1.5 / 3 chosen on 60 train-side sequences, three seeds (docs/tuning_on_train.md): 78.21 against 76.41 off
    lost_search_growth: float = 1.5
    lost_search_max: float = 3.0
    # the first lost_search_delay consecutive not-found frames are followed by normal frames; 2 chosen on the same 60
    # sequences, three seeds: 78.28 against 78.21 with delay 0, 1 sequence > 5 below no_refine against 2
    lost_search_delay: int = 2
    # on an enlarged patch, a peak outside the normal region needs this score (0: the usual threshold); 0.35 / 0.5
    # screened, 0.35 over three seeds 77.96 against 78.21: not adopted
    lost_redetect_threshold: float = 0.0
    # constant-velocity search centre (pytracking.tracker.atom.motion): the patch is centred at the previous position
    # plus the exponential average (weight velocity_weight) of the position's change over found frames, at most
    # velocity_max_shift x sqrt(w h) long; a frame without a found target resets it. 0: off (as ATOM)
    velocity_weight: float = 0.0
    velocity_max_shift: float = 1.0
    # first-frame look-alikes: after the classifier's first training, score one patch lookalike_search_factor x the
    # normal side (at the normal image scale); up to lookalike_max_count peaks outside the target's neighbourhood
    # scoring >= lookalike_min_score become protected first-frame samples (a patch centred on each, labelled with the
    # target where it is), and the filter is re-fitted. 1: off
    lookalike_search_factor: float = 1.0
    lookalike_min_score: float = 0.3
    lookalike_max_count: int = 3
    scale_penalty: float = 1.0            # peaks of scales other than 1 are multiplied by this
    scale_damping: float = 1.0            # without refinement: size *= scale factor ** scale_damping
    use_box_refinement: bool = True
    # localisation
    target_not_found_threshold: float = 0.25
    distractor_threshold: float = 0.8
    hard_negative_threshold: float = 0.5
    target_neighborhood_scale: float = 2.2
    displacement_scale: float = 0.8
    # state limits
    min_scale_factor: float = 0.2         # x initial size
    max_scale_factor: float = 5.0
    min_target_size: float = 4.0          # pixels
    max_target_image_fraction: float = 1.0
    min_inside_fraction: float = 0.1      # of the box that must stay inside the frame
    # parts
    network: NetworkSettings = nested(NetworkSettings)
    augmentation: AugmentationSettings = nested(AugmentationSettings)
    classifier: ClassifierSettings = nested(ClassifierSettings)
    refinement: RefinementSettings = nested(RefinementSettings)
    gate: GateSettings = nested(GateSettings)

    limits = {"image_sample_size": (16, None), "scale_factors": (0, None), "lost_search_growth": (1, None),
              "lost_search_max": (1, None), "lost_search_delay": (0, None), "lost_redetect_threshold": (0, None),
              "velocity_weight": (0, 1), "velocity_max_shift": (0, None), "lookalike_search_factor": (1, None),
              "lookalike_min_score": (0, None), "lookalike_max_count": (0, None),
              "min_scale_factor": (0, None), "max_scale_factor": (0, None), "min_target_size": (0, None),
              "min_inside_fraction": (0, 1)}

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.search_area_scale <= 1 or not self.scale_factors or 0 in self.scale_factors:
            raise ValueError("search_area_scale must be > 1 and scale_factors non-empty and positive; got "
                             f"{self.search_area_scale}, {self.scale_factors}")


def parameter_file_hint(params: Any) -> str:
    """``pytracking/parameter/<tracker>/<param>.py`` when the parameters carry their names, else ''."""
    get = getattr(params, "get", None)
    tracker = get("tracker_name", None) if callable(get) else None
    name = get("param_name", None) if callable(get) else None
    if tracker and name:
        return f"pytracking/parameter/{tracker}/{name}.py"
    return ""
