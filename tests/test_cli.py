"""The commands end to end: outputs that decode, meta.json that explains them, bad input refused."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PIL import Image, ImageDraw

from spectrocanvas.cli import main
from spectrocanvas.files.pictures import canvas_spec_of, open_picture, picture_to_gray
from spectrocanvas.files.video import probe_video

SONIFY_SSIM_FLOOR = 0.55
"""Fidelity floor for a smooth drawn picture at 2 s; measured 0.6-0.7 (see BENCHMARKS.md for photos)."""


@pytest.fixture(scope="module")
def picture(tmp_path_factory) -> Path:
    """A drawn picture: gradient sky, a disc, a hill (RGB, 400 × 150)."""
    image = Image.new("RGB", (400, 150))
    draw = ImageDraw.Draw(image)
    for row in range(150):
        draw.line([(0, row), (400, row)], fill=(row, row // 2, 90))
    draw.ellipse([260, 20, 330, 90], fill=(240, 240, 200))
    draw.polygon([(0, 150), (120, 70), (250, 150)], fill=(140, 140, 140))
    path = tmp_path_factory.mktemp("pictures") / "scene.png"
    image.save(path)
    return path


@pytest.fixture(scope="module")
def stereo_44k(tmp_path_factory) -> Path:
    rate = 44100
    t = np.arange(int(rate * 1.5)) / rate
    left = 0.3 * np.sin(2 * np.pi * 330 * t)
    right = 0.1 * np.random.default_rng(1).standard_normal(t.size)
    path = tmp_path_factory.mktemp("audio") / "stereo.flac"
    soundfile.write(path, np.stack([left, right], 1), rate)
    return path


@pytest.fixture(scope="module")
def sonified(picture, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "sonified"
    assert main(["sonify", str(picture), "-o", str(out), "--seconds", "2", "--quiet"]) == 0
    return out


def test_sonify_writes_every_output(sonified):
    assert sorted(p.name for p in sonified.iterdir()) == ["audio.wav", "canvas.png", "meta.json",
                                                          "spectrogram.png", "video.mp4"]
    audio, rate = soundfile.read(sonified / "audio.wav")
    assert rate == 16000 and audio.shape == (200 * 160,)
    assert soundfile.info(str(sonified / "audio.wav")).subtype == "FLOAT"
    canvas = picture_to_gray(open_picture(sonified / "canvas.png"))
    assert canvas.shape == (256, 200)
    meta = json.loads((sonified / "meta.json").read_text())
    assert meta["timings"]["reconstruct"] > 0 and meta["timings"]["total"] >= meta["timings"]["reconstruct"]
    assert meta["fidelity"]["ssim"] >= SONIFY_SSIM_FLOOR
    assert meta["provenance"]["spectrocanvas"] and meta["canvas"]["n_mels"] == 256
    assert canvas_spec_of(open_picture(sonified / "spectrogram.png")).n_mels == 256


def test_sonify_video_has_one_stream_of_each_kind_and_the_right_duration(sonified):
    streams = probe_video(sonified / "video.mp4")["streams"]
    kinds = sorted(s["type"] for s in streams)
    assert kinds == ["audio", "video"]
    for stream in streams:
        assert stream["duration"] == pytest.approx(2.0, abs=0.08)
    assert {s["codec"] for s in streams} == {"h264", "aac"}


def test_spectrogram_png_matches_the_wav(sonified):
    from spectrocanvas.canvas.analysis import audio_to_canvas
    from spectrocanvas.files.audio import read_audio

    waveform, _ = read_audio(sonified / "audio.wav", sample_rate=16000)
    gain = json.loads((sonified / "meta.json").read_text())["audio"]["gain"]
    shown = picture_to_gray(open_picture(sonified / "spectrogram.png"))
    assert (audio_to_canvas(waveform / gain) - shown).abs().max() < 1e-4  # the file at the canvas's level


def test_canvas_png_turns_back_into_sound_with_its_settings(sonified, tmp_path):
    out = tmp_path / "again"
    assert main(["sonify", str(sonified / "spectrogram.png"), "-o", str(out), "--no-video", "--quiet"]) == 0
    meta = json.loads((out / "meta.json").read_text())
    assert meta["input"]["image"]["canvas_png"] is True and meta["parameters"]["seconds"] == 2.0
    assert not (out / "video.mp4").exists()
    assert meta["fidelity"]["ssim"] > 0.6


@pytest.mark.parametrize("seconds,expected", [("1.0", "cut"), ("2.0", "padded"), (None, "exact")])
def test_imprint_resamples_and_says_how_the_length_was_fitted(picture, stereo_44k, tmp_path, seconds, expected):
    out = tmp_path / "imprinted"
    args = ["imprint", "--image", str(picture), "--audio", str(stereo_44k), "-o", str(out), "--quiet", "--no-video"]
    if seconds:
        args += ["--seconds", seconds]
    assert main(args) == 0
    meta = json.loads((out / "meta.json").read_text())
    assert meta["parameters"]["audio_length"] == expected
    assert meta["input"]["audio"]["sample_rate"] == 44100 and meta["input"]["audio"]["channels"] == 2
    original = picture_to_gray(open_picture(out / "original.png"))
    target = picture_to_gray(open_picture(out / "canvas.png"))
    assert original.shape == target.shape
    assert (target <= original + 1e-4).all()  # imprinting only removes energy
    assert soundfile.read(out / "audio.wav")[0].shape == (original.shape[1] * 160,)


def test_imprint_formula():
    import torch

    from spectrocanvas.canvas.carve import imprint_canvas

    spec, picture = torch.rand(8, 9), torch.rand(8, 9)
    assert torch.allclose(imprint_canvas(spec, picture, strength=0.5), spec * (1 - 0.5 * (1 - picture)))
    assert torch.allclose(imprint_canvas(spec, picture, strength=0.3, invert=False), spec * (1 - 0.3 * picture))


def test_analyze_writes_a_canvas_png(stereo_44k, tmp_path):
    out = tmp_path / "a.png"
    assert main(["analyze", str(stereo_44k), "-o", str(out)]) == 0
    image = open_picture(out)
    assert canvas_spec_of(image).sample_rate == 16000 and image.size == (150, 256)


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("spectrocanvas: error:")
    return err


def test_bad_inputs_end_in_one_line(tmp_path, picture, stereo_44k, capsys):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    corrupt_audio = tmp_path / "corrupt.wav"
    corrupt_audio.write_bytes(b"RIFF....WAVEfmt garbage")
    zero_audio = tmp_path / "zero.wav"
    soundfile.write(zero_audio, np.zeros((0, 2)), 16000)
    cases = [
        (["sonify", str(tmp_path / "missing.png"), "-o", str(tmp_path / "o1")], "does not exist"),
        (["sonify", str(empty), "-o", str(tmp_path / "o2")], "empty"),
        (["sonify", str(text), "-o", str(tmp_path / "o3")], "not a picture"),
        (["sonify", str(picture), "-o", str(tmp_path / "o4"), "--seconds", "100000"], "--seconds"),
        (["imprint", "--image", str(picture), "--audio", str(corrupt_audio), "-o", str(tmp_path / "o5")],
         "not an audio file"),
        (["imprint", "--image", str(picture), "--audio", str(zero_audio), "-o", str(tmp_path / "o6")], "no samples"),
        (["imprint", "--image", str(picture), "--audio", str(stereo_44k), "-o", str(tmp_path / "o7"),
          "--strength", "3"], "--strength"),
        (["analyze", str(zero_audio), "-o", str(tmp_path / "z.png")], "no samples"),
    ]
    for args, message in cases:
        assert main(args + ["--quiet"] if args[0] != "analyze" else args) == 2
        assert message in _one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corrupt.wav", "empty.png", "notes.png", "zero.wav"]


def test_existing_output_is_refused_and_kept(sonified, picture, capsys):
    before = (sonified / "audio.wav").read_bytes()
    assert main(["sonify", str(picture), "-o", str(sonified), "--quiet"]) == 2
    assert "--overwrite" in _one_line_error(capsys)
    assert (sonified / "audio.wav").read_bytes() == before


def test_console_script_prints_no_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "spectrocanvas", "sonify", str(tmp_path / "nope.jpg"),
                             "-o", str(tmp_path / "out")], capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().endswith("does not exist")


@pytest.mark.slow  # the whole demo: 10 s canvases through every command, with videos
def test_demo_runs_offline(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "-o", str(out), "--quiet"]) == 0
    assert str(out) in capsys.readouterr().out
    for folder in ("sonify", "imprint"):
        assert (out / folder / "video.mp4").stat().st_size > 0
        assert json.loads((out / folder / "meta.json").read_text())["fidelity"]["ssim"] > 0.3
    assert (out / "imprint-analyzed.png").exists()
    recorded = json.loads((out / "sonify" / "meta.json").read_text())["input"]["image"]["path"]
    assert Path(recorded).is_file()  # the record points at the asset as it is now, not a staging folder


@pytest.mark.slow  # the whole demo again, with tiny pocket weights
def test_demo_composes_with_the_pocket_pair(tmp_path, capsys, monkeypatch):
    from pocket_tiny import write_tiny_pocket

    from spectrocanvas.pairs.pocket.weights import WEIGHTS_ENV
    from spectrocanvas.tools.demo import DEMO_PAIR, DEMO_PROMPTS, DEMO_SAMPLES

    monkeypatch.setenv(WEIGHTS_ENV, str(write_tiny_pocket(tmp_path / "weights", judges=False)))
    out = tmp_path / "demo"
    assert main(["demo", "-o", str(out), "--quiet"]) == 0
    assert f"the {DEMO_PAIR} model pair" in capsys.readouterr().out
    for image_word, audio_word in DEMO_PROMPTS:
        samples = sorted((out / DEMO_PAIR / f"{image_word}-{audio_word}").glob("sample_*"))
        assert len(samples) == DEMO_SAMPLES
        meta = json.loads((samples[0] / "meta.json").read_text())
        assert meta["models"]["pair"] == DEMO_PAIR and meta["image_prompt"] == image_word
        assert (samples[0] / "video.mp4").stat().st_size > 0


def test_full_disk_ends_in_one_line_and_leaves_nothing(picture, tmp_path, capsys, monkeypatch):
    import errno

    import spectrocanvas.files.render as render

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "audio.wav")

    monkeypatch.setattr(render, "write_sound", no_space)
    out = tmp_path / "full"
    assert main(["sonify", str(picture), "-o", str(out), "--quiet", "--seconds", "1"]) == 3
    assert "no space left" in _one_line_error(capsys)
    assert list(tmp_path.iterdir()) == []  # neither the output nor its staging folder remains
