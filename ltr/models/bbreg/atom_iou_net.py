"""The IoU-Net box estimator architecture of ATOM (Danelljan et al., CVPR 2019), used here as the EBM
``f(x, y)``: one unbounded scalar per candidate box.

Inputs are backbone features of a reference frame and a test frame at two levels, ``[stride 8, stride 16]``,
and boxes ``[x, y, w, h]`` in the (cropped) image's pixels.

Reference branch (once per target)::

    level 8 : conv3x3 -> PrRoIPool 3x3 of bb_ref -> conv3x3 valid (= fc)      -> r8  [B, hidden]
    level 16: conv3x3 -> PrRoIPool 1x1 of bb_ref                             -> r16 [B, hidden]
    modulation_l = conv1x1-BN-ReLU(concat(r8, r16))  for l in (8, 16)         -> [B, pred_input_dim[l], 1, 1]

Test branch (once per frame): two conv3x3 per level -> ``iou_feat_l [B, pred_input_dim[l], H_l, W_l]``.

Per box: ``pool_l = PrRoIPool(iou_feat_l * modulation_l, box)`` (5x5 at stride 8, 3x3 at stride 16);
``h_l = LinearBlock(pool_l)`` (``pred_inter_dim[l]`` features); ``score = Linear(concat(h_8, h_16))``.

All convs are Conv-BN-ReLU. PrRoIPool is differentiable in the box, so ``d score / d box`` exists
(Algorithm S1 refinement).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn

from ltr.models.layers.batchnorm_folding import fold_batchnorm_weights
from ltr.models.layers.blocks import LinearBlock, conv_bn_relu
from ltr.models.layers.prroi_pool import prroi_pool2d_batched

STRIDES = (8, 16)
REF_POOL = (3, 1)   # reference pooling size per level
TEST_POOL = (5, 3)  # candidate pooling size per level


def xywh_to_xyxy(boxes: Tensor) -> Tensor:
    """``[..., 4]`` (x, y, w, h) -> (x1, y1, x2, y2) with x2 = x + w."""
    return torch.cat([boxes[..., :2], boxes[..., :2] + boxes[..., 2:]], dim=-1)


def _pair(value: Sequence[int] | int, name: str) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    value = tuple(value)
    if len(value) != 2 or not all(isinstance(v, int) and v > 0 for v in value):
        raise ValueError(f"{name} must be a positive int or a pair of positive ints, got {value!r}")
    return value


class AtomIoUNet(nn.Module):
    """ATOM IoU-Net (see the module docstring).

    Args:
        input_dim: backbone channels ``(c_stride8, c_stride16)``.
        pred_input_dim: channels of the modulated test features per level.
        pred_inter_dim: width of the per-level fully connected layer.
        hidden_dim: width of the reference/test conv layers (ATOM: 256; the stride-8 reference conv uses half).
    """

    def __init__(self, input_dim: Sequence[int] = (128, 256), pred_input_dim: Sequence[int] = (256, 256),
                 pred_inter_dim: Sequence[int] = (256, 256), hidden_dim: int = 256) -> None:
        super().__init__()
        c8, c16 = _pair(input_dim, "input_dim")
        p8, p16 = _pair(pred_input_dim, "pred_input_dim")
        i8, i16 = _pair(pred_inter_dim, "pred_inter_dim")
        if not isinstance(hidden_dim, int) or hidden_dim < 2:
            raise ValueError(f"hidden_dim must be an int >= 2, got {hidden_dim!r}")
        ref8 = hidden_dim // 2
        # reference branch
        self.conv8_ref = conv_bn_relu(c8, ref8)
        self.fc8_ref = conv_bn_relu(ref8, hidden_dim, kernel_size=REF_POOL[0], padding=0)
        self.conv16_ref = conv_bn_relu(c16, hidden_dim)
        self.modulation8 = conv_bn_relu(2 * hidden_dim, p8, kernel_size=1)
        self.modulation16 = conv_bn_relu(2 * hidden_dim, p16, kernel_size=1)
        # test branch
        self.conv8_test = nn.Sequential(conv_bn_relu(c8, hidden_dim), conv_bn_relu(hidden_dim, p8))
        self.conv16_test = nn.Sequential(conv_bn_relu(c16, hidden_dim), conv_bn_relu(hidden_dim, p16))
        # per-box head
        self.fc8_box = LinearBlock(p8, i8, TEST_POOL[0])
        self.fc16_box = LinearBlock(p16, i16, TEST_POOL[1])
        self.predictor = nn.Linear(i8 + i16, 1)
        self.input_dim, self.pred_input_dim, self.pred_inter_dim = (c8, c16), (p8, p16), (i8, i16)
        self._init_weights()

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, (nn.BatchNorm2d, nn.BatchNorm1d)):
                nn.init.uniform_(module.weight)
                nn.init.zeros_(module.bias)

    @staticmethod
    def _check_features(features: Sequence[Tensor], name: str) -> tuple[Tensor, Tensor]:
        if len(features) != 2 or any(f.dim() != 4 for f in features):
            raise ValueError(f"{name} must be a list of two [B, C, H, W] maps (stride 8, stride 16)")
        return features[0], features[1]

    def get_modulation(self, feat_ref: Sequence[Tensor], bb_ref: Tensor) -> list[Tensor]:
        """Modulation vectors ``[[B, p8, 1, 1], [B, p16, 1, 1]]`` from reference features and box ``[B, 4]``."""
        feat8, feat16 = self._check_features(feat_ref, "feat_ref")
        if bb_ref.dim() != 2 or bb_ref.shape != (feat8.shape[0], 4):
            raise ValueError(f"bb_ref must be [B, 4] with B = {feat8.shape[0]}, got {tuple(bb_ref.shape)}")
        box = xywh_to_xyxy(bb_ref.to(feat8.dtype)).unsqueeze(1)  # [B, 1, 4]
        pooled8 = prroi_pool2d_batched(self.conv8_ref(feat8), box, REF_POOL[0], 1.0 / STRIDES[0])[:, 0]
        ref8 = self.fc8_ref(pooled8)  # [B, hidden, 1, 1]
        ref16 = prroi_pool2d_batched(self.conv16_ref(feat16), box, REF_POOL[1], 1.0 / STRIDES[1])[:, 0]
        joint = torch.cat([ref8, ref16], dim=1)
        return [self.modulation8(joint), self.modulation16(joint)]

    def get_iou_feat(self, feat_test: Sequence[Tensor]) -> list[Tensor]:
        """Test-branch features ``[[B, p8, H8, W8], [B, p16, H16, W16]]``."""
        feat8, feat16 = self._check_features(feat_test, "feat_test")
        return [self.conv8_test(feat8), self.conv16_test(feat16)]

    def pooled_box_features(self, modulation: Sequence[Tensor], iou_feat: Sequence[Tensor],
                            proposals: Tensor) -> Tensor:
        """Per-box joint features ``[B, N, i8 + i16]`` (shared by the score head and the regression head)."""
        feat8, feat16 = self._check_features(iou_feat, "iou_feat")
        batch = feat8.shape[0]
        if proposals.dim() != 3 or proposals.shape[0] != batch or proposals.shape[-1] != 4:
            raise ValueError(f"proposals must be [B, N, 4] with B = {batch}, got {tuple(proposals.shape)}")
        if modulation[0].shape[0] != batch:
            raise ValueError(f"modulation has batch {modulation[0].shape[0]}, iou_feat has {batch}")
        boxes = xywh_to_xyxy(proposals.to(feat8.dtype))
        pooled8 = prroi_pool2d_batched(feat8 * modulation[0], boxes, TEST_POOL[0], 1.0 / STRIDES[0])
        pooled16 = prroi_pool2d_batched(feat16 * modulation[1], boxes, TEST_POOL[1], 1.0 / STRIDES[1])
        return self._box_head(pooled8, pooled16)

    def _box_head(self, pooled8: Tensor, pooled16: Tensor) -> Tensor:
        """Pooled modulated features ``[B, N, C, P, P]`` per level -> per-box joint features ``[B, N, i8 + i16]``."""
        batch, num_boxes = pooled8.shape[:2]
        h8 = self.fc8_box(pooled8.flatten(0, 1))
        h16 = self.fc16_box(pooled16.flatten(0, 1))
        return torch.cat([h8, h16], dim=1).view(batch, num_boxes, -1)

    def pool_boxes(self, iou_feat: Sequence[Tensor], proposals: Tensor) -> list[Tensor]:
        """Unmodulated pooled test-branch features ``[[B, N, p8, P8, P8], [B, N, p16, P16, P16]]`` of boxes
        ``proposals [B, N, 4]`` (xywh): the modulation is a per-channel factor and pooling is linear, so
        ``pool(feat * m) = pool(feat) * m`` and many modulations can be scored on boxes pooled once
        (:meth:`predict_iou_pooled`)."""
        feat8, feat16 = self._check_features(iou_feat, "iou_feat")
        boxes = xywh_to_xyxy(proposals.to(feat8.dtype))
        return [prroi_pool2d_batched(feat8, boxes, TEST_POOL[0], 1.0 / STRIDES[0]),
                prroi_pool2d_batched(feat16, boxes, TEST_POOL[1], 1.0 / STRIDES[1])]

    def predict_iou_pooled(self, modulation: Sequence[Tensor], pooled: Sequence[Tensor]) -> Tensor:
        """Scores ``[B, N]`` of boxes pooled by :meth:`pool_boxes`, with modulation ``[[B or 1, C, 1, 1], ...]``
        (equal to :meth:`predict_iou` up to float rounding)."""
        joint = self._box_head(pooled[0] * modulation[0][:, None], pooled[1] * modulation[1][:, None])
        return self.predictor(joint).squeeze(-1)

    def predict_iou(self, modulation: Sequence[Tensor], iou_feat: Sequence[Tensor], proposals: Tensor) -> Tensor:
        """Scores ``[B, N]`` (unbounded) of candidate boxes ``proposals [B, N, 4]`` (xywh, image pixels)."""
        return self.predictor(self.pooled_box_features(modulation, iou_feat, proposals)).squeeze(-1)

    def forward(self, feat_ref: Sequence[Tensor], feat_test: Sequence[Tensor], bb_ref: Tensor,
                proposals: Tensor) -> Tensor:
        """``f(x, y)``: reference features + box ``[B, 4]``, test features, boxes ``[B, N, 4]`` -> ``[B, N]``."""
        modulation = self.get_modulation(feat_ref, bb_ref)
        return self.predict_iou(modulation, self.get_iou_feat(feat_test), proposals)


# --- inference fast path ----------------------------------------------------------------------------------------


def _conv_window(x: Tensor, layers: Sequence[tuple[Tensor, Tensor]], rows: tuple[int, int],
                 cols: tuple[int, int]) -> Tensor:
    """A stack of 3x3 'same' conv(+folded BN)+ReLU layers evaluated only on the output window
    ``rows x cols`` (half-open, inside the map) of ``x [1, C, H, W]``; equal to the full-map result there.

    Every layer's zero padding is reproduced: a layer's input outside the map is zero, not the previous layer
    applied to padding."""
    height, width = x.shape[-2:]
    depth = len(layers)
    # window of layer k's output (k = depth - 1 is the final output), clipped to the map
    windows = []
    for k in range(depth):
        margin = depth - 1 - k
        windows.append((max(rows[0] - margin, 0), min(rows[1] + margin, height),
                        max(cols[0] - margin, 0), min(cols[1] + margin, width)))
    r0, r1, c0, c1 = max(windows[0][0] - 1, 0), min(windows[0][1] + 1, height), \
        max(windows[0][2] - 1, 0), min(windows[0][3] + 1, width)
    out = x[..., r0:r1, c0:c1]
    have = (r0, r1, c0, c1)
    for k, (weight, bias) in enumerate(layers):
        want = windows[k]
        # zero rows/cols standing for the map's padding: the input must cover want +- 1
        pad = (have[2] - (want[2] - 1), (want[3] + 1) - have[3], have[0] - (want[0] - 1), (want[1] + 1) - have[1])
        out = torch.nn.functional.pad(out, pad) if any(pad) else out
        out = torch.relu_(torch.nn.functional.conv2d(out, weight, bias))
        have = want
    return out


class AtomIoUNetInference:
    """Inference-only evaluation of an eval-mode :class:`AtomIoUNet`'s score and its gradient w.r.t. the boxes,
    numerically equal (float rounding aside) to ``predict_iou`` + autograd, but much cheaper per box set:

    * eval-mode BatchNorm folded into the preceding conv/linear (copies; the network is not modified);
    * test-branch convs evaluated only on a window of the map that covers the boxes' pooling support, grown
      (recomputed) when a box leaves it -- the window is exact, not an approximation;
    * PrRoIPool restricted to that window (``pooled = B F A^T`` with the hat-integral weights ``A``, ``B`` over the
      window's cells only, the window's features kept in the two layouts the two products need);
    * the backward pass written out (a few small matrix products per level), no autograd graph.

    With ``full_map=True`` the modulated maps are computed once per frame in ``prepare`` over the whole map (on a GPU
    this is cheap): tensor shapes then no longer depend on the boxes and ``score_and_grad`` reads no host value, so a
    CUDA graph can capture ``prepare`` + the refinement. The windowed default pays off on the CPU.

    Snapshot semantics: built from the network's current weights; rebuild it after changing them.
    ``prepare(feat_test)`` -> frame state; ``score_and_grad(state, boxes_xywh [N, 4], need_grad)`` ->
    (scores ``[N]``, ``d score / d box`` ``[N, 4]`` xywh or None). Batch 1 only.
    """

    def __init__(self, net: AtomIoUNet, modulation: Sequence[Tensor], window_margin: int = 2,
                 full_map: bool = False) -> None:
        if net.training:
            raise ValueError("AtomIoUNetInference needs an eval-mode network (BatchNorm folding)")
        if not isinstance(window_margin, int) or window_margin < 0:
            raise ValueError(f"window_margin must be an int >= 0, got {window_margin!r}")
        self.window_margin = window_margin
        self.full_map = bool(full_map)
        self._full_map_constants: dict[tuple, tuple[Tensor, Tensor]] = {}
        with torch.no_grad():
            self.convs = [[fold_batchnorm_weights(block[0].weight, block[0].bias, block[1], "divide") for block in seq]
                          for seq in (net.conv8_test, net.conv16_test)]
            # the same weights channels-last, for channels-last features (the tracker's CPU backbone pass): oneDNN
            # would otherwise reorder the weights on every call
            self.convs_channels_last = [[(w.contiguous(memory_format=torch.channels_last), b) for w, b in layers]
                                        for layers in self.convs]
            self.modulation = [m.detach().reshape(1, -1, 1, 1).clone() for m in modulation]
            self.linear = []
            for fc, pool, channels in ((net.fc8_box, TEST_POOL[0], net.pred_input_dim[0]),
                                       (net.fc16_box, TEST_POOL[1], net.pred_input_dim[1])):
                weight, bias = fold_batchnorm_weights(fc.linear.weight, fc.linear.bias, fc.bn, "divide")
                # (c, p, q) flatten order (p: row bin, q: column bin) -> (q, p, c), the order of the pooled bins
                weight = weight.view(-1, channels, pool, pool).permute(0, 3, 2, 1).reshape(weight.shape[0], -1)
                # both layouts kept contiguous: ``pooled @ W^T`` and ``g @ W`` each read their operand row-major
                self.linear.append((weight.contiguous(), weight.t().contiguous(), bias))
            dtype, device = net.predictor.weight.dtype, net.predictor.weight.device
            self.steps = [torch.arange(pool + 1, dtype=dtype, device=device) / pool for pool in TEST_POOL]
            # both levels at once: [2, 1, 1, max P + 1] steps (a shorter level padded with 1: extra edges = hi, unused),
            # [2, 1, 1] scales, [2, 1] P^2
            longest = max(TEST_POOL) + 1
            self.joint_steps = torch.stack([torch.cat([st, st.new_ones(longest - st.numel())]) for st in self.steps]
                                           ).view(2, 1, 1, longest)
            self.joint_scales = torch.tensor([1.0 / s for s in STRIDES], dtype=dtype, device=device).view(2, 1, 1)
            self.joint_bins = torch.tensor([float(p * p) for p in TEST_POOL], dtype=dtype, device=device).view(2, 1)
            # edge e of the bin axis gets dA[e - 1] - dA[e] (A[q] = K(x_{q+1} - .) - K(x_q - .)): [P + 1, P]
            self.edge_diff = []
            for pool in TEST_POOL:
                diff = torch.zeros(pool + 1, pool, dtype=dtype, device=device)
                diff[1:] += torch.eye(pool, dtype=dtype, device=device)
                diff[:-1] -= torch.eye(pool, dtype=dtype, device=device)
                self.edge_diff.append(diff)
            pred = net.predictor.weight.detach()[0]
            inter8 = net.pred_inter_dim[0]
            self.pred_weights = [pred[:inter8].clone(), pred[inter8:].clone()]
            self.pred_bias = net.predictor.bias.detach().clone()
            self.zero = torch.zeros((), dtype=dtype, device=device)   # ``where``'s other branch, no scalar wrapping

    def prepare(self, feat_test: Sequence[Tensor], modulation: Sequence[Tensor] | None = None) -> dict:
        """Frame state of backbone features ``[stride 8, stride 16]`` (batch 1); the convs run lazily, or here over
        the whole map with ``full_map``. ``modulation``: another target's vectors ``[[1, p8, 1, 1], [1, p16, 1, 1]]``
        for this frame (full_map only; a batched caller maps this over many targets), default the snapshot's."""
        feat8, feat16 = AtomIoUNet._check_features(feat_test, "feat_test")
        if feat8.shape[0] != 1:
            raise ValueError(f"AtomIoUNetInference handles batch 1, got {feat8.shape[0]}")
        state = {"features": [feat8, feat16], "windows": [None, None], "maps": [None, None], "origins": [None, None]}
        if modulation is not None and not self.full_map:
            raise ValueError("prepare(modulation=...) needs full_map=True (the windowed maps are built lazily)")
        if self.full_map:
            key = (feat8.shape[-2:], feat16.shape[-2:], feat8.device, feat8.dtype)
            if key not in self._full_map_constants:   # built on the first frame, before any graph capture
                cells = max(*feat8.shape[-2:], *feat16.shape[-2:])
                # made from dtype and device only: plain tensors even when feat8 is a vmap-batched one
                self._full_map_constants[key] = (torch.zeros(2, 1, 4, dtype=feat8.dtype, device=feat8.device),
                                                 torch.arange(cells, dtype=feat8.dtype, device=feat8.device))
            origins, cells = self._full_map_constants[key]
            for level, feat in enumerate((feat8, feat16)):
                height, width = feat.shape[-2:]
                state["maps"][level] = self._modulated_layouts(feat, level, (0, height, 0, width),
                                                               None if modulation is None else modulation[level]
                                                               ) + (None, None)
                state["windows"][level] = (0, height, 0, width)
            state["joint"] = (list(state["windows"]), origins, cells)
        return state

    def _modulated_layouts(self, feat: Tensor, level: int, window: tuple[int, int, int, int],
                           modulation: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """The modulated test features on ``window`` (rows, cols half-open) as ``[Ww, Hw * C]`` (w, h, c) and
        ``[Hw, C * Ww]`` (h, c, w); ``modulation`` ``[1, C, 1, 1]`` (default the snapshot's)."""
        modulation = self.modulation[level] if modulation is None else modulation.reshape(1, -1, 1, 1)
        channels_last = (feat.device.type == "cpu" and not torch._C._functorch.is_batchedtensor(feat)   # (vmap cannot
                         and feat.is_contiguous(memory_format=torch.channels_last))              # ask a layout)
        layers = (self.convs_channels_last if channels_last else self.convs)[level]
        out = (_conv_window(feat, layers, window[:2], window[2:]) * modulation)[0]
        channels, rows, cols = out.shape
        return (out.permute(2, 1, 0).reshape(cols, rows * channels).contiguous(),
                out.permute(1, 0, 2).reshape(rows, channels * cols).contiguous())

    def _window_maps(self, state: dict, level: int, bounds: Sequence[float], like: Tensor
                     ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Modulated test features on a window covering the support of boxes whose union is ``bounds``
        ``(x1, y1, x2, y2)`` (in cells of level ``level``), as ``[Ww, Hw * C]`` (w, h, c) and ``[Hw, C * Ww]``
        (h, c, w), the window's origin as an ``[4]`` offset ``(col, row, col, row)`` to subtract from the boxes, and
        the cell indices ``0 .. max(Hw, Ww) - 1``. Non-finite bounds get the whole map."""
        feat = state["features"][level]
        height, width = feat.shape[-2:]
        x1, y1, x2, y2 = bounds
        if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
            x1, y1, x2, y2 = 0.0, 0.0, float(width), float(height)
        # cells with non-zero weight lie in (x1 - 1, x2 + 1); take floor/ceil with one cell to spare
        need = (max(math.floor(y1) - 1, 0), min(math.ceil(y2) + 2, height),
                max(math.floor(x1) - 1, 0), min(math.ceil(x2) + 2, width))
        need = (min(need[0], height - 1), max(need[1], need[0] + 1), min(need[2], width - 1), max(need[3], need[2] + 1))
        have = state["windows"][level]
        if have is None or need[0] < have[0] or need[1] > have[1] or need[2] < have[2] or need[3] > have[3]:
            m = self.window_margin
            if have is not None:
                need = (min(need[0], have[0]), max(need[1], have[1]), min(need[2], have[2]), max(need[3], have[3]))
            window = (max(need[0] - m, 0), min(need[1] + m, height), max(need[2] - m, 0), min(need[3] + m, width))
            rows, cols = window[1] - window[0], window[3] - window[2]
            state["maps"][level] = (*self._modulated_layouts(feat, level, window),
                                    like.new_tensor([window[2], window[0], window[2], window[0]]),
                                    torch.arange(max(rows, cols), dtype=like.dtype, device=like.device))
            state["windows"][level] = window
        return state["maps"][level]

    def score_and_grad(self, state: dict, boxes_xywh: Tensor, need_grad: bool = True
                       ) -> tuple[Tensor, Tensor | None]:
        """Scores ``[N]`` of boxes ``[N, 4]`` xywh (image pixels) and, if ``need_grad``, their gradient
        ``[N, 4]`` w.r.t. ``(x, y, w, h)`` (both in the network's dtype).

        Per level (pool ``P``, window ``Hw x Ww``): ``R1 = A F`` ``[N, P(q), Hw, C]``, ``bins = B R1``
        ``[N, P(q), P(p), C]``, ``score = w . relu((W bins) norm + b)``. Backward: ``G = dscore/dbins``;
        ``dA = G . (B F)``, ``dB = G . R1``; edge ``e`` of the x axis gets ``sum_w k(x_e - w) (dA[e-1, w] - dA[e, w])``
        (``A[q] = K(x_{q+1} - .) - K(x_q - .)``), same for y; ``norm = P^2 / (ext_x ext_y)`` adds its own term
        (``d norm / d ext_x = -norm / ext_x = -norm^2 ext_y / P^2``). With ``x2 = x + w``: ``d/dx = d/dx1 + d/dx2``
        = the sum over the edges, ``d/dw = d/dx2`` = the extent term.

        Both levels and both axes share one window check and one kernel evaluation (tensors ``[2 (level), N,
        2 (axis), P + 1, S]``, cells ``0 .. S - 1`` covering both windows); the rest is a handful of matrix products
        per level."""
        dtype = self.pred_bias.dtype
        num_boxes = boxes_xywh.shape[0]
        boxes = boxes_xywh.to(dtype)
        xyxy = torch.cat([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], dim=1)
        score = self.pred_bias.expand(num_boxes)
        if self.full_map:     # maps of the whole map from prepare: no host value read
            maps = state["maps"]
        else:
            # union of the boxes, once for both levels (scaling by 1/8, 1/16 is exact, so it commutes with min/max)
            union = torch.cat([xyxy[:, :2].amin(0), xyxy[:, 2:].amax(0)]).tolist()
            maps = [self._window_maps(state, level, [v / STRIDES[level] for v in union], boxes) for level in range(2)]
        joint = state.get("joint")
        if joint is None or joint[0] != state["windows"]:
            joint = state["joint"] = (list(state["windows"]), torch.stack([maps[0][2], maps[1][2]]).view(2, 1, 4),
                                      max(maps[0][3], maps[1][3], key=len))
        _, origins, cells = joint
        # both levels, both axes at once: [2 (level), N, 2 (x, y), ...]
        local = xyxy * self.joint_scales - origins                          # [2, N, 4]
        lo_all, hi_all = local[..., :2], local[..., 2:]
        extent_all = (hi_all - lo_all).clamp(min=0.0)                       # [2, N, 2]
        edges = lo_all.unsqueeze(-1) + extent_all.unsqueeze(-1) * self.joint_steps   # [2, N, 2, E]
        # K(t) = 0.5 + t - t |t| / 2 and k(t) = 1 - |t| on t = clamp(edge - cell, -1, 1)
        offset = (edges.unsqueeze(-1) - cells).clamp(-1.0, 1.0)            # [2, N, 2, E, S]
        magnitude = offset.abs()
        big = (1.0 - 0.5 * magnitude).mul_(offset)
        weights_all = big[..., 1:, :] - big[..., :-1, :]                   # [2, N, 2, E - 1, S] (the 0.5 cancels)
        area = extent_all[..., 0] * extent_all[..., 1]                      # [2, N]
        norm_all = torch.where(area > 0, self.joint_bins / area, self.zero)
        if need_grad:
            slope_all = magnitude.neg_().add_(1.0)                          # k [2, N, 2, E, S]
            grad_edges_all = boxes.new_zeros(2, num_boxes, 2, edges.shape[-1])   # a shorter level's extra edges stay 0
            grad_norm_all = boxes.new_empty(2, num_boxes)
        for level in range(2):
            pool = TEST_POOL[level]
            map_w, map_h = maps[level][:2]
            rows, cols = map_h.shape[0], map_w.shape[0]
            channels = map_h.shape[1] // cols
            weights_x = weights_all[level, :, 0, :pool, :cols]              # A [N, P, Ww]
            weights_y = weights_all[level, :, 1, :pool, :rows]              # B [N, P, Hw]
            by_cols = (weights_x.reshape(-1, cols) @ map_w).view(num_boxes, pool, rows, channels)   # R1
            bins = torch.matmul(weights_y.unsqueeze(1), by_cols)           # [N, P(q), P(p), C]
            norm = norm_all[level].view(-1, 1)
            weight, weight_t, bias = self.linear[level]
            # the normalisation applied after the product, on [N, H] rather than on the [N, P * P * C] bins
            linear = bins.view(num_boxes, -1) @ weight_t                   # W bins [N, H]
            hidden = torch.addcmul(bias, linear, norm)                      # W (bins * norm) + b
            score = torch.addmv(score, torch.relu(hidden), self.pred_weights[level])
            if not need_grad:
                continue
            grad_hidden = torch.where(hidden > 0, self.pred_weights[level], self.zero)   # [N, H]
            # d score / d norm = g . (W bins); slice assignment rather than ``out=`` (same kernel; torch.compile
            # cannot trace a strided ``out``)
            grad_norm_all[level] = torch.linalg.vecdot(grad_hidden, linear)
            grad_bins = ((grad_hidden * norm) @ weight).view_as(bins)      # [N, q, p, C]
            by_rows = (weights_y.reshape(-1, rows) @ map_h).view(num_boxes, pool * channels, cols)   # B F [N, (p, c), Ww]
            grad_wx = torch.bmm(grad_bins.view(num_boxes, pool, pool * channels), by_rows)       # dA [N, P(q), Ww]
            grad_wy = torch.bmm(grad_bins.view(num_boxes * pool, pool, channels),                # dB [N, P(p), Hw]
                                by_cols.view(num_boxes * pool, rows, channels).transpose(1, 2))
            grad_wy = grad_wy.view(num_boxes, pool, pool, rows).sum(1)
            diff = self.edge_diff[level]
            slope = slope_all[level, :, :, :pool + 1]                       # k [N, 2, P + 1, S]
            grad_edges_all[level, :, 0, :pool + 1] = torch.linalg.vecdot(diff @ grad_wx, slope[:, 0, :, :cols])
            grad_edges_all[level, :, 1, :pool + 1] = torch.linalg.vecdot(diff @ grad_wy, slope[:, 1, :, :rows])
        if not need_grad:
            return score, None
        # edges = lo + extent * steps; norm = P^2 / (ext_x ext_y); both levels at once
        grad_extent = (grad_edges_all * self.joint_steps).sum(-1) \
            - extent_all.flip(-1) * (grad_norm_all * norm_all.square() / self.joint_bins).unsqueeze(-1)
        grad_extent = torch.where(hi_all >= lo_all, grad_extent, self.zero)
        level_grad = torch.cat([grad_edges_all.sum(-1), grad_extent], dim=-1)   # d/d(x, y, w, h) in cells [2, N, 4]
        return score, (level_grad * self.joint_scales).sum(0)
