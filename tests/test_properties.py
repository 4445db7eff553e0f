"""Property-based tests (hypothesis) of the box utilities and of Algorithm S1 refinement."""
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ebm.boxes import (box_iou, cxcywh_to_xywh, rel_to_xywh, xywh_to_cxcywh, xywh_to_rel, xywh_to_xyxy,
                       xyxy_to_xywh)
from ebm.refinement import refine

coord = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)
size = st.floats(1e-2, 1e4, allow_nan=False, allow_infinity=False)
box = st.tuples(coord, coord, size, size)
FAST = settings(max_examples=60, deadline=None)


@FAST
@given(box)
def test_conversions_round_trip(b):
    t = torch.tensor([b], dtype=torch.float64)
    assert torch.allclose(xyxy_to_xywh(xywh_to_xyxy(t)), t, rtol=1e-9, atol=1e-6)
    assert torch.allclose(cxcywh_to_xywh(xywh_to_cxcywh(t)), t, rtol=1e-9, atol=1e-6)


@FAST
@given(box, st.tuples(size, size))
def test_relative_space_round_trip_and_positive_sizes(b, ref):
    t = torch.tensor([b], dtype=torch.float64)
    ref_wh = torch.tensor(ref, dtype=torch.float64)
    rel = xywh_to_rel(t, ref_wh)
    assert torch.isfinite(rel).all()
    back = rel_to_xywh(rel, ref_wh)
    assert torch.allclose(back, t, rtol=1e-7, atol=1e-6)
    assert (back[..., 2:] > 0).all()


@FAST
@given(box, box)
def test_iou_bounds_symmetry_and_identity(a, b):
    ta = torch.tensor(a, dtype=torch.float64)
    tb = torch.tensor(b, dtype=torch.float64)
    iou = box_iou(ta, tb)
    assert 0.0 <= float(iou) <= 1.0
    assert float(iou) == float(box_iou(tb, ta))
    assert abs(float(box_iou(ta, ta)) - 1.0) < 1e-9


@FAST
@given(st.integers(1, 3), st.integers(1, 6), st.integers(0, 2**31 - 1),
       st.floats(1e-4, 10.0), st.floats(0.0, 1.0), st.integers(0, 12))
def test_refinement_never_nan_never_worse_never_non_positive_size(batch, num, seed, step, decay, iters):
    """On a bumpy, partly flat score over relative-space boxes: finite, monotone, positive sizes."""
    gen = torch.Generator().manual_seed(seed)
    centre = torch.randn(batch, 1, 4, generator=gen, dtype=torch.float64)
    freq = torch.rand(4, generator=gen, dtype=torch.float64) * 5

    def score_fn(y):
        # concave bowl + ripples + a plateau where the gradient vanishes
        bowl = -((y - centre) ** 2).sum(-1)
        ripples = torch.sin(freq * y).sum(-1)
        return torch.clamp(bowl + ripples, min=-50.0)

    y0 = centre + 3 * torch.randn(batch, num, 4, generator=gen, dtype=torch.float64)
    start = score_fn(y0)
    result = refine(score_fn, y0, step_length=torch.tensor([step, step, step / 5, step / 5]),
                    num_iter=iters, decay=decay)
    assert torch.isfinite(result.y).all() and torch.isfinite(result.score).all()
    assert (result.score >= start - 1e-12).all()
    assert torch.allclose(result.score, score_fn(result.y))
    boxes = rel_to_xywh(result.y, torch.tensor([40.0, 30.0], dtype=torch.float64))
    assert (boxes[..., 2:] > 0).all()
