"""Annotation parsing: fast path, bad lines, non-positive boxes, flags, meta_info.ini."""
import numpy as np
import pytest

from ltr.dataset.annotation_io import read_boxes, read_flags, read_meta_info


def test_clean_file_comma_and_whitespace(tmp_path):
    (tmp_path / "a.txt").write_text("1,2,3,4\n5.5,6,7,8\nNaN,NaN,NaN,NaN\n0,0,0,0\n\n")
    boxes, problems = read_boxes(tmp_path / "a.txt")
    assert problems == []
    assert boxes.shape == (4, 4)
    np.testing.assert_array_equal(boxes[:2], [[1, 2, 3, 4], [5.5, 6, 7, 8]])
    assert np.isnan(boxes[2]).all()
    (tmp_path / "b.txt").write_text("1\t2\t3\t4\r\n5 6 7 8\r\n")
    boxes, problems = read_boxes(tmp_path / "b.txt")
    assert problems == [] and boxes.tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]]


def test_bad_lines_are_nan_and_named(tmp_path):
    path = tmp_path / "gt.txt"
    path.write_text("1,2,3,4\na,b,c\n5,6,7,8\n1,2,3\n\n9,9,9,9\n")
    boxes, problems = read_boxes(path)
    assert boxes.shape == (6, 4)
    assert np.isnan(boxes[[1, 3, 4]]).all()
    np.testing.assert_array_equal(boxes[[0, 2, 5]], [[1, 2, 3, 4], [5, 6, 7, 8], [9, 9, 9, 9]])
    assert len(problems) == 1
    assert str(path) in problems[0] and "lines 2, 4, 5" in problems[0]


def test_non_positive_boxes_reported_but_kept(tmp_path):
    path = tmp_path / "gt.txt"
    path.write_text("1,2,3,4\n1,2,-3,4\n1,2,3,0\n0,0,0,0\n")
    boxes, problems = read_boxes(path)
    assert boxes[1, 2] == -3 and boxes[2, 3] == 0
    assert len(problems) == 1 and "lines 2, 3" in problems[0] and str(path) in problems[0]


def test_flags_one_line_and_per_line(tmp_path):
    (tmp_path / "occ.txt").write_text("0,1,0,0\n")
    flags, problems = read_flags(tmp_path / "occ.txt", 4)
    assert problems == [] and flags.tolist() == [0, 1, 0, 0]
    (tmp_path / "cover.label").write_text("8\n0\nx\n")
    flags, problems = read_flags(tmp_path / "cover.label", 4)
    assert flags[:2].tolist() == [8, 0] and np.isnan(flags[2:]).all()
    assert any("line 3" in p for p in problems) and any("3 values for 4 frames" in p for p in problems)


def test_meta_info(tmp_path):
    (tmp_path / "meta_info.ini").write_text("[METAINFO]\nurl: http://x.y/z\nobject_class: zebra\nresolution: (3, 2)\n")
    info = read_meta_info(tmp_path / "meta_info.ini")
    assert info == {"url": "http://x.y/z", "object_class": "zebra", "resolution": "(3, 2)"}


def test_missing_file_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_boxes(tmp_path / "none.txt")
