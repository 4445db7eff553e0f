"""Frame source and writer: RGB at the edge, clear errors for missing files / cameras."""
import numpy as np
import pytest

from pytracking.utils.video_source import FrameSource, VideoSourceError, VideoWriter, open_source


def write_red_video(path, n=4, size=(48, 32)):
    frame = np.zeros((size[1], size[0], 3), np.uint8)
    frame[..., 0] = 230  # red in RGB
    with VideoWriter(path, fps=10) as writer:
        for _ in range(n):
            writer.write(frame)
    return writer


def test_file_source_reads_rgb_frames_with_metadata(tmp_path):
    path = tmp_path / "red.mp4"
    writer = write_red_video(path)
    assert writer.frames_written == 4
    with FrameSource.file(path) as source:
        assert source.size == (48, 32)
        assert source.frame_count == 4
        assert source.fps == pytest.approx(10, abs=0.5)
        frames = list(source)
    assert len(frames) == 4
    mean = frames[0].reshape(-1, 3).mean(0)
    assert frames[0].dtype == np.uint8 and frames[0].shape == (32, 48, 3)
    assert mean[0] > 180 and mean[1] < 60 and mean[2] < 60, f"expected red in RGB order, got {mean}"


def test_missing_file_and_bad_camera_index_raise_clear_errors(tmp_path):
    with pytest.raises(VideoSourceError, match="not found"):
        FrameSource.file(tmp_path / "nope.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video")
    with pytest.raises(VideoSourceError, match="junk.mp4"):
        FrameSource.file(junk)
    with pytest.raises(ValueError, match="camera index"):
        FrameSource.camera(-1)


def test_open_source_prefers_the_file(tmp_path):
    path = tmp_path / "red.mp4"
    write_red_video(path, n=2)
    with open_source(camera=5, source=path) as source:
        assert not source.is_camera and source.read() is not None


def test_writer_rejects_changing_frame_size(tmp_path):
    with VideoWriter(tmp_path / "a.mp4", fps=5) as writer:
        writer.write(np.zeros((16, 16, 3), np.uint8))
        with pytest.raises(ValueError, match="frame size"):
            writer.write(np.zeros((8, 16, 3), np.uint8))
    with pytest.raises(ValueError, match="fps"):
        VideoWriter(tmp_path / "b.mp4", fps=0)
