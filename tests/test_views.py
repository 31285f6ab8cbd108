"""Viewer views (linear, log): the row mapping, analysis against numpy, reconstruction, blocks, the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from PIL import Image, ImageDraw

from spectrocanvas.canvas.metrics import ssim
from spectrocanvas.canvas.spec import AUFFUSION
from spectrocanvas.canvas.view_analysis import analyse
from spectrocanvas.canvas.view_synthesis import additive, blockwise, reconstruct
from spectrocanvas.canvas.views import ViewSpec, default_view, filterbank, make_view
from spectrocanvas.canvas.vocoders import GriffinLimVocoder
from spectrocanvas.cli import main
from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.files.pictures import open_picture, view_spec_of

SMALL = {"linear": default_view("linear", 16000), "log": default_view("log", 16000, fmin=55.0)}
"""Small views for quick tests: 16 kHz."""


def _tone(frequency: float, rate: int, seconds: float = 1.0, amplitude: float = 0.5) -> torch.Tensor:
    t = torch.arange(int(rate * seconds), dtype=torch.float64) / rate
    return (amplitude * torch.sin(2 * math.pi * frequency * t)).float()


def _smooth_picture(height: int, width: int, seed: int = 0) -> torch.Tensor:
    """A smooth random picture (height, width) in [0.2, 1]: blurred noise."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 1, max(2, height // 16), max(2, width // 16), generator=generator)
    fine = torch.nn.functional.interpolate(coarse, size=(height, width), mode="bicubic", align_corners=False)[0, 0]
    return (0.2 + 0.8 * fine).clamp(0, 1)


@pytest.mark.parametrize("scale", ["linear", "log"])
def test_serialisation_round_trip(scale):
    view = default_view(scale, 48000)
    assert ViewSpec.from_json(view.to_json()) == view
    assert ViewSpec.from_dict(view.to_dict()) == view
    with pytest.raises(ValueError):
        ViewSpec.from_dict({**view.to_dict(), "colour": "red"})


@pytest.mark.parametrize("scale, frequencies", [("linear", [250.0, 1000.0, 3100.0, 6000.0]),
                                                ("log", [110.0, 440.0, 1760.0, 5000.0])])
def test_a_pure_tone_lands_on_the_row_the_formula_gives(scale, frequencies):
    view = SMALL[scale]
    for frequency in frequencies:
        picture = analyse(_tone(frequency, view.sample_rate), view)
        column = picture[:, picture.shape[-1] // 2].flip(0)  # row 0 = lowest
        if scale == "linear":
            expected = (frequency - view.fmin) / (view.fmax - view.fmin) * view.height - 0.5
        else:
            expected = math.log2(frequency / view.fmin) * view.pixels_per_octave - 0.5
        assert view.row_of(frequency) == pytest.approx(expected)
        assert abs(int(column.argmax()) - expected) <= 1.0, (frequency, int(column.argmax()), expected)


def _numpy_view(waveform: np.ndarray, view: ViewSpec) -> np.ndarray:
    """The view computed independently: numpy FFT of reflect-padded Hann frames, rows by interpolation."""
    pad = (view.n_fft - view.hop_length) // 2
    padded = np.pad(waveform.astype(np.float64), pad, mode="reflect")
    frames = waveform.size // view.hop_length
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(view.n_fft) / view.n_fft)
    index = np.arange(view.n_fft)[None, :] + view.hop_length * np.arange(frames)[:, None]
    magnitude = np.abs(np.fft.rfft(padded[index] * window, axis=-1)).T  # (bins, frames)
    bins = np.fft.rfftfreq(view.n_fft, 1 / view.sample_rate)
    rows = np.arange(view.height)
    if view.scale == "log":
        centres = view.fmin * 2.0 ** ((rows + 0.5) / view.pixels_per_octave)
        position = np.log2(np.maximum(bins, 1e-3) / view.fmin) * view.pixels_per_octave - 0.5
    else:
        centres = view.fmin + (rows + 0.5) * (view.fmax - view.fmin) / view.height
        position = (bins - view.fmin) / (view.fmax - view.fmin) * view.height - 0.5
    weights = np.maximum(np.clip(1 - np.abs(position[None, :] - rows[:, None]), 0, None),
                         np.clip(1 - np.abs(bins[None, :] - centres[:, None]) / (bins[1] - bins[0]), 0, None))
    level = 20 * np.log10(np.maximum(weights @ magnitude, 1e-12) / (view.n_fft / 4))
    return np.clip((level + view.gain_db + view.range_db) / view.range_db, 0, 1)[::-1]


@pytest.mark.parametrize("scale", ["linear", "log"])
def test_an_independent_numpy_view_agrees(scale):
    view = SMALL[scale]
    rng = np.random.default_rng(3)
    waveform = 0.1 * rng.standard_normal(view.sample_rate) + _tone(700.0, view.sample_rate).numpy()
    ours = analyse(torch.from_numpy(waveform.astype(np.float32)), view).numpy()
    theirs = _numpy_view(waveform, view)
    assert ours.shape == theirs.shape
    assert np.abs(ours - theirs).max() < 2e-3


def test_analysis_in_blocks_equals_one_block():
    view = SMALL["log"]
    waveform = torch.from_numpy(np.random.default_rng(0).standard_normal(3 * view.sample_rate).astype(np.float32))
    whole = analyse(waveform, view, block_frames=100_000)
    assert torch.allclose(analyse(waveform, view, block_frames=37), whole, atol=1e-5)


def test_blocks_join_without_a_seam():
    """Blocks of a signal that each block renders exactly join into that signal."""
    hop = 10
    signal = torch.sin(torch.arange(500 * hop, dtype=torch.float64) * 0.01)[None]
    joined = blockwise(lambda start, end: signal[:, start * hop: end * hop], frames=500, hop=hop, block=64,
                       context=8, fade=4)
    assert torch.allclose(joined, signal, atol=1e-12)
    tail = blockwise(lambda start, end: signal[:, start * hop: end * hop], frames=450, hop=hop, block=64,
                     context=8, fade=4)  # 448 + 2: a two-column remainder joins the block before it
    assert torch.allclose(tail, signal[:, : 450 * hop], atol=1e-12)


@pytest.mark.parametrize("scale, method, floor", [("linear", "rows", 0.95), ("log", "rows", 0.75),
                                                  ("linear", "additive", 0.8), ("linear", "griffinlim", 0.8)])
def test_round_trip_keeps_the_picture(scale, method, floor):
    view = SMALL[scale]
    picture = _smooth_picture(view.height, 200)
    waveform = reconstruct(picture[None], view, method=method, iterations=16)
    assert waveform.shape == (1, 200 * view.hop_length)
    heard = analyse(waveform, view)[0]
    assert float(ssim(picture, heard)) > floor
    assert float((heard - picture).abs().mean()) < 0.1  # within 8 dB of the 80 dB range on average


def test_long_pictures_are_made_in_blocks_that_join(monkeypatch):
    import spectrocanvas.canvas.view_synthesis as synthesis

    view = SMALL["linear"]
    picture = _smooth_picture(view.height, 400)
    monkeypatch.setattr(synthesis, "block_frames_for", lambda spec: 128)
    waveform = synthesis.reconstruct(picture[None], view, method="rows", iterations=16)
    heard = analyse(waveform, view)[0]
    assert float(ssim(picture, heard)) > 0.9


def test_mel_griffin_lim_is_the_vocoder_it_was():
    canvas = _smooth_picture(256, 120)
    old = GriffinLimVocoder(spec=AUFFUSION, seed=3, iterations=4)(canvas[None])
    new = reconstruct(canvas[None], AUFFUSION, method="griffinlim", iterations=4, seed=3)
    assert torch.equal(old, new)


@pytest.mark.parametrize("method", ["rows", "additive"])
def test_determinism_by_seed(method):
    view = SMALL["log"]
    picture = _smooth_picture(view.height, 60)
    first = reconstruct(picture[None], view, method=method, iterations=4, seed=5)
    assert torch.equal(first, reconstruct(picture[None], view, method=method, iterations=4, seed=5))
    assert not torch.equal(first, reconstruct(picture[None], view, method=method, iterations=4, seed=6))


def test_additive_rows_narrower_than_a_bin_keep_their_own_frequency():
    """Additive synthesis puts a log row at exactly its centre, even where rows are far narrower than a bin."""
    view = SMALL["log"]
    picture = torch.zeros(view.height, 100)
    row = 10  # 55 Hz · 2^(10.5/24): about 74 Hz, rows 2 Hz apart, bins 3.9 Hz
    picture[view.height - 1 - row] = 1.0
    waveform = additive(picture[None], view)[0].double().numpy()
    spectrum = np.abs(np.fft.rfft(waveform * np.hanning(waveform.size), n=32 * waveform.size))
    peak = np.fft.rfftfreq(32 * waveform.size, 1 / view.sample_rate)[spectrum.argmax()]
    assert peak == pytest.approx(float(view.centres()[row]), abs=0.2)


def test_filterbank_rows_see_the_spectrum():
    for view in SMALL.values():
        bank = filterbank(view)
        assert bank.shape == (view.height, view.n_fft // 2 + 1)
        assert bool((bank.max(dim=1).values > 0.3).all())


# ---- the command line -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def colour_picture(tmp_path_factory) -> Path:
    """Red disc (left channel) and green square (right channel) on black."""
    image = Image.new("RGB", (300, 128))
    draw = ImageDraw.Draw(image)
    draw.ellipse([20, 20, 120, 110], fill=(255, 0, 0))
    draw.rectangle([170, 30, 280, 100], fill=(0, 255, 0))
    path = tmp_path_factory.mktemp("pictures") / "colours.png"
    image.save(path)
    return path


@pytest.mark.parametrize("scale, rate", [("linear", 44100), ("log", 22050), ("mel", 48000)])
def test_sonify_in_each_scale(colour_picture, tmp_path, scale, rate):
    out = tmp_path / scale
    assert main(["sonify", str(colour_picture), "-o", str(out), "--scale", scale, "--sample-rate", str(rate),
                 "--seconds", "1", "--quiet", "--no-video"]) == 0
    audio, file_rate = soundfile.read(out / "audio.wav")
    assert file_rate == rate and audio.ndim == 1 and np.isfinite(audio).all()
    assert np.abs(audio).max() == pytest.approx(10 ** (-1 / 20), rel=1e-3)
    meta = json.loads((out / "meta.json").read_text())
    spectrogram = open_picture(out / "spectrogram.png")
    carried = view_spec_of(spectrogram)
    assert carried is not None and carried.sample_rate == rate and spectrogram.height == carried.height
    assert "description" in meta["viewer"] and meta["viewer"]["scale"] == scale
    if scale != "mel":
        assert meta["view"]["scale"] == scale
        assert meta["viewer"]["gain_db"] == pytest.approx(-20 * math.log10(meta["audio"]["gain"]), abs=1e-6)


def test_stereo_red_is_left_and_green_is_right(colour_picture, tmp_path):
    out = tmp_path / "stereo"
    assert main(["sonify", str(colour_picture), "-o", str(out), "--scale", "linear", "--stereo",
                 "--seconds", "2", "--quiet", "--no-video"]) == 0
    audio, rate = soundfile.read(out / "audio.wav")
    assert audio.ndim == 2 and audio.shape[1] == 2 and rate == 44100
    half = audio.shape[0] // 2
    left, right = audio[:, 0], audio[:, 1]
    # the red disc sounds in the first part on the left; the green square in the second on the right
    assert np.sqrt(np.mean(left[: int(half * 0.7)] ** 2)) > 10 * np.sqrt(np.mean(right[: int(half * 0.7)] ** 2))
    assert np.sqrt(np.mean(right[int(half * 1.2):] ** 2)) > 10 * np.sqrt(np.mean(left[int(half * 1.2):] ** 2))
    spectrogram = np.asarray(Image.open(out / "spectrogram.png"))
    assert spectrogram.shape[-1] == 3


def test_imprint_and_analyze_in_a_log_view(colour_picture, tmp_path):
    rate = 44100
    sound = 0.1 * np.random.default_rng(0).standard_normal(int(1.5 * rate))
    audio = tmp_path / "noise.wav"
    soundfile.write(audio, sound, rate)
    out = tmp_path / "carved"
    assert main(["imprint", "--image", str(colour_picture), "--audio", str(audio), "-o", str(out),
                 "--scale", "log", "--quiet", "--no-video"]) == 0
    written, file_rate = soundfile.read(out / "audio.wav")
    assert file_rate == rate and written.shape[0] == len(sound) // 440 * 440
    png = tmp_path / "view.png"
    assert main(["analyze", str(out / "audio.wav"), "-o", str(png), "--scale", "log"]) == 0
    picture = open_picture(png)
    assert view_spec_of(picture) == make_view(scale="log")
    assert picture.height == make_view(scale="log").height


BAD_VIEWS = [
    (["--scale", "linear", "--fmin", "5000", "--fmax", "4000"], "--fmin"),
    (["--scale", "linear", "--fmax", "30000"], "Nyquist"),
    (["--scale", "log", "--sample-rate", "12345"], "--sample-rate"),
    (["--scale", "log", "--pixels-per-octave", "0"], "--pixels-per-octave"),
    (["--scale", "log", "--pixels-per-octave", "-3"], "--pixels-per-octave"),
    (["--scale", "linear", "--fmin", "nan"], "finite"),
    (["--scale", "log", "--fmax", "inf"], "finite"),
    (["--scale", "log", "--fmin", "0"], "above 0"),
    (["--scale", "mel", "--fmin", "9000"], "--fmin"),
    (["--seconds", "nan"], "--seconds"),
]


@pytest.mark.parametrize("options, words", BAD_VIEWS)
def test_bad_view_options_end_in_one_line(colour_picture, tmp_path, capsys, options, words):
    out = tmp_path / "never"
    code = main(["sonify", str(colour_picture), "-o", str(out), "--quiet", "--no-video", *options])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and err[0].startswith("spectrocanvas: error:") and words in err[0]
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_make_view_errors_are_spectrocanvas_errors():
    with pytest.raises(SpectrocanvasError):
        make_view(scale="log", fmin=100.0, fmax=50.0)


def test_analyze_stereo_draws_left_in_red_and_right_in_green(tmp_path):
    rate = 44100
    t = np.arange(rate) / rate
    left = 0.5 * np.sin(2 * np.pi * 2000.0 * t)
    right = 0.5 * np.sin(2 * np.pi * 8000.0 * t)
    audio = tmp_path / "stereo.wav"
    soundfile.write(audio, np.stack([left, right], 1), rate)
    png = tmp_path / "stereo.png"
    assert main(["analyze", str(audio), "-o", str(png), "--scale", "linear", "--stereo"]) == 0
    pixels = np.asarray(Image.open(png)).astype(float)
    view = make_view(scale="linear")
    row_left = view.height - 1 - round(view.row_of(2000.0))
    row_right = view.height - 1 - round(view.row_of(8000.0))
    middle = slice(20, -20)
    assert pixels[row_left, middle, 0].mean() > 200 and pixels[row_left, middle, 1].mean() < 100
    assert pixels[row_right, middle, 1].mean() > 200 and pixels[row_right, middle, 0].mean() < 100


def test_imprint_stereo_carves_red_into_the_left_channel_and_green_into_the_right(tmp_path):
    rate = 44100
    noise = 0.1 * np.random.default_rng(3).standard_normal((2 * rate, 2))  # a stereo recording
    audio = tmp_path / "stereo-noise.wav"
    soundfile.write(audio, noise, rate)
    picture = np.zeros((64, 128, 3), dtype=np.uint8)
    picture[..., 0] = 255  # red everywhere: the left channel is left as it was
    picture[:, 64:, 1] = 255  # green on the right half only: the right channel is carved in the first half
    image = tmp_path / "red-green.png"
    Image.fromarray(picture).save(image)
    out = tmp_path / "carved"
    assert main(["imprint", "--image", str(image), "--audio", str(audio), "-o", str(out), "--scale", "linear",
                 "--stereo", "--strength", "1", "--quiet", "--no-video"]) == 0
    sound, written_rate = soundfile.read(out / "audio.wav")
    assert written_rate == rate and sound.shape[1] == 2
    first = slice(int(0.1 * rate), int(0.8 * rate))
    left_rms, right_rms = (np.sqrt(np.mean(sound[first, c] ** 2)) for c in (0, 1))
    assert left_rms > 10 * right_rms  # black in green (strength 1) carves the right channel away
    second = slice(int(1.2 * rate), int(1.9 * rate))
    assert np.sqrt(np.mean(sound[second, 1] ** 2)) > 0.3 * np.sqrt(np.mean(sound[second, 0] ** 2))
    assert np.asarray(Image.open(out / "spectrogram.png")).shape[-1] == 3
