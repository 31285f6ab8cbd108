"""The spectrogram video: stream layout, timing, the playhead's position, levels, atomic writes."""

from __future__ import annotations

import math
import os
import struct

import av
import numpy as np
import pytest

from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.files.video import probe_video, write_spectrogram_video

SR = 16000


def _picture(height: int, width: int, rgb: bool = False) -> np.ndarray:
    """A dark-blue-to-gray gradient, far from the playhead's red. (H, W) or (H, W, 3) uint8."""
    ramp = np.linspace(20, 120, width, dtype=np.float32)[None, :].repeat(height, axis=0)
    gray = ramp.astype(np.uint8)
    if not rgb:
        return gray
    return np.stack([gray // 2, gray, np.full_like(gray, 160)], axis=2)


def _tone(seconds: float, peak: float = 0.5, channels: int = 1) -> np.ndarray:
    """A 440 Hz sine at ``peak``: float32 (samples,) or (channels, samples)."""
    t = np.arange(round(seconds * SR)) / SR
    wave = (peak * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    return wave if channels == 1 else np.stack([wave] * channels)


def _decode_frame(path, index: int) -> np.ndarray:
    """The ``index``-th decoded video frame as RGB uint8 (H, W, 3)."""
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i == index:
                return frame.to_ndarray(format="rgb24")
    raise AssertionError(f"no frame {index}")


def _playhead_columns(rgb: np.ndarray) -> np.ndarray:
    """Columns where nearly every pixel is red."""
    red = (rgb[..., 0] > 180) & (rgb[..., 1] < 120) & (rgb[..., 2] < 120)
    return np.flatnonzero(red.mean(axis=0) > 0.9)


def _decode_audio(path) -> np.ndarray:
    """All decoded audio as float32 (channels, samples)."""
    with av.open(str(path)) as container:
        chunks = [frame.to_ndarray() for frame in container.decode(audio=0)]
    return np.concatenate(chunks, axis=1)


def test_streams_durations_and_frame_count(tmp_path):
    path = tmp_path / "video.mp4"
    seconds = 1.03  # not a whole number of frames: 25.75 → 26
    info = write_spectrogram_video(path, picture=_picture(256, 512), waveform=_tone(seconds), sample_rate=SR)
    probe = probe_video(path)
    video = [s for s in probe["streams"] if s["type"] == "video"]
    audio = [s for s in probe["streams"] if s["type"] == "audio"]
    assert len(video) == 1 and len(audio) == 1 and len(probe["streams"]) == 2
    assert video[0]["codec"] == "h264" and audio[0]["codec"] == "aac"
    assert video[0]["pix_fmt"] == "yuv420p" and video[0]["profile"] in ("Main", "High")
    assert (video[0]["width"], video[0]["height"]) == (512, 256)
    assert video[0]["frames"] == math.ceil(seconds * 25) == info["frames"] == 26
    assert abs(video[0]["duration"] - seconds) <= 1 / 25
    assert abs(audio[0]["duration"] - seconds) <= 0.05
    assert audio[0]["sample_rate"] == info["audio_sample_rate"] == 48000
    decoded = _decode_audio(path)
    assert abs(decoded.shape[1] / 48000 - seconds) <= 0.05
    assert info["size_bytes"] == os.path.getsize(path)
    assert info["video_codec"] == "h264" and info["audio_codec"] == "aac" and info["duration"] == seconds


def test_moov_atom_is_at_the_front(tmp_path):
    """+faststart: a browser can start playing before the whole file has arrived."""
    path = tmp_path / "video.mp4"
    write_spectrogram_video(path, picture=_picture(256, 256), waveform=_tone(0.5), sample_rate=SR)
    data = path.read_bytes()
    boxes, offset = [], 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        boxes.append(kind)
        offset += size
    assert boxes.index(b"moov") < boxes.index(b"mdat")


def test_playhead_moves_with_time(tmp_path):
    path = tmp_path / "video.mp4"
    width, fps, seconds = 512, 25, 2.0
    info = write_spectrogram_video(path, picture=_picture(256, width, rgb=True), waveform=_tone(seconds),
                                   sample_rate=SR, fps=fps)
    middle = info["frames"] // 2  # t = 1.0 s = duration / 2
    columns = _playhead_columns(_decode_frame(path, middle))
    assert len(columns) >= 1 and abs(columns.mean() - width / 2) <= 3
    first = _playhead_columns(_decode_frame(path, 0))
    assert len(first) >= 1 and first.max() <= 3
    late = _playhead_columns(_decode_frame(path, info["frames"] - 1))  # t = 1.96 s
    assert abs(late.mean() - 1.96 / seconds * width) <= 3


@pytest.mark.parametrize("shape, expected", [((33, 51), (264, 408)),       # ×8, height ≥ 256
                                             ((301, 101, 3), (302, 102)),  # odd sides padded by one
                                             ((128, 127), (256, 254))])     # ×2
def test_small_and_odd_pictures(tmp_path, shape, expected):
    path = tmp_path / "video.mp4"
    picture = _picture(shape[0], shape[1], rgb=len(shape) == 3)
    info = write_spectrogram_video(path, picture=picture, waveform=_tone(0.4), sample_rate=SR, fps=10)
    video = next(s for s in probe_video(path)["streams"] if s["type"] == "video")
    assert (video["height"], video["width"]) == expected == (info["height"], info["width"])
    assert video["frames"] == 4
    columns = _playhead_columns(_decode_frame(path, 2))  # t = 0.2 s: the middle
    content_width = shape[1] * info["scale"]  # the padding column is not part of the timeline
    assert len(columns) >= 1 and abs(columns.mean() - content_width / 2) <= 3


def test_loud_waveform_is_normalised_not_clipped(tmp_path):
    path = tmp_path / "video.mp4"
    info = write_spectrogram_video(path, picture=_picture(256, 256), waveform=_tone(1.0, peak=50.0),
                                   sample_rate=SR)
    # 0.99 / 50, lowered further if the AAC round trip would overshoot (it does: the abrupt onset).
    assert 0.7 * 0.99 / 50 <= info["audio_gain"] <= 0.99 / 50
    decoded = _decode_audio(path)
    assert 0.7 <= np.abs(decoded).max() <= 1.0


def test_quiet_waveform_keeps_its_level_and_stereo_is_kept(tmp_path):
    path = tmp_path / "video.mp4"
    info = write_spectrogram_video(path, picture=_picture(256, 256), waveform=_tone(1.0, peak=0.2, channels=2),
                                   sample_rate=SR)
    assert info["audio_gain"] == 1.0 and info["audio_channels"] == 2
    decoded = _decode_audio(path)
    assert decoded.shape[0] == 2
    assert np.abs(decoded).max() == pytest.approx(0.2, abs=0.03)


def test_probe_of_a_missing_file_is_a_one_line_error(tmp_path):
    with pytest.raises(SpectrocanvasError, match="cannot read"):
        probe_video(tmp_path / "missing.mp4")


def test_44100_hz_is_kept(tmp_path):
    path = tmp_path / "video.mp4"
    waveform = np.zeros(44100 // 2, np.float32)
    info = write_spectrogram_video(path, picture=_picture(256, 256), waveform=waveform, sample_rate=44100)
    audio = next(s for s in probe_video(path)["streams"] if s["type"] == "audio")
    assert audio["sample_rate"] == info["audio_sample_rate"] == 44100


def test_progress_reports_every_frame(tmp_path):
    calls = []
    write_spectrogram_video(tmp_path / "video.mp4", picture=_picture(256, 256), waveform=_tone(0.4),
                            sample_rate=SR, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(i, 10) for i in range(1, 11)]


def _listing(folder) -> list[str]:
    return sorted(os.listdir(folder))


def test_empty_waveform_fails_without_a_file(tmp_path):
    path = tmp_path / "video.mp4"
    with pytest.raises(SpectrocanvasError, match="empty"):
        write_spectrogram_video(path, picture=_picture(256, 256), waveform=np.zeros(0, np.float32),
                                sample_rate=SR)
    assert _listing(tmp_path) == []


def test_missing_folder_fails(tmp_path):
    with pytest.raises(SpectrocanvasError, match="does not exist"):
        write_spectrogram_video(tmp_path / "nope" / "video.mp4", picture=_picture(256, 256),
                                waveform=_tone(0.2), sample_rate=SR)


def test_failed_rename_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "taken"
    target.mkdir()  # os.replace cannot put a file over a folder
    with pytest.raises(SpectrocanvasError):
        write_spectrogram_video(target, picture=_picture(256, 256), waveform=_tone(0.2), sample_rate=SR)
    assert _listing(tmp_path) == ["taken"] and target.is_dir()


def test_interrupted_encoding_keeps_the_old_file(tmp_path):
    path = tmp_path / "video.mp4"
    path.write_bytes(b"old")

    def stop(done: int, total: int) -> None:
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_spectrogram_video(path, picture=_picture(256, 256), waveform=_tone(0.4), sample_rate=SR,
                                progress=stop)
    assert _listing(tmp_path) == ["video.mp4"] and path.read_bytes() == b"old"


@pytest.mark.parametrize("kwargs, message", [
    ({"picture": np.zeros((4, 4), np.float32)}, "uint8"),
    ({"picture": np.zeros((4, 4, 4), np.uint8)}, "shape"),
    ({"waveform": np.array([0.0, np.nan], np.float32)}, "NaN"),
    ({"waveform": np.zeros((3, 10), np.float32)}, "channels"),
    ({"sample_rate": 0}, "sample_rate"),
    ({"fps": 0}, "fps"),
])
def test_bad_inputs_are_one_line_errors(tmp_path, kwargs, message):
    arguments = {"picture": _picture(256, 256), "waveform": _tone(0.2), "sample_rate": SR, **kwargs}
    with pytest.raises(SpectrocanvasError, match=message) as caught:
        write_spectrogram_video(tmp_path / "video.mp4", **arguments)
    assert "\n" not in str(caught.value)
    assert _listing(tmp_path) == []
