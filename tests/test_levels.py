"""Listenable levels and export formats: every sound file peaks where it says, records its gain, and
reads back to the canvas it was made from."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from PIL import Image, ImageDraw

from spectrocanvas.canvas.analysis import audio_to_canvas
from spectrocanvas.cli import main
from spectrocanvas.files.audio import AudioOutput, read_audio, write_sound
from spectrocanvas.files.pictures import open_picture, picture_to_gray

PEAK_TOLERANCE_DB = 0.01
"""A float file's peak is the target up to float32 rounding (about 1e-7 relative, far below 0.01 dB)."""


def _peak_db(samples: np.ndarray) -> float:
    return 20 * math.log10(float(np.abs(samples).max()))


def _rms_db(samples: np.ndarray) -> float:
    return 20 * math.log10(float(np.sqrt(np.mean(np.square(samples.astype(np.float64))))))


def _meta(folder: Path) -> dict:
    return json.loads((folder / "meta.json").read_text())


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("spectrocanvas: error:")
    return err


@pytest.fixture(scope="module")
def bright(tmp_path_factory) -> Path:
    """A light photograph-like picture: the kind that sonified at +30 dBFS before levels."""
    image = Image.new("RGB", (300, 120), (235, 235, 225))
    draw = ImageDraw.Draw(image)
    draw.ellipse([100, 20, 180, 100], fill=(60, 60, 60))
    path = tmp_path_factory.mktemp("pictures") / "bright.png"
    image.save(path)
    return path


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    """A 2 s recording at −20 dBFS RMS: two partials and a little noise, 22.05 kHz."""
    rate = 22050
    t = np.arange(2 * rate) / rate
    sound = np.sin(2 * np.pi * 440 * t) + 0.5 * np.sin(2 * np.pi * 1250 * t)
    sound += 0.05 * np.random.default_rng(0).standard_normal(t.shape)
    sound *= 10 ** (-20 / 20) / np.sqrt(np.mean(sound ** 2))
    path = tmp_path_factory.mktemp("sounds") / "tones.wav"
    soundfile.write(path, sound.astype(np.float32), rate, subtype="FLOAT")
    return path


@pytest.fixture(scope="module")
def sonified(bright, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "bright"
    assert main(["sonify", str(bright), "-o", str(out), "--seconds", "1", "--no-video", "--quiet"]) == 0
    return out


def test_sonify_peaks_at_minus_one_dbfs_and_records_its_gain(sonified):
    samples, rate = soundfile.read(sonified / "audio.wav", dtype="float32")
    assert rate == 16000
    assert _peak_db(samples) == pytest.approx(-1.0, abs=PEAK_TOLERANCE_DB)
    record = _meta(sonified)["audio"]
    assert record["peak_dbfs"] == pytest.approx(-1.0, abs=PEAK_TOLERANCE_DB)
    assert record["level"] == "peak -1 dBFS" and record["gain"] < 1  # a light picture is loud at canvas level
    assert record["gain_db"] == pytest.approx(20 * math.log10(record["gain"]), rel=1e-9)


def test_the_normalised_file_analyses_to_the_spectrogram_it_shows(sonified):
    """Dividing the file by its recorded gain gives back the canvas-level sound: its analysis is
    spectrogram.png up to the PNG's 16-bit rounding (1/65535)."""
    waveform, _ = read_audio(sonified / "audio.wav", sample_rate=16000)
    gain = _meta(sonified)["audio"]["gain"]
    shown = picture_to_gray(open_picture(sonified / "spectrogram.png"))
    assert (audio_to_canvas(waveform / gain) - shown).abs().max() < 1e-4


def test_peak_db_and_keep_level(bright, tmp_path):
    quiet, raw = tmp_path / "quiet", tmp_path / "raw"
    assert main(["sonify", str(bright), "-o", str(quiet), "--seconds", "1", "--no-video", "--quiet",
                 "--peak-db", "-12"]) == 0
    assert main(["sonify", str(bright), "-o", str(raw), "--seconds", "1", "--no-video", "--quiet",
                 "--keep-level"]) == 0
    quiet_samples, _ = soundfile.read(quiet / "audio.wav", dtype="float32")
    raw_samples, _ = soundfile.read(raw / "audio.wav", dtype="float32")
    assert _peak_db(quiet_samples) == pytest.approx(-12.0, abs=PEAK_TOLERANCE_DB)
    assert _meta(raw)["audio"]["gain"] == 1.0 and _meta(raw)["audio"]["level"] == "canvas"
    # the same sound at two levels: the ratio is the recorded gain (float32 rounding, 1e-5 relative)
    gain = _meta(quiet)["audio"]["gain"]
    np.testing.assert_allclose(quiet_samples, raw_samples * gain, rtol=1e-5, atol=1e-7)
    assert _peak_db(raw_samples) > 0  # the canvas level of a light picture passes full scale


def test_imprint_keeps_the_recordings_loudness(bright, recording, tmp_path):
    out = tmp_path / "carved"
    assert main(["imprint", "--image", str(bright), "--audio", str(recording), "-o", str(out), "--no-video",
                 "--quiet"]) == 0
    original, _ = soundfile.read(recording, dtype="float32")
    carved, rate = soundfile.read(out / "audio.wav", dtype="float32")
    assert rate == 16000
    record = _meta(out)["audio"]
    # RMS as the recording's unless the −1 dBFS ceiling bound (it does not for this recording)
    assert _peak_db(carved) <= -1.0 + PEAK_TOLERANCE_DB
    assert _rms_db(carved) == pytest.approx(_rms_db(original), abs=0.2)  # 0.2 dB: resampling to 16 kHz and the cut
    assert record["level"].startswith("the recording's RMS")


@pytest.mark.parametrize("fmt, subtype, name", [("pcm16", "PCM_16", "audio.wav"), ("pcm24", "PCM_24", "audio.wav"),
                                                  ("flac", "PCM_24", "audio.flac")])
def test_integer_formats_peak_below_full_scale_and_decode(fmt, subtype, name, bright, tmp_path):
    out = tmp_path / fmt
    assert main(["sonify", str(bright), "-o", str(out), "--seconds", "1", "--no-video", "--quiet",
                 "--audio-format", fmt]) == 0
    info = soundfile.info(out / name)
    assert info.subtype == subtype and info.samplerate == 16000
    samples, _ = soundfile.read(out / name, dtype="float64")
    lsb_db = 1.5 if fmt == "pcm16" else 0.01  # 16 bits: the peak moves by at most one dither step (≈ 0.001 dB)
    assert _peak_db(samples) == pytest.approx(-1.0, abs=lsb_db)
    assert _meta(out)["audio"]["file"] == name
    assert sorted(p.name for p in out.iterdir()) == sorted(["canvas.png", name, "meta.json", "spectrogram.png"])


def test_sixteen_bits_are_dithered_and_the_same_every_time(tmp_path):
    """TPDF dither of ±1 LSB adds noise of 1/√6 LSB RMS to rounding's 1/√12: a residual near 0.5
    LSB (0.29 without dither); and the dither is seeded, so two writes are the same bytes."""
    t = torch.arange(16000) / 16000
    tone = 0.01 * torch.sin(2 * math.pi * 441 * t)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    output = AudioOutput(format="pcm16", peak_db=-40.0)
    record = write_sound(tmp_path / "a", tone, sample_rate=16000, output=output)
    write_sound(tmp_path / "b", tone, sample_rate=16000, output=output)
    assert (tmp_path / "a" / "audio.wav").read_bytes() == (tmp_path / "b" / "audio.wav").read_bytes()
    written, _ = soundfile.read(tmp_path / "a" / "audio.wav", dtype="int16")
    residual = written.astype(np.float64) - tone.double().numpy() * record["gain"] * 32767
    assert 0.42 < residual.std() < 0.58


@pytest.mark.parametrize("rate", [44100, 48000])
def test_generate_writes_the_rate_asked_and_scores_as_drawn(rate, tmp_path):
    out = tmp_path / f"at{rate}"
    assert main(["generate", "--preset", "pocket", "--image-prompt", "star", "--audio-prompt", "bell", "-n", "1",
                 "--steps", "4", "-o", str(out), "--sample-rate", str(rate), "--quiet"]) == 0
    sample = out / "sample_000"
    samples, read_rate = soundfile.read(sample / "audio.wav", dtype="float32")
    assert read_rate == rate
    assert _peak_db(samples) == pytest.approx(-1.0, abs=PEAK_TOLERANCE_DB)
    meta = _meta(sample)
    assert meta["audio"]["sample_rate"] == rate
    assert meta["video"]["file"] == "video.mp4"
    assert main(["evaluate", str(out), "--quiet"]) == 0
    assert _meta(sample)["scorers"]


def test_generate_scores_do_not_depend_on_the_level(tmp_path):
    """The judges score the sound at the canvas's level: a file at −1 dBFS and one at −20 dBFS score alike."""
    scores = []
    for peak in ("-1", "-20"):
        out = tmp_path / f"p{peak}"
        assert main(["generate", "--preset", "pocket", "--image-prompt", "moon", "--audio-prompt", "siren", "-n", "2",
                     "--steps", "4", "-o", str(out), "--peak-db", peak, "--no-video", "--score", "--quiet"]) == 0
        metas = [_meta(s) for s in sorted(out.glob("sample_*"))]
        keys = sorted(k for k in metas[0] if k.endswith(("_score", "_probability", "_success")))
        assert keys
        scores.append([[m[k] for k in keys] for m in metas])
    np.testing.assert_allclose(np.array(scores[0], dtype=float), np.array(scores[1], dtype=float), rtol=1e-4)


@pytest.mark.parametrize("arguments, message", [
    (["--peak-db", "3"], "--peak-db must be between"),
    (["--peak-db", "nan"], "--peak-db must be between"),
    (["--keep-level", "--audio-format", "pcm16"], "would clip"),
])
def test_bad_level_options_end_in_one_line_and_leave_nothing(arguments, message, bright, tmp_path, capsys):
    out = tmp_path / "bad"
    assert main(["sonify", str(bright), "-o", str(out), "--seconds", "1", "--quiet", *arguments]) == 2
    assert message in _one_line_error(capsys)
    assert list(tmp_path.iterdir()) == []


def test_an_unsupported_rate_ends_in_one_line(tmp_path, capsys):
    out = tmp_path / "bad"
    assert main(["generate", "--preset", "pocket", "--image-prompt", "star", "--audio-prompt", "bell", "-n", "1",
                 "-o", str(out), "--sample-rate", "12345", "--quiet"]) == 2
    assert "--sample-rate must be one of" in _one_line_error(capsys)
    assert list(tmp_path.iterdir()) == []
