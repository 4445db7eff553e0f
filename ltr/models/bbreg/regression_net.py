"""Direct box regression head on the IoU-Net features (baselines of the seed's comparison table:
L2/L1 regression, Gaussian NLL, Laplace NLL).

``BoxRegressionNet`` shares :class:`AtomIoUNet`'s reference branch, test branch, modulation and per-box pooling;
instead of one score it predicts, for each initial box ``y0`` (e.g. the previous/jittered box), the offset of
the target in relative space and a per-dimension log-variance (or log-scale)::

    offset = rel(target) - rel(y0),   rel(cx, cy, w, h) = (cx / w0, cy / h0, log w, log h),  (w0, h0) = y0's size
           = ((cx_t - cx_0) / w0, (cy_t - cy_0) / h0, log(w_t / w0), log(h_t / h0))

``predict(modulation, iou_feat, init_boxes [B, N, 4]) -> (mean [B, N, 4], log_var [B, N, 4])``. For L2/L1 losses
use ``mean`` only; for Gaussian NLL ``log_var`` is log sigma^2; for Laplace NLL interpret it as log b.
:func:`apply_offset` maps the predicted mean back to an xywh box.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from ltr.models.bbreg.atom_iou_net import AtomIoUNet


def apply_offset(init_boxes: Tensor, offset: Tensor) -> Tensor:
    """xywh boxes ``[..., 4]`` moved by relative-space offsets ``[..., 4]`` (inverse of the offset formula)."""
    w0, h0 = init_boxes[..., 2], init_boxes[..., 3]
    cx = init_boxes[..., 0] + 0.5 * w0 + offset[..., 0] * w0
    cy = init_boxes[..., 1] + 0.5 * h0 + offset[..., 1] * h0
    w, h = w0 * offset[..., 2].exp(), h0 * offset[..., 3].exp()
    return torch.stack([cx - 0.5 * w, cy - 0.5 * h, w, h], dim=-1)


class BoxRegressionNet(AtomIoUNet):
    """IoU-Net trunk + linear head -> (mean offset [4], log variance [4]) per initial box."""

    def __init__(self, input_dim: Sequence[int] = (128, 256), pred_input_dim: Sequence[int] = (256, 256),
                 pred_inter_dim: Sequence[int] = (256, 256), hidden_dim: int = 256) -> None:
        super().__init__(input_dim, pred_input_dim, pred_inter_dim, hidden_dim)
        del self.predictor
        self.regressor = nn.Linear(sum(self.pred_inter_dim), 8)
        nn.init.normal_(self.regressor.weight, std=1e-3)  # start near offset 0, log_var 0
        nn.init.zeros_(self.regressor.bias)

    def predict_iou(self, modulation, iou_feat, proposals):  # type: ignore[override]
        raise ValueError("BoxRegressionNet has no score head; use predict()")

    def predict(self, modulation: Sequence[Tensor], iou_feat: Sequence[Tensor],
                init_boxes: Tensor) -> tuple[Tensor, Tensor]:
        """``init_boxes [B, N, 4]`` xywh -> ``(mean [B, N, 4], log_var [B, N, 4])`` in relative space."""
        out = self.regressor(self.pooled_box_features(modulation, iou_feat, init_boxes))
        return out[..., :4], out[..., 4:]

    def forward(self, feat_ref: Sequence[Tensor], feat_test: Sequence[Tensor], bb_ref: Tensor,
                proposals: Tensor) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        """Same inputs as :meth:`AtomIoUNet.forward`; ``proposals`` are the initial boxes."""
        modulation = self.get_modulation(feat_ref, bb_ref)
        return self.predict(modulation, self.get_iou_feat(feat_test), proposals)
