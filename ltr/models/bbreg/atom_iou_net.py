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

from typing import Sequence

import torch
from torch import Tensor, nn

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
        num_boxes = proposals.shape[1]
        boxes = xywh_to_xyxy(proposals.to(feat8.dtype))
        pooled8 = prroi_pool2d_batched(feat8 * modulation[0], boxes, TEST_POOL[0], 1.0 / STRIDES[0])
        pooled16 = prroi_pool2d_batched(feat16 * modulation[1], boxes, TEST_POOL[1], 1.0 / STRIDES[1])
        h8 = self.fc8_box(pooled8.flatten(0, 1))
        h16 = self.fc16_box(pooled16.flatten(0, 1))
        return torch.cat([h8, h16], dim=1).view(batch, num_boxes, -1)

    def predict_iou(self, modulation: Sequence[Tensor], iou_feat: Sequence[Tensor], proposals: Tensor) -> Tensor:
        """Scores ``[B, N]`` (unbounded) of candidate boxes ``proposals [B, N, 4]`` (xywh, image pixels)."""
        return self.predictor(self.pooled_box_features(modulation, iou_feat, proposals)).squeeze(-1)

    def forward(self, feat_ref: Sequence[Tensor], feat_test: Sequence[Tensor], bb_ref: Tensor,
                proposals: Tensor) -> Tensor:
        """``f(x, y)``: reference features + box ``[B, 4]``, test features, boxes ``[B, N, 4]`` -> ``[B, N]``."""
        modulation = self.get_modulation(feat_ref, bb_ref)
        return self.predict_iou(modulation, self.get_iou_feat(feat_test), proposals)
