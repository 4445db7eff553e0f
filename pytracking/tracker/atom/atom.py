"""The ATOM-style tracker: online classifier for the position, box estimator (EBM or IoU-Net)
refined by gradient ascent for the extent.

Per frame (one backbone pass on the search patch(es), shared by classifier and estimator):

1. sample a square patch of ``search_area_scale * sqrt(w h)`` image pixels around the previous
   position (times each of ``scale_factors``), resampled to ``image_sample_size`` pixels; with
   ``velocity_weight > 0`` around the previous position plus the motion model's velocity (``motion``);
2. classifier score map(s) -> best scale, main peak, second peak -> flag:
   ``not_found`` (peak < ``target_not_found_threshold``: keep position and size, no update),
   a strong second peak (``> distractor_threshold * peak``) -> the peak nearer the expected
   position (the patch centre), ``hard_negative`` if only one is near, else ``uncertain`` (no update);
   a moderate one (``> hard_negative_threshold * peak``) -> ``hard_negative``; else ``normal``;
3. unless ``not_found``, the box estimator refines the box (position from the classifier, size
   from the previous frame) by gradient ascent on its score -- or, with a regression head
   (``box_estimator_type`` 'regression', or 'auto' with a ``BoxRegressionNet``), takes the head's
   predicted mean box from that one box (one forward pass) -- or, without refinement, the size is scaled by the chosen scale factor
   to the power ``scale_damping`` (scales other than 1 compete with their peak times ``scale_penalty``);
4. size clamped to ``[min_scale_factor, max_scale_factor] x`` the initial size (and at least
   ``min_target_size`` px, at most ``max_target_image_fraction`` of the frame), position clamped
   so that a ``min_inside_fraction`` of the box stays inside the frame;
5. classifier memory update (``normal``/``hard_negative``) with a label at the new position, CG
   every ``train_skipping`` frames, or at once (``hard_negative_CG_iter``) on a hard negative.

First frame: the classifier trains on augmented patches; with ``lookalike_search_factor`` > 1 it then scores one
enlarged patch and learns its strongest peaks away from the target as negatives (:meth:`ATOM._learn_lookalikes`).

After ``k`` consecutive ``not_found`` frames, ``k > lost_search_delay``, the next frame searches one enlarged patch
instead: side ``min(lost_search_growth ** (k - lost_search_delay), lost_search_max)`` x the normal one, at the
normal image scale (so ``image_sample_size`` x that factor patch pixels, rounded to ``PATCH_MULTIPLE``). On such a
frame the estimator is not run, the size is kept and the classifier's memory is not updated; only peaks inside the
image count, and outside the normal region only those scoring at least ``lost_redetect_threshold``.
"""
from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from pytracking.features.augmentation import Augmentation, augmented_patches, first_frame_augmentations
from pytracking.features.extractor import BackboneFeatureExtractor
from pytracking.features.fusion import folded_backbone, layer_selector
from pytracking.features.preprocessing import PatchGeometry, sample_patch
from pytracking.tracker.atom.box_estimator import (
    NetworkBoxEstimator,
    ProductOfExpertsEstimator,
    RegressionBoxEstimator,
    as_tracker_estimator,
    is_regression_head,
)
from pytracking.tracker.atom.box_refinement import RefinedBox
from pytracking.tracker.atom.calibration import estimator_bias, remove_bias
from pytracking.tracker.atom.motion import updated_velocity
from pytracking.tracker.atom.refinement_gate import deadbanded, evidenced_size, gate_reason, sharp_sides
from pytracking.tracker.atom.classifier import (
    OnlineClassifier,
    find_peaks,
    gaussian_label,
    strong_peaks,
)
from pytracking.tracker.atom.settings import ATOMSettings, NetworkSettings, parameter_file_hint
from pytracking.tracker.base.basetracker import BaseTracker

__all__ = ["ATOM", "FrameWork", "RefinementRequest", "load_tracker_network", "missing_network_file",
           "missing_weights_message", "resolve_device", "lost_search_factor", "PATCH_MULTIPLE"]

PATCH_MULTIPLE = 32   # an enlarged search patch's side is a multiple of this (the backbone's largest stride)


def lost_search_factor(lost_frames: int, growth: float, largest: float, delay: int = 0) -> float:
    """The search region's side, as a multiple of the normal one, after ``lost_frames`` consecutive frames with
    the target not found: ``min(growth ** (lost_frames - delay), largest)``; 1 for the first ``delay`` such frames,
    while the target is found, or with growth 1."""
    if lost_frames <= delay or growth <= 1.0:
        return 1.0
    return min(growth ** (lost_frames - delay), max(largest, 1.0))

# shipped weights file -> the CPU train setting that produced it (docs/training_log.md)
TRAIN_SETTING_OF_NETWORK = {
    "atom_ebm_effnet.pth": "atom_ebm_cached",
    "atom_nce_effnet.pth": "atom_nce_cached",
    "atom_iou_effnet.pth": "atom_iou_cached",
    "atom_gauss_effnet.pth": "atom_gauss_cached",
}

MISSING_WEIGHTS_HELP = (
    "network weights not found at params.net_path = {path}.\n"
    "Get them in one of these ways:\n"
    "  * update the checkout: the trained estimators are shipped in pytracking/networks/ (git pull);\n"
    "  * or train the estimator: python -m ltr.run_training bbreg {setting}, then export the last checkpoint:\n"
    "    python -m ltr.admin.checkpoint export <workspace>/checkpoints/bbreg/{setting}/{setting}_epNNNN.pth {path}\n"
    "    (or point params.net_path at any checkpoint of that setting);\n"
    "  * or set params.use_registry_fallback = True to build params.fallback_net_constructor from the registry\n"
    "    (ImageNet backbone, UNTRAINED estimator: the box refinement will then be meaningless);\n"
    "  * or use the parameter file 'no_refine' / 'multiscale', which need only the backbone."
)


def missing_weights_message(path: str | Path | None) -> str:
    """The explanation given when ``params.net_path`` does not exist: where the file comes from and
    how to train/export it (the train setting is looked up by file name, EBM ML-IS otherwise)."""
    setting = TRAIN_SETTING_OF_NETWORK.get(Path(path).name if path else "", "atom_ebm_cached")
    return MISSING_WEIGHTS_HELP.format(path=path, setting=setting)


def missing_network_file(params: Any) -> Path | None:
    """The weights file these parameters need but which does not exist, else None.

    None when the network comes from ``params.net``/``params.net_constructor``/``params.backbone``,
    when ``params.net_path`` exists, or when the registry fallback is allowed (``no_refine``,
    ``multiscale``). Lets a caller report "weights missing" before starting a run."""
    network = _network_settings(params)
    if network.net is not None or network.net_constructor is not None:
        return None
    path = network.net_path
    if path is not None and Path(path).is_file():
        return None
    if network.use_registry_fallback or network.backbone is not None:
        return None
    return Path(path) if path is not None else Path("<params.net_path not set>")


def _network_settings(params: Any) -> NetworkSettings:
    """``params`` as :class:`NetworkSettings` (given as such, or read from a parameter bag)."""
    if isinstance(params, NetworkSettings):
        return params
    if isinstance(params, ATOMSettings):
        return params.network
    return NetworkSettings.from_params(params, check=False)


def resolve_device(name: str | torch.device) -> torch.device:
    """``'auto'`` -> CUDA if available else CPU; otherwise ``torch.device(name)``."""
    if str(name) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"params.device = {name!r} but CUDA is not available")
    return device


def load_tracker_network(params: Any, device: torch.device) -> nn.Module | None:
    """The network named by the parameters, in eval mode on ``device``, in this order:
    ``params.net`` (a module, e.g. for tests); ``params.net_constructor = (registry name, kwargs)``;
    the checkpoint ``params.net_path``; ``params.fallback_net_constructor`` if
    ``params.use_registry_fallback``. Returns None if ``params.box_estimator`` and
    ``params.backbone`` are given directly."""
    network = _network_settings(params)
    net = network.net
    if net is None:
        constructor = network.net_constructor
        path = network.net_path
        if constructor is not None:
            from ltr.models.registry import build
            name, kwargs = constructor
            net = build(name, **dict(kwargs))
        elif path is not None and Path(path).is_file():
            from ltr.admin.checkpoint import load_network
            net = load_network(path, device)
        elif network.use_registry_fallback:
            from ltr.models.registry import build
            name, kwargs = network.fallback_net_constructor
            net = build(name, **dict(kwargs))
        elif network.backbone is not None:
            return None
        else:
            raise FileNotFoundError(missing_weights_message(path))
    if not isinstance(net, nn.Module):
        raise ValueError(f"params.net must be an nn.Module, got {type(net).__name__}")
    return net.to(device).eval()


def product_of_experts(estimator: Any, net: nn.Module | None, layers: Sequence[str], network: NetworkSettings,
                       device: torch.device) -> ProductOfExpertsEstimator:
    """``estimator`` (the head of the tracker's network ``net``) and the box-scoring heads of the checkpoints
    ``network.expert_paths`` (fed the backbone maps ``layers``) as one :class:`ProductOfExpertsEstimator` with
    ``network.expert_weights``. Every checkpoint must hold a box-scoring head (``AtomIoUNet``) built by the same
    registry constructor as ``net``: the heads share the tracker's backbone features."""
    experts = [estimator]
    for path in network.expert_paths:
        if not Path(path).is_file():
            raise FileNotFoundError(f"params.expert_paths: no checkpoint {path}")
        from ltr.admin.checkpoint import load_network, network_constructor
        expert = load_network(path, device).to(device).eval()
        head = getattr(expert, "bb_regressor", None)
        if head is None or is_regression_head(head):
            raise ValueError(f"params.expert_paths: {path} holds no box-scoring head (AtomIoUNet)")
        if getattr(net, "constructor", None) is not None:
            own, theirs = network_constructor(net)["name"], network_constructor(expert)["name"]
            if own != theirs:
                raise ValueError(f"params.expert_paths: {path} was built by {theirs!r}, the tracker's network by "
                                 f"{own!r}: the heads must share one backbone")
        experts.append(NetworkBoxEstimator(head, layers, fast=network.box_estimator_fast, cuda_graph=False))
    weights = tuple(network.expert_weights) or None
    if weights is not None and len(weights) != len(experts):
        raise ValueError(f"params.expert_weights has {len(weights)} values for {len(experts)} heads "
                         "(the network's head first, then params.expert_paths)")
    return ProductOfExpertsEstimator(experts, weights)


class ATOM(BaseTracker):
    """ATOM-style tracker (see the module docstring; numbers come from the parameter file).

    A frame is five phases, which ``_track`` calls in order for this one sequence: :meth:`crop_frame` (patches),
    the backbone (``self.extractor``), :meth:`localise_frame` (classifier; returns a :class:`RefinementRequest`),
    :meth:`refine_frame` (the estimator) and :meth:`finish_frame` (gate, state, classifier update).
    ``pytracking.evaluation.batched_running`` calls the same phases for many trackers in lockstep and runs the
    backbone and the refinement once for all of them."""

    def __init__(self, params: Any) -> None:
        super().__init__(params)
        #: every number of the parameter file, read once (an unknown key is an error naming it)
        self.settings = settings = (params if isinstance(params, ATOMSettings)
                                    else ATOMSettings.from_params(params, where=parameter_file_hint(params)))
        network = settings.network
        self.device = resolve_device(settings.device)
        if self.device.type == "cuda" and settings.deterministic:
            # the classifier's Gauss-Newton steps differentiate convolutions: cuDNN's fastest backward kernels
            # accumulate with atomics, so two runs of one seed would differ (process-wide setting)
            torch.backends.cudnn.deterministic = True
        self.net = load_tracker_network(network, self.device)
        self.classifier_layer = settings.classifier_layer
        self.estimator_layers = settings.estimator_layers
        self.use_refinement = settings.use_box_refinement
        layers = [self.classifier_layer] + (list(self.estimator_layers) if self.use_refinement else [])
        backbone = network.backbone
        if backbone is None:
            net = self.net
            if (network.fold_batchnorm and hasattr(net, "extract_backbone_features")
                    and isinstance(getattr(net, "feature_extractor", None), nn.Module)):
                # inference copy with BatchNorm folded into the convs (the network itself is unchanged)
                backbone = layer_selector(folded_backbone(net.feature_extractor, self.device), tuple(layers))
            elif hasattr(net, "extract_backbone_features"):
                backbone = lambda im: net.extract_backbone_features(im, layers)  # noqa: E731
            else:
                backbone = net
        elif isinstance(backbone, nn.Module):
            backbone = backbone.to(self.device).eval()
        # CUDA graphs of the backbone pass and of the refinement (parameter ``cuda_graph``, on CUDA only)
        self.cuda_graph = network.cuda_graph and self.device.type == "cuda"
        self.extractor = BackboneFeatureExtractor(backbone, layers, self.device, cuda_graph=self.cuda_graph)
        self.estimator: Any = None   # anything with initialize/prepare/estimate (box_estimator.as_tracker_estimator)
        if self.use_refinement:
            estimator = network.box_estimator
            kind = network.box_estimator_type
            if estimator is None:
                if self.net is None or not hasattr(self.net, "bb_regressor"):
                    raise ValueError("use_box_refinement needs params.box_estimator or a network with a bb_regressor")
                head = self.net.bb_regressor
                regression = is_regression_head(head) if kind == "auto" else kind == "regression"
                if regression and not is_regression_head(head):
                    raise ValueError("params.box_estimator_type = 'regression' needs a regression head "
                                     f"(BoxRegressionNet), got {type(head).__name__}")
                if not regression and is_regression_head(head):
                    raise ValueError("params.box_estimator_type = 'score' needs a box-scoring head (AtomIoUNet); "
                                     "this network has a regression head: use box_estimator_type = 'regression'")
                estimator = (RegressionBoxEstimator(head, self.estimator_layers) if regression
                             else NetworkBoxEstimator(head, self.estimator_layers,
                                                      fast=network.box_estimator_fast,
                                                      cuda_graph=self.cuda_graph,
                                                      compile_head=network.compile_refinement))
            if network.expert_paths:
                estimator = product_of_experts(estimator, self.net, self.estimator_layers, network, self.device)
            self.estimator = as_tracker_estimator(estimator, self.device)
        self.refinement = settings.refinement
        self.gate = settings.gate
        self.image_sample_size = settings.image_sample_size
        self.search_area_scale = settings.search_area_scale
        self.scale_factors = settings.scale_factors
        self.generator = torch.Generator().manual_seed(settings.seed)
        self.timing: dict[str, float] = {}
        self.cg_residuals: list[float] = []

    # --- geometry helpers -----------------------------------------------------------------
    def _geometry(self, pos: np.ndarray, target_sz: np.ndarray, factor: float = 1.0) -> PatchGeometry:
        sample_px = self.search_area_scale * math.sqrt(float(target_sz[0] * target_sz[1])) * factor
        return PatchGeometry(center=(float(pos[0]), float(pos[1])), scale=self.image_sample_size / sample_px,
                             output_size=(self.image_sample_size, self.image_sample_size))

    @staticmethod
    def _crop(image: np.ndarray, geometries: Sequence[PatchGeometry]) -> np.ndarray:
        """The patches ``[len(geometries), S, S, 3]`` the geometries describe (each at its centre and scale)."""
        return np.stack([sample_patch(image, g.center, g.output_size[0] / g.scale, g.output_size[0])[0]
                         for g in geometries])

    def _neighbourhood(self, geom: PatchGeometry, cell: tuple[float, float]) -> tuple[float, float]:
        """The target's neighbourhood on ``geom``'s score map: ellipse radii (x, y cells),
        ``target_neighborhood_scale`` x half the target's size."""
        size_cells = self.target_sz * geom.scale / np.asarray(cell)
        radius = self.settings.target_neighborhood_scale * size_cells / 2
        return float(radius[0]), float(radius[1])

    def _cell_size(self, feature: torch.Tensor, patch_size: tuple[int, int] | None = None) -> tuple[float, float]:
        """Patch pixels per feature cell (x, y) for a patch of ``patch_size`` (w, h; default the normal one)."""
        w, h = patch_size or (self.image_sample_size, self.image_sample_size)
        return w / feature.shape[-1], h / feature.shape[-2]

    def _label(self, center_patch: np.ndarray, target_sz_patch: np.ndarray, feature: torch.Tensor) -> torch.Tensor:
        """Gaussian labels ``[N, Ho, Wo]`` for target centres ``[N, 2]`` (patch px)."""
        cell = self._cell_size(feature)
        centre_out = self.classifier.patch_to_output(center_patch, cell)
        size_cells = math.sqrt(float(target_sz_patch[0] / cell[0] * target_sz_patch[1] / cell[1]))
        sigma = max(self.settings.classifier.output_sigma_factor * size_cells, 0.25)
        out_size = self.classifier.output_size((feature.shape[-2], feature.shape[-1]))
        centre = torch.as_tensor(np.atleast_2d(centre_out), dtype=torch.float32, device=self.device)
        return gaussian_label(centre, sigma, out_size)

    def _clamp_state(self, pos: np.ndarray, size: np.ndarray, image_shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        h_img, w_img = image_shape[:2]
        s = self.settings
        lo = np.maximum(self.base_target_sz * s.min_scale_factor, s.min_target_size)
        hi = self.base_target_sz * s.max_scale_factor
        hi = np.minimum(hi, np.array([w_img, h_img], dtype=np.float64) * s.max_target_image_fraction)
        size = np.clip(size, np.minimum(lo, hi), np.maximum(hi, lo))
        inside = s.min_inside_fraction
        margin = (0.5 - inside) * size
        pos = np.clip(pos, -margin, np.array([w_img, h_img], dtype=np.float64) + margin)
        return pos, size

    # --- tracking ----------------------------------------------------------------------------
    def _initialize(self, image: np.ndarray, info: dict) -> dict:
        box = np.asarray(info["init_bbox"], dtype=np.float64)
        self.pos = box[:2] + box[2:] / 2
        self.target_sz = box[2:].copy()
        self.base_target_sz = box[2:].copy()
        self.pos, self.target_sz = self._clamp_state(self.pos, self.target_sz, image.shape)
        self.size_hold = 0     # refinements that must still pass the gate before the estimator's size is taken
        self.lost_frames = 0   # consecutive frames with the target not found (they enlarge the search region)
        self.velocity = np.zeros(2)   # the motion model's velocity (image px per frame; 0 with velocity_weight 0)
        self.bias: torch.Tensor | None = None   # the estimator's first-frame bias (calibration_draws > 0)
        self.lookalikes = np.zeros((0, 2))      # image centres of the first-frame look-alikes learnt as negatives
        geometry = self._geometry(self.pos, self.target_sz)
        sample_px = self.image_sample_size / geometry.scale
        aug = self.settings.augmentation
        augs = first_frame_augmentations(self.image_sample_size, aug.augmentation_shifts, aug.augmentation_flip,
                                         aug.augmentation_rotations, aug.augmentation_blur_sigmas)
        patches, centres = augmented_patches(image, self.pos, sample_px, self.image_sample_size, augs)
        features = self.extractor.extract(patches, graph=False)   # a one-off batch shape: not worth a graph
        feat = features[self.classifier_layer]

        self.classifier = OnlineClassifier(self.settings.classifier, self.device)
        size_patch = self.target_sz * geometry.scale
        labels = self._label(centres, size_patch, feat)
        train_feat = feat
        num_dropout = aug.augmentation_dropout_num
        if num_dropout > 0:
            p = aug.augmentation_dropout_prob
            # channel dropout as F.dropout2d (zero a channel with probability p, scale the rest by
            # 1 / (1 - p)), drawn from the tracker's seeded generator so that runs are reproducible
            keep = torch.rand(num_dropout, feat.shape[1], 1, 1, generator=self.generator) >= p
            with torch.inference_mode():
                dropped = feat[:1] * keep.to(device=feat.device, dtype=feat.dtype) / (1.0 - p)
            train_feat = torch.cat([feat, dropped])
            labels = torch.cat([labels, labels[:1].expand(num_dropout, -1, -1)])
        self.classifier.initialize(train_feat, labels, self.generator)
        self._learn_lookalikes(image, geometry)

        if self.estimator is not None:
            first = {name: features[name][:1] for name in self.estimator_layers}
            box_patch = torch.as_tensor(geometry.box_to_patch(box), dtype=torch.float32, device=self.device)
            self.estimator.initialize(first, box_patch, geometry)
            self._adapt_estimator(image, features, augs, centres, size_patch, sample_px)
            self.bias = self._estimator_bias(first, box_patch.cpu(), geometry)
        return {"target_bbox": self._box().tolist()}

    def _enlarged_geometry(self, normal: PatchGeometry, factor: float) -> PatchGeometry:
        """One patch at ``normal``'s centre and image scale whose side is ``factor`` x its side, rounded to a
        multiple of ``PATCH_MULTIPLE``."""
        side = max(PATCH_MULTIPLE, int(round(self.image_sample_size * factor / PATCH_MULTIPLE)) * PATCH_MULTIPLE)
        return PatchGeometry(center=normal.center, scale=normal.scale, output_size=(side, side))

    def _learn_lookalikes(self, image: np.ndarray, geometry: PatchGeometry) -> None:
        """First-frame look-alikes (``lookalike_search_factor`` > 1): the trained classifier scores one enlarged
        patch; its strongest peaks inside the image and outside the target's neighbourhood, up to
        ``lookalike_max_count`` of at least ``lookalike_min_score``, each give a normal patch centred on them, labelled
        with the target where it lies in that patch (mostly outside: a negative), added to the protected first-frame
        samples; then the filter is re-fitted (``hard_negative_CG_iter``)."""
        s = self.settings
        if s.lookalike_search_factor <= 1.0 or s.lookalike_max_count == 0:
            return
        wide = self._enlarged_geometry(geometry, s.lookalike_search_factor)
        feat = self.extractor.extract(self._crop(image, [wide]), graph=False)[self.classifier_layer]
        cell = self._cell_size(feat, wide.output_size)
        scores = self._enlarged_scores(self.classifier.score(feat)[0], wide, cell, image.shape)
        target_cell = self.classifier.patch_to_output(wide.to_patch(self.pos), cell)
        peaks = strong_peaks(scores, self._neighbourhood(wide, cell), s.lookalike_min_score, s.lookalike_max_count,
                             excluded=(float(target_cell[0]), float(target_cell[1])))
        if not peaks:
            return
        centres = [wide.to_image(self.classifier.output_to_patch(np.array([x, y]), cell)) for x, y, _ in peaks]
        geometries = [self._geometry(c, self.target_sz) for c in centres]
        feats = self.extractor.extract(self._crop(image, geometries), graph=False)[self.classifier_layer]
        size_patch = self.target_sz * geometries[0].scale
        labels = self._label(np.stack([g.to_patch(self.pos) for g in geometries]), size_patch, feats)
        self.classifier.add_initial_samples(feats, labels)
        self.cg_residuals = self.classifier.update(s.classifier.hard_negative_CG_iter)
        self.lookalikes = np.stack(centres)

    def _adapt_estimator(self, image: np.ndarray, features: dict[str, torch.Tensor], augs: Sequence[Augmentation],
                         centres: np.ndarray, size_patch: np.ndarray, sample_px: float) -> None:
        """First-frame adaptation of the estimator (``box_refinement_adapt_steps`` > 0,
        :mod:`~pytracking.tracker.atom.estimator_adaptation`) on the augmented patches that keep the box's shape
        (no rotation): the target box in each is its centre there and the first frame's size; with
        ``box_refinement_adapt_scales`` also on patches of ``sample_px`` x each factor (the size / factor). Only an estimator with
        ``adapt`` (:class:`~pytracking.tracker.atom.box_estimator.NetworkBoxEstimator`) adapts; others are left as
        they are (a plain ``BoxEstimator``, a regression head, a product of experts)."""
        ref = self.settings.refinement
        adapt = getattr(self.estimator, "adapt", None)
        if ref.adapt_steps == 0 or not callable(adapt):
            return
        keep = [i for i, aug in enumerate(augs) if aug.angle_deg == 0.0]
        boxes = [np.concatenate([centres[i] - size_patch / 2, size_patch]) for i in keep]
        index = torch.as_tensor(keep, device=self.device)
        samples = {name: features[name].index_select(0, index) for name in self.estimator_layers}
        if ref.adapt_scales:
            crops = [augmented_patches(image, self.pos, sample_px * f, self.image_sample_size, [Augmentation()])
                     for f in ref.adapt_scales]
            scaled = self.extractor.extract(np.concatenate([patch for patch, _ in crops]), graph=False)
            samples = {name: torch.cat([samples[name], scaled[name]]) for name in self.estimator_layers}
            boxes += [np.concatenate([centre[0] - size_patch / (2 * f), size_patch / f])
                      for (_, centre), f in zip(crops, ref.adapt_scales)]
        boxes = torch.as_tensor(np.stack(boxes), dtype=torch.float32)
        adapt(samples, boxes, ref.adapt_steps, ref.adapt_lr, ref.adapt_reg, ref.adapt_proposals, self.generator)

    def _estimator_bias(self, first: dict[str, torch.Tensor], box_patch: torch.Tensor,
                        geometry: PatchGeometry) -> torch.Tensor | None:
        """The estimator's bias on this target (:mod:`~pytracking.tracker.atom.calibration`): the mean offset of
        ``calibration_draws`` refinements of the true first box (patch pixels); None when off."""
        draws = self.settings.refinement.calibration_draws
        if draws == 0:
            return None
        state = self.estimator.prepare(first, geometry)
        refined = [self.estimator.estimate(state, box_patch, self.refinement, self.generator).box.reshape(4).cpu()
                   for _ in range(draws)]
        return estimator_bias(torch.stack(refined), box_patch)

    def _box(self) -> np.ndarray:
        return np.concatenate([self.pos - self.target_sz / 2, self.target_sz])

    def _enlarged_scores(self, scores: torch.Tensor, geom: PatchGeometry, cell: tuple[float, float],
                         image_shape: tuple[int, ...]) -> torch.Tensor:
        """An enlarged patch's ``scores`` ``[Ho, Wo]`` with these cells lowered to the map's minimum: those whose
        centre lies outside the image (much of an enlarged patch is replicated border, no place to find a target),
        and those outside the normal search region (the centre ``image_sample_size`` square) that score below
        ``lost_redetect_threshold`` (the larger area holds more background peaks above the not-found threshold)."""
        ho, wo = scores.shape
        px = np.stack([self.classifier.output_to_patch(np.array([i, 0.0]), cell) for i in range(wo)])[:, 0]
        py = np.stack([self.classifier.output_to_patch(np.array([0.0, j]), cell) for j in range(ho)])[:, 1]
        xs = geom.to_image(np.stack([px, np.zeros_like(px)], axis=1))[:, 0]
        ys = geom.to_image(np.stack([np.zeros_like(py), py], axis=1))[:, 1]
        h_img, w_img = image_shape[:2]
        outside = (ys[:, None] < 0) | (ys[:, None] > h_img) | (xs[None, :] < 0) | (xs[None, :] > w_img)
        half = self.image_sample_size / 2
        beyond = (np.abs(py - geom.output_size[1] / 2)[:, None] > half) | (np.abs(px - geom.output_size[0] / 2)[None, :] > half)
        weak = (scores < self.settings.lost_redetect_threshold).cpu().numpy()
        lowered = torch.as_tensor(outside | (beyond & weak), device=scores.device)
        return scores.masked_fill(lowered, float(scores.min())) if bool(lowered.any()) else scores

    def _localise(self, scores: torch.Tensor, geometries: list[PatchGeometry], feature: torch.Tensor,
                  factors: Sequence[float], image_shape: tuple[int, ...] | None = None):
        """Best scale, new position (image px), flag, peak result. ``factors``: the geometries' scale factors;
        ``image_shape`` given (an enlarged search): only peaks inside the image count, and outside the normal
        region only those of at least ``lost_redetect_threshold``."""
        s = self.settings
        peaks = []
        cell = self._cell_size(feature, geometries[0].output_size)
        for index, geom in enumerate(geometries):
            score_map = scores[index] if image_shape is None else self._enlarged_scores(scores[index], geom, cell,
                                                                                          image_shape)
            peaks.append(find_peaks(score_map, self._neighbourhood(geom, cell)))
        penalty = s.scale_penalty
        best = int(np.argmax([p.score * (1.0 if f == 1.0 else penalty) for p, f in zip(peaks, factors)]))
        peak, geom = peaks[best], geometries[best]
        to_image = lambda pt: geom.to_image(self.classifier.output_to_patch(np.asarray(pt), cell))  # noqa: E731
        pos1 = to_image(peak.position)
        not_found = s.target_not_found_threshold
        if peak.score < not_found:
            return best, self.pos.copy(), "not_found", peak
        if peak.second_score > not_found and peak.second_score > s.distractor_threshold * peak.score:
            pos2 = to_image(peak.second_position)
            threshold = s.displacement_scale * math.sqrt(float(np.prod(self.target_sz))) / 2
            expected = self.pos + self.velocity
            near1 = np.linalg.norm(pos1 - expected) < threshold
            near2 = np.linalg.norm(pos2 - expected) < threshold
            if near2 and not near1:
                return best, pos2, "hard_negative", peak
            if near1 and not near2:
                return best, pos1, "hard_negative", peak
            return best, pos1, "uncertain", peak
        if peak.second_score > not_found and peak.second_score > s.hard_negative_threshold * peak.score:
            return best, pos1, "hard_negative", peak
        return best, pos1, "normal", peak

    def _gated(self, refined: RefinedBox, start_patch: np.ndarray, geom: PatchGeometry, pos: np.ndarray,
               size: np.ndarray, peak_score: float = math.inf,
               request: RefinementRequest | None = None) -> tuple[np.ndarray, np.ndarray, str]:
        """The new position and size after the refinement gate (``refinement_gate``), and the gate's verdict:
        ``'accepted'``, ``'accepted, home size'``, ``'accepted, size held'`` or the failed check. ``pos``/``size``:
        the classifier's. In order: the first-frame bias out (``calibration``), the gate's checks, the dead-bands, the
        flat sides held (``sharp_sides``), a size without evidence held (``evidenced_size``), the first frame's size
        if it scores as well (:meth:`_home_size`), the size rate; each is off unless its parameter is set."""
        fields = {"box": refined.box, "score": refined.score, "start_score": refined.start_score,
                  "sharpness": refined.size_sharpness, "held_score": refined.held_size_score}
        present = {name: value.reshape(-1).to(torch.float64) for name, value in fields.items() if value is not None}
        flat = torch.cat(list(present.values())).cpu().numpy()   # the frame's one device read
        read = dict(zip(present, np.split(flat, np.cumsum([v.numel() for v in present.values()])[:-1])))
        scored = "score" in read and "start_score" in read
        score = float(read["score"][0]) if scored else None
        start_score = float(read["start_score"][0]) if scored else None
        held_score = float(read["held_score"][0]) if "held_score" in read else None
        box_patch = read["box"]
        if self.bias is not None:
            box_patch = remove_bias(torch.from_numpy(box_patch), self.bias, torch.from_numpy(start_patch[2:])).numpy()
        reason = gate_reason(start_patch, box_patch, start_score, score, self.gate)
        box_img = geom.box_to_image(box_patch)
        if reason is not None or not (np.all(np.isfinite(box_img)) and np.all(box_img[2:] > 0)):
            if self.gate.enabled:
                self.size_hold = self.gate.reacquire_frames if self.size_hold > 0 else 0
            return pos, size, reason or "invalid"
        centre, new_size = deadbanded(pos, size, box_img[:2] + box_img[2:] / 2, box_img[2:], self.settings.refinement)
        new_size = sharp_sides(size, new_size, read.get("sharpness"), self.settings.refinement.size_min_sharpness)
        new_size = evidenced_size(size, new_size, score, held_score, self.settings.refinement.size_min_gain)
        home = False
        if self.settings.refinement.home_size and request is not None:
            new_size, home = self._home_size(request, centre, new_size)
        if self.size_hold > 0:
            self.size_hold -= 1
            return centre, size, "accepted, size held"
        if self.gate.enabled and peak_score < self.gate.size_min_peak:
            return centre, size, "accepted, size held (low peak)"
        # the tracker's size moves a fraction size_rate of the way (log space) towards the refined size
        rate = self.settings.refinement.size_rate
        return (centre, (new_size if rate == 1.0 else size * (new_size / size) ** rate),
                "accepted, home size" if home else "accepted")

    def _home_size(self, request: RefinementRequest, centre: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, bool]:
        """``(size, False)``, or ``(first frame's size, True)`` unless the estimator scores the box of ``size`` at
        least ``box_refinement_home_min_gain`` above the box of the first frame's size, both at ``centre`` (image
        pixels; one scoring pass of the two boxes). Unchanged for an estimator without scores."""
        score = getattr(self.estimator, "score", None)
        home = self.base_target_sz
        if score is None or np.allclose(size, home):
            return size, False
        state = request.state if request.state is not None else self.estimator.prepare(request.features,
                                                                                        request.geometry)
        boxes = np.stack([request.geometry.box_to_patch(np.r_[centre - s / 2, s]) for s in (size, home)])
        with torch.no_grad():
            values = score(state, torch.as_tensor(boxes, dtype=torch.float32, device=self.device))
        chosen, at_home = values.reshape(-1).double().cpu().numpy()
        gain = self.settings.refinement.home_min_gain
        if not np.isfinite(at_home) or (np.isfinite(chosen) and chosen - at_home >= gain):
            return size, False
        return home.copy(), True

    # --- one frame, in phases (a batched driver calls them for many trackers, see the class docstring) ----
    def crop_frame(self, image: np.ndarray) -> FrameWork:
        """Phase 1: the search patches ``[len(scale_factors), S, S, 3]`` around the previous position."""
        t0 = time.perf_counter()
        s = self.settings
        enlarge = lost_search_factor(self.lost_frames, s.lost_search_growth, s.lost_search_max, s.lost_search_delay)
        factors: tuple[float, ...] = self.scale_factors
        if enlarge > 1.0:
            # one patch at the normal image scale, covering ``enlarge`` times the normal region's side
            geometries = [self._enlarged_geometry(self._geometry(self.pos, self.target_sz), enlarge)]
            factors = (1.0,)
        else:
            centre = self.pos + self.velocity
            geometries = [self._geometry(centre, self.target_sz, f) for f in self.scale_factors]
        return FrameWork(image_shape=tuple(image.shape), geometries=geometries, patches=self._crop(image, geometries),
                         times=[t0, time.perf_counter()], factors=factors, enlarged=enlarge > 1.0)

    def localise_frame(self, frame: FrameWork, features: dict[str, torch.Tensor],
                       backbone_time: float = 0.0) -> RefinementRequest | None:
        """Phase 3 (after the backbone on ``frame.patches``): classifier scores, peak, flag; the refinement this
        frame asks for (None when the target is not found or there is no estimator)."""
        frame.times.append(time.perf_counter())   # backbone done
        frame.backbone_time = backbone_time
        frame.features = features
        feat = features[self.classifier_layer]
        frame.scores = self.classifier.score(feat)
        frame.best, frame.new_pos, frame.flag, frame.peak = self._localise(
            frame.scores, frame.geometries, feat, frame.factors, frame.image_shape if frame.enlarged else None)
        frame.times.append(time.perf_counter())   # classifier done
        if self.estimator is None or not self._may_refine(frame):
            return None
        best, geom = frame.best, frame.geometries[frame.best]
        start_patch = geom.box_to_patch(np.concatenate([frame.new_pos - self.target_sz / 2, self.target_sz]))
        return RefinementRequest(features={n: features[n][best:best + 1] for n in self.estimator_layers},
                                 geometry=geom, start_patch=start_patch)

    def _may_refine(self, frame: FrameWork) -> bool:
        """False while the target is judged lost (``not_found``), on an enlarged search patch, or, with the gate on,
        while the classifier's peak is below ``gate.min_peak``: the estimator is not run, the tracker keeps the
        classifier's position and the previous size, and after such frames the estimator's size waits for
        ``gate.reacquire_frames`` gated frames."""
        if frame.flag == "not_found" or frame.enlarged:
            return False
        return not (self.gate.enabled and frame.peak.score < self.gate.min_peak)

    def refine_frame(self, request: RefinementRequest) -> RefinedBox:
        """Phase 4, one sequence: the estimator's refinement of the request's start box (draws from
        ``self.generator``). A batched driver replaces this call by one pass for many trackers."""
        state = request.state = self.estimator.prepare(request.features, request.geometry)
        # on the host: each estimator moves it where it needs it (a CUDA graph copies it into its input)
        box_patch = torch.as_tensor(request.start_patch, dtype=torch.float32)
        return self.estimator.estimate(state, box_patch, self.refinement, self.generator)

    def finish_frame(self, frame: FrameWork, request: RefinementRequest | None, refined: RefinedBox | None) -> dict:
        """Phase 5: the refinement gate, the state clamp, the classifier's memory update; the frame's output."""
        best, flag, peak = frame.best, frame.flag, frame.peak
        geom = frame.geometries[best]
        feat = frame.features[self.classifier_layer]
        new_pos, new_sz = frame.new_pos, self.target_sz.copy()
        gate = None
        if not self._may_refine(frame):
            self.size_hold = self.gate.reacquire_frames if self.gate.enabled else 0
        elif refined is not None:
            new_pos, new_sz, gate = self._gated(refined, request.start_patch, geom, new_pos, new_sz, peak.score,
                                                request)
        elif self.estimator is None:
            new_sz = new_sz * self.scale_factors[best] ** self.settings.scale_damping
        t_refine = time.perf_counter()
        previous_pos = self.pos
        self.pos, self.target_sz = self._clamp_state(new_pos, new_sz, frame.image_shape)
        self.lost_frames = self.lost_frames + 1 if flag == "not_found" else 0
        found = flag in ("normal", "hard_negative") and not frame.enlarged
        max_shift = self.settings.velocity_max_shift * math.sqrt(float(np.prod(self.target_sz)))
        self.velocity = (updated_velocity(self.velocity, self.pos - previous_pos, self.settings.velocity_weight,
                                          max_shift) if found else np.zeros(2))

        # an enlarged patch's features have another shape than the memory's: no update from it
        if found:
            hard = flag == "hard_negative"
            centre_patch = geom.to_patch(self.pos)[None]
            label = self._label(centre_patch, self.target_sz * geom.scale, feat)[0]
            schedule = self.settings.classifier
            lr = schedule.hard_negative_learning_rate if hard else schedule.learning_rate
            self.classifier.add_sample(feat[best:best + 1], label, lr)
            if hard:
                self.cg_residuals = self.classifier.update(schedule.hard_negative_CG_iter)
            elif self.frame_num % max(1, schedule.train_skipping) == 0:
                self.cg_residuals = self.classifier.update(schedule.CG_iter)
        t_end = time.perf_counter()
        t0, t_patch, t_backbone, t_classify = frame.times[:4]
        self.timing = {
            "backbone": frame.backbone_time,
            "classifier": (t_classify - t_backbone) + (t_end - t_refine),
            "refinement": t_refine - t_classify,
            "rest": (t_patch - t0) + (t_backbone - t_patch - frame.backbone_time),
        }
        out: dict[str, Any] = {"target_bbox": self._box().tolist(), "flag": flag, "confidence": peak.score}
        if self.settings.debug > 0:
            out["debug"] = {
                "score_map": frame.scores[best].detach().cpu().numpy(),
                "scale_index": best,
                "search_enlarged": frame.enlarged,
                "peak_score": peak.score,
                "velocity": self.velocity.tolist(),
                "second_peak_score": peak.second_score,
                "refinement": None if refined is None else _refinement_debug(refined, geom),
                "refinement_gate": gate,
                # Gauss-Newton losses of the first-frame training, then the last CG update's residual norms
                "classifier_losses": list(self.classifier.init_losses),
                "cg_residuals": list(self.cg_residuals),
                "timing": dict(self.timing),
            }
        return out

    def _track(self, image: np.ndarray, info: dict) -> dict:
        """The phases in order for this one sequence (batch 1)."""
        frame = self.crop_frame(image)
        features = self.extractor.extract(frame.patches, graph=not frame.enlarged)
        request = self.localise_frame(frame, features, self.extractor.last_time)
        refined = None if request is None else self.refine_frame(request)
        return self.finish_frame(frame, request, refined)


@dataclass
class RefinementRequest:
    """What phase 4 needs of one frame: the estimator layers' maps of the chosen scale (batch 1), that patch's
    geometry and the start box ``[4]`` xywh (patch pixels: classifier position, previous size)."""

    features: dict[str, torch.Tensor]
    geometry: PatchGeometry
    start_patch: np.ndarray
    state: Any = None   # the estimator's frame state, once refine_frame made it (the home-size check scores with it)


@dataclass
class FrameWork:
    """One frame between the phases: its patches and geometries, then the backbone maps, the classifier's scores
    and verdict (``best`` scale, ``new_pos``, ``flag``, ``peak``); ``times``: perf_counter marks of the phases;
    ``factors``: the geometries' scale factors; ``enlarged``: one search patch enlarged while the target is lost."""

    image_shape: tuple[int, ...]
    geometries: list[PatchGeometry]
    patches: np.ndarray
    times: list[float]
    factors: tuple[float, ...] = (1.0,)
    enlarged: bool = False
    backbone_time: float = 0.0
    features: dict[str, torch.Tensor] = field(default_factory=dict)
    scores: Any = None
    best: int = 0
    new_pos: Any = None
    flag: str = "normal"
    peak: Any = None


def _refinement_debug(refined: RefinedBox, geom: PatchGeometry) -> dict[str, np.ndarray]:
    """Starting and final candidate boxes (image pixels) with their scores, for the debug panels."""
    to_image = lambda boxes: geom.box_to_image(boxes.cpu().numpy().astype(np.float64))  # noqa: E731
    return {"initial_boxes": None if refined.initial is None else to_image(refined.initial),
            "final_boxes": to_image(refined.candidates), "scores": refined.scores.cpu().numpy()}
