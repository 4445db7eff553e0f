"""Box conversions, relative space and IoU (ebm.boxes)."""
import math

import pytest
import torch

from ebm import boxes as B


def _random_xywh(shape, generator):
    xy = torch.rand(*shape, 2, generator=generator, dtype=torch.float64) * 100 - 20
    wh = torch.rand(*shape, 2, generator=generator, dtype=torch.float64) * 50 + 0.5
    return torch.cat([xy, wh], dim=-1)


def test_hand_conversions():
    box = torch.tensor([10.0, 20.0, 30.0, 40.0])
    assert torch.equal(B.xywh_to_xyxy(box), torch.tensor([10.0, 20.0, 40.0, 60.0]))
    assert torch.equal(B.xywh_to_cxcywh(box), torch.tensor([25.0, 40.0, 30.0, 40.0]))
    assert torch.equal(B.xyxy_to_cxcywh(torch.tensor([10.0, 20.0, 40.0, 60.0])), torch.tensor([25.0, 40.0, 30.0, 40.0]))
    assert torch.equal(B.cxcywh_to_xyxy(torch.tensor([25.0, 40.0, 30.0, 40.0])), torch.tensor([10.0, 20.0, 40.0, 60.0]))
    rel = B.xywh_to_rel(box, torch.tensor([50.0, 80.0]))
    expected = torch.tensor([25.0 / 50.0, 40.0 / 80.0, math.log(30.0), math.log(40.0)])
    assert torch.allclose(rel, expected)


def test_round_trips():
    gen = torch.Generator().manual_seed(1)
    boxes = _random_xywh((7, 3), gen)
    assert torch.allclose(B.xyxy_to_xywh(B.xywh_to_xyxy(boxes)), boxes)
    assert torch.allclose(B.cxcywh_to_xywh(B.xywh_to_cxcywh(boxes)), boxes)
    assert torch.allclose(B.xyxy_to_cxcywh(B.cxcywh_to_xyxy(boxes)), boxes)
    assert torch.allclose(B.cxcywh_to_xywh(B.xyxy_to_cxcywh(B.xywh_to_xyxy(boxes))), boxes)


def test_rel_round_trip_with_broadcast_reference():
    gen = torch.Generator().manual_seed(2)
    boxes = _random_xywh((5, 6), gen)  # [B, N, 4]
    ref_wh = torch.rand(5, 1, 2, generator=gen, dtype=torch.float64) * 40 + 1  # one reference per batch item
    rel = B.xywh_to_rel(boxes, ref_wh)
    assert rel.shape == boxes.shape
    assert torch.allclose(B.rel_to_xywh(rel, ref_wh), boxes, atol=1e-10)
    # the reference only scales the centre
    assert torch.allclose(rel[..., 2:], torch.log(boxes[..., 2:]))
    assert torch.allclose(rel[..., 0] * ref_wh[..., 0], boxes[..., 0] + boxes[..., 2] / 2)
    # decoded sizes are always positive
    assert (B.rel_to_xywh(torch.randn(10, 4, dtype=torch.float64) * 5, torch.tensor([3.0, 4.0]))[..., 2:] > 0).all()


def test_box_iou_hand_cases():
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0]] * 6)
    b = torch.tensor(
        [
            [0.0, 0.0, 2.0, 2.0],  # identical
            [1.0, 0.0, 2.0, 2.0],  # half overlap: 2 / 6
            [5.0, 5.0, 1.0, 1.0],  # disjoint
            [2.0, 0.0, 2.0, 2.0],  # touching edge
            [0.5, 0.5, 1.0, 1.0],  # contained: 1 / 4
            [1.0, 1.0, 0.0, 0.0],  # zero area inside
        ]
    )
    iou = B.box_iou(a, b)
    assert torch.allclose(iou, torch.tensor([1.0, 1.0 / 3.0, 0.0, 0.0, 0.25, 0.0]))
    zero = torch.zeros(4)
    assert B.box_iou(zero, zero).item() == 0.0  # two empty boxes: 0, not NaN


def test_box_iou_broadcasts_and_is_symmetric():
    gen = torch.Generator().manual_seed(3)
    a = _random_xywh((3, 1), gen)
    b = _random_xywh((5,), gen)
    iou = B.box_iou(a, b)
    assert iou.shape == (3, 5)
    assert torch.allclose(iou, B.box_iou(b, a))
    assert ((iou >= 0) & (iou <= 1)).all()
    assert torch.allclose(B.box_iou(b, b), torch.ones(5, dtype=torch.float64))


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="boxes"):
        B.xywh_to_xyxy(torch.zeros(3, 5))
    with pytest.raises(ValueError, match="ref_wh"):
        B.xywh_to_rel(torch.ones(3, 4), torch.ones(3))
    with pytest.raises(ValueError, match="b"):
        B.box_iou(torch.ones(4), torch.ones(3))
