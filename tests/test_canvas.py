"""The canvas convention: constants, serialisation, and the analysis against its formula."""

import math

import librosa
import numpy as np
import pytest
import torch

from spectrocanvas.canvas import AUFFUSION, CanvasSpec
from spectrocanvas.canvas.analysis import audio_to_canvas, canvas_to_log_mel, canvas_to_mel, mel_to_canvas, stft
from spectrocanvas.canvas.mel import mel_filterbank

GRID = [
    AUFFUSION,
    CanvasSpec(sample_rate=22050, n_fft=1024, hop_length=256, win_length=1024, n_mels=128, f_max=11025.0),
    CanvasSpec(sample_rate=16000, n_fft=512, hop_length=128, win_length=512, n_mels=32, f_max=8000.0),
    CanvasSpec(sample_rate=44100, n_fft=2048, hop_length=512, win_length=2048, n_mels=128, f_min=30.0,
               f_max=16000.0),
]


def test_auffusion_defaults_match_the_design():
    spec = AUFFUSION
    assert (spec.sample_rate, spec.n_fft, spec.hop_length, spec.win_length) == (16000, 2048, 160, 1024)
    assert (spec.n_mels, spec.f_min, spec.f_max) == (256, 0.0, 8000.0)
    assert spec.padding == 944 and spec.frames_per_second == 100
    assert spec.frames_for_seconds(10.24) == 1024
    assert spec.dynamic_range_db == pytest.approx(20 * math.log10(200 / 1e-5))  # 146.0 dB


def test_spec_is_frozen_and_serialises():
    with pytest.raises(Exception):
        AUFFUSION.n_mels = 3  # type: ignore[misc]
    for spec in GRID:
        assert CanvasSpec.from_json(spec.to_json()) == spec
    with pytest.raises(ValueError):
        CanvasSpec.from_dict({"n_mels": 8, "bogus": 1})
    with pytest.raises(ValueError):
        CanvasSpec(win_length=4096)


@pytest.mark.parametrize("spec", GRID, ids=lambda s: f"sr{s.sample_rate}-fft{s.n_fft}-hop{s.hop_length}")
def test_filterbank_equals_librosa(spec):
    ours = mel_filterbank(sample_rate=spec.sample_rate, n_fft=spec.n_fft, n_mels=spec.n_mels,
                          f_min=spec.f_min, f_max=spec.f_max).numpy()
    reference = librosa.filters.mel(sr=spec.sample_rate, n_fft=spec.n_fft, n_mels=spec.n_mels,
                                    fmin=spec.f_min, fmax=spec.f_max)
    np.testing.assert_allclose(ours, reference, atol=1e-7, rtol=1e-5)


def _reference_canvas(signal: np.ndarray, spec: CanvasSpec) -> np.ndarray:
    """The convention written out with numpy and librosa, independently of the torch code."""
    padded = np.pad(signal, (spec.padding, spec.padding), mode="reflect")
    window = np.zeros(spec.n_fft)
    left = (spec.n_fft - spec.win_length) // 2
    n = np.arange(spec.win_length)
    window[left:left + spec.win_length] = 0.5 - 0.5 * np.cos(2 * np.pi * n / spec.win_length)
    frames = 1 + (padded.size - spec.n_fft) // spec.hop_length
    columns = np.stack([padded[i * spec.hop_length: i * spec.hop_length + spec.n_fft] * window
                        for i in range(frames)], axis=1)
    spectrum = np.fft.rfft(columns, axis=0)
    magnitude = np.sqrt(spectrum.real ** 2 + spectrum.imag ** 2 + spec.magnitude_eps)
    mel = librosa.filters.mel(sr=spec.sample_rate, n_fft=spec.n_fft, n_mels=spec.n_mels,
                              fmin=spec.f_min, fmax=spec.f_max) @ magnitude
    log_mel = np.log(np.clip(mel, spec.mel_floor, None))
    normalised = (log_mel - math.log(spec.mel_floor)) / (math.log(spec.mel_ceiling) - math.log(spec.mel_floor))
    return np.clip(normalised, 0, 1)[::-1]


@pytest.mark.parametrize("spec", GRID, ids=lambda s: f"sr{s.sample_rate}-fft{s.n_fft}-hop{s.hop_length}")
def test_analysis_follows_the_formula(spec):
    rng = np.random.default_rng(0)
    samples = spec.hop_length * 40
    t = np.arange(samples) / spec.sample_rate
    signal = 0.5 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(samples)
    ours = audio_to_canvas(torch.tensor(signal, dtype=torch.float64), spec).numpy()
    assert ours.shape == (spec.n_mels, samples // spec.hop_length)
    np.testing.assert_allclose(ours, _reference_canvas(signal, spec), atol=2e-6)


@pytest.mark.parametrize("spec", GRID, ids=lambda s: f"sr{s.sample_rate}-fft{s.n_fft}-hop{s.hop_length}")
def test_canvas_mel_round_trip(spec):
    canvas = torch.rand(2, spec.n_mels, 17, dtype=torch.float64)
    assert torch.allclose(mel_to_canvas(canvas_to_mel(canvas, spec), spec), canvas, atol=1e-12)
    log_mel = canvas_to_log_mel(canvas, spec)
    assert torch.allclose(log_mel[..., 0, :], canvas[..., -1, :] * (spec.log_ceiling - spec.log_floor) + spec.log_floor)


def test_low_frequencies_are_at_the_bottom():
    t = torch.arange(AUFFUSION.samples_for_frames(50)) / AUFFUSION.sample_rate
    canvas = audio_to_canvas(0.5 * torch.sin(2 * torch.pi * 200.0 * t))
    brightest_row = int(canvas[:, 25].argmax())
    assert brightest_row > AUFFUSION.n_mels * 3 // 4


def test_frames_follow_the_length_and_batches_work():
    waves = torch.randn(3, 2, AUFFUSION.hop_length * 33 + 17)
    canvas = audio_to_canvas(waves)
    assert canvas.shape == (3, 2, 256, 33)
    assert torch.allclose(canvas[1, 0], audio_to_canvas(waves[1, 0]), atol=1e-6)
    assert stft(waves[0, 0]).shape == (1025, 33)
