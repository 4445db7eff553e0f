"""Robustness: huge (4K) and tiny (32x32, 32x24, box at the border) frames through every tracker.

Trackers: OpenCV KCF and CSRT, and ATOM with the random-weight ``atom_tiny`` network
(``params.net_constructor``; no shipped weights needed). Each must run a few frames without
crashing and return finite boxes with positive width and height.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pytracking.parameter.opencv import csrt, kcf
from pytracking.tracker.opencv import get_tracker_class as opencv_tracker_class


def _frames(size: tuple[int, int], box: list[float], n: int = 3, shift: int = 1) -> list[np.ndarray]:
    """``n`` textured RGB frames ``(width, height)``; a bright target at ``box`` moving ``shift`` px right."""
    width, height = size
    rng = np.random.default_rng(1)
    background = rng.integers(0, 120, (max(1, height // 8), max(1, width // 8), 3), dtype=np.uint8)
    background = np.kron(background, np.ones((8, 8, 1), np.uint8))[:height, :width]
    background = np.pad(background, ((0, height - background.shape[0]), (0, width - background.shape[1]), (0, 0)))
    frames = []
    for t in range(n):
        frame = background.copy()
        x, y, w, h = (int(round(v)) for v in box)
        x = min(x + t * shift, width - 1)
        frame[y:y + h, x:x + w] = (250, 60, 40)
        frame[y:y + h:2, x:x + w:2] = (30, 240, 60)
        frames.append(np.ascontiguousarray(frame))
    return frames


CASES = {
    "4k": ((3840, 2160), [1800.0, 1000.0, 160.0, 120.0]),
    "32x32": ((32, 32), [10.0, 10.0, 8.0, 8.0]),
    "32x24_border": ((32, 24), [25.0, 17.0, 7.0, 7.0]),       # touches the right and bottom edges
    "32x24_corner": ((32, 24), [0.0, 0.0, 5.0, 4.0]),          # at the origin
    "32x24_whole": ((32, 24), [0.0, 0.0, 32.0, 24.0]),         # the whole frame
}


def _check_outputs(outputs: list[dict], size: tuple[int, int]) -> None:
    for out in outputs:
        box = np.asarray(out["target_bbox"], dtype=np.float64)
        assert box.shape == (4,), box
        assert np.all(np.isfinite(box)), box
        assert box[2] > 0 and box[3] > 0, box


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("param_module", [kcf, csrt], ids=["kcf", "csrt"])
def test_opencv_trackers_on_huge_and_tiny_frames(case, param_module):
    size, box = CASES[case]
    frames = _frames(size, box)
    tracker = opencv_tracker_class()(param_module.parameters())
    init = tracker.initialize(frames[0], {"init_bbox": box})
    assert np.allclose(init["target_bbox"], box)
    outputs = [tracker.track(frame) for frame in frames[1:]]
    _check_outputs(outputs, size)
    assert all(out["flag"] in ("normal", "not_found") for out in outputs)


@pytest.fixture(scope="module")
def atom_tracker_class():
    from pytracking.tracker.atom import get_tracker_class
    return get_tracker_class()


def _atom_params():
    from pytracking.parameter.atom import default
    params = default.parameters()
    params.device = "cpu"
    params.net_constructor = ("atom_tiny", {})       # random weights, nothing downloaded
    params.image_sample_size = 64
    params.sample_memory_size = 20
    params.init_CG_iter = 6
    params.init_GN_iter = 2
    params.box_refinement_iter = 3
    params.box_refinement_num_boxes = 4
    params.box_refinement_step_length = (0.05, 0.05, 0.05, 0.05)
    return params


@pytest.mark.parametrize("case", sorted(CASES))
def test_atom_tiny_on_huge_and_tiny_frames(case, atom_tracker_class):
    size, box = CASES[case]
    frames = _frames(size, box)
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        tracker = atom_tracker_class(_atom_params())
        tracker.initialize(frames[0], {"init_bbox": box})
        outputs = [tracker.track(frame) for frame in frames[1:]]
    finally:
        torch.set_num_threads(previous)
    _check_outputs(outputs, size)
    width, height = size
    for out in outputs:  # at least part of the box stays in the frame
        x, y, w, h = out["target_bbox"]
        assert x < width and y < height and x + w > 0 and y + h > 0, out["target_bbox"]


EDGE_BOXES = {
    "partly_outside_bottom_right": [28.0, 20.0, 8.0, 8.0],
    "partly_outside_top_left": [-3.0, -2.0, 8.0, 8.0],
    "larger_than_frame": [-4.0, -4.0, 40.0, 30.0],
    "one_pixel_corner": [31.0, 23.0, 1.0, 1.0],
    "sub_pixel": [10.4, 10.4, 0.4, 0.4],
}


@pytest.mark.parametrize("case", sorted(EDGE_BOXES))
@pytest.mark.parametrize("param_module", [kcf, csrt], ids=["kcf", "csrt"])
def test_opencv_trackers_accept_boxes_at_and_over_the_border(case, param_module):
    """OpenCV asserts (cv2.error) on 1-pixel CSRT boxes and on rectangles outside the image; the wrapper
    clips and grows the rectangle it hands over, and reports the given box at frame 0."""
    box = EDGE_BOXES[case]
    frames = _frames((32, 24), [max(0.0, box[0]), max(0.0, box[1]), 4.0, 4.0])
    tracker = opencv_tracker_class()(param_module.parameters())
    assert tracker.initialize(frames[0], {"init_bbox": box})["target_bbox"] == box
    _check_outputs([tracker.track(frame) for frame in frames[1:]], (32, 24))


@pytest.mark.parametrize("box", [[40.0, 30.0, 5.0, 5.0], [-10.0, 5.0, 5.0, 5.0], [5.0, 24.0, 5.0, 5.0]])
@pytest.mark.parametrize("param_module", [kcf, csrt], ids=["kcf", "csrt"])
def test_opencv_box_outside_the_image_is_a_value_error(box, param_module):
    tracker = opencv_tracker_class()(param_module.parameters())
    with pytest.raises(ValueError, match="init_bbox.*outside the 32x24 image"):
        tracker.initialize(_frames((32, 24), [2.0, 2.0, 4.0, 4.0], n=1)[0], {"init_bbox": box})


def test_opencv_init_rect_is_clipped_and_at_least_two_pixels():
    from pytracking.tracker.opencv.opencv_tracker import opencv_init_rect
    shape = (24, 32, 3)
    assert opencv_init_rect([2.0, 3.0, 8.0, 6.0], shape) == (2, 3, 8, 6)
    assert opencv_init_rect([28.0, 20.0, 8.0, 8.0], shape) == (28, 20, 4, 4)
    assert opencv_init_rect([-3.0, -2.0, 8.0, 8.0], shape) == (0, 0, 5, 6)
    assert opencv_init_rect([31.0, 23.0, 1.0, 1.0], shape) == (30, 22, 2, 2)
    assert opencv_init_rect([10.4, 10.4, 0.4, 0.4], shape) == (10, 10, 2, 2)
    assert opencv_init_rect([-4.0, -4.0, 40.0, 30.0], shape) == (0, 0, 32, 24)
    assert opencv_init_rect([0.0, 0.0, 1.0, 1.0], (1, 1, 3)) == (0, 0, 1, 1)
