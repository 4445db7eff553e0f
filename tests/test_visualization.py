"""Drawing helpers: boxes land on the right pixels, inputs are not modified, score maps colour
low values blue and high values red, bad input raises ValueError naming the argument."""
import numpy as np
import pytest

from pytracking.utils import visualization as viz


def blank(h=60, w=80):
    return np.zeros((h, w, 3), np.uint8)


def test_draw_box_marks_the_rectangle_edges_and_leaves_the_input_alone():
    image = blank()
    out = viz.draw_box(image, [10, 20, 30, 15], colour=(0, 255, 0), thickness=1)
    assert image.max() == 0, "input must not be modified"
    # corners (10, 20) and (40, 35): the edges are green, the inside and far outside untouched
    assert tuple(out[20, 25]) == (0, 255, 0)
    assert tuple(out[35, 25]) == (0, 255, 0)
    assert tuple(out[27, 10]) == (0, 255, 0)
    assert tuple(out[27, 40]) == (0, 255, 0)
    assert out[27, 25].max() == 0
    assert out[5, 70].max() == 0


def test_box_corners_rounds_and_rejects_bad_boxes():
    assert viz.box_corners([1.4, 2.6, 3.0, 4.0]) == ((1, 3), (4, 7))
    with pytest.raises(ValueError, match="box"):
        viz.box_corners([1, 2, 3])
    with pytest.raises(ValueError, match="box"):
        viz.box_corners([1, 2, np.nan, 4])


def test_tracking_frame_uses_flag_colour_and_skips_lost_targets():
    out = viz.draw_tracking_frame(blank(), [[5, 5, 20, 20], None], flags=["not_found", "normal"], thickness=1)
    assert tuple(out[25, 15]) == viz.FLAG_COLOURS["not_found"]  # bottom edge (the label covers the top)
    normal = viz.draw_tracking_frame(blank(), [[5, 5, 20, 20]], thickness=1)
    assert tuple(normal[25, 15]) == viz.target_colour(0)
    with pytest.raises(ValueError, match="flags"):
        viz.draw_tracking_frame(blank(), [[5, 5, 20, 20]], flags=["normal", "normal"])


def test_fps_overlay_writes_pixels_top_left_only():
    out = viz.draw_fps(blank(60, 200), 24.5)
    assert out[:25, :100].max() > 0
    assert out[40:, :].max() == 0
    with pytest.raises(ValueError, match="fps"):
        viz.draw_fps(blank(), float("nan"))


def test_colourise_score_map_maps_min_to_blue_and_max_to_red():
    scores = np.array([[0.0, 1.0], [0.5, 0.25]])
    rgb = viz.colourise_score_map(scores)
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    low, high = rgb[0, 0].astype(int), rgb[0, 1].astype(int)
    assert low[2] > 100 and low[0] < 50      # JET: minimum is dark blue
    assert high[0] > 100 and high[2] < 50    # maximum is dark red
    big = viz.colourise_score_map(scores, size=(20, 10))
    assert big.shape == (10, 20, 3)
    assert (big[:5, :10] == rgb[0, 0]).all()  # nearest neighbour keeps cells
    flat = viz.colourise_score_map(np.full((3, 3), 7.0))
    assert (flat == flat[0, 0]).all()
    with pytest.raises(ValueError, match="score_map"):
        viz.colourise_score_map(np.zeros((2, 2, 2)))


def test_overlay_score_map_blends_only_inside_the_region_clipped_to_the_image():
    image = np.full((40, 40, 3), 100, np.uint8)
    out = viz.overlay_score_map(image, np.ones((4, 4)), [30, 30, 20, 20], alpha=1.0)
    assert (out[:30, :] == 100).all() and (out[:, :30] == 100).all()
    assert not (out[30:, 30:] == 100).all()
    with pytest.raises(ValueError, match="alpha"):
        viz.overlay_score_map(image, np.ones((4, 4)), [0, 0, 10, 10], alpha=2.0)


def test_draw_refinement_highlights_the_best_final_box():
    out = viz.draw_refinement(blank(80, 120), [[5, 5, 20, 20]], [[40, 40, 30, 20], [80, 10, 20, 20]],
                              scores=[0.9, 0.1])
    assert tuple(out[60, 55]) == (255, 255, 0)      # bottom edge of the best box, yellow
    assert tuple(out[30, 90]) == (0, 200, 255)      # bottom edge of the other one, cyan
    assert tuple(out[25, 15]) == (170, 170, 170)    # starting box, grey
    with pytest.raises(ValueError, match="scores"):
        viz.draw_refinement(blank(), [], [[1, 1, 5, 5]], scores=[0.1, 0.2])


def test_non_rgb_image_is_rejected():
    with pytest.raises(ValueError, match="image"):
        viz.draw_box(np.zeros((10, 10), np.uint8), [1, 1, 2, 2])
