"""Audio ⇄ canvas, pure torch maths (tensor in, tensor out). File I/O lives elsewhere."""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from spectrocanvas.canvas.mel import mel_filterbank
from spectrocanvas.canvas.spec import AUFFUSION, CanvasSpec


def analysis_window(spec: CanvasSpec, device=None, dtype=torch.float32) -> torch.Tensor:
    """Periodic Hann window of ``win_length`` (torch pads it to n_fft, centred)."""
    return torch.hann_window(spec.win_length, periodic=True, device=device, dtype=dtype)


def filterbank(spec: CanvasSpec, device=None, dtype=torch.float32) -> torch.Tensor:
    """Mel filterbank of shape (n_mels, n_fft // 2 + 1)."""
    return mel_filterbank(sample_rate=spec.sample_rate, n_fft=spec.n_fft, n_mels=spec.n_mels,
                          f_min=spec.f_min, f_max=spec.f_max, device=device, dtype=dtype)


def stft(waveform: torch.Tensor, spec: CanvasSpec = AUFFUSION) -> torch.Tensor:
    """Complex STFT of the canvas convention.

    waveform: (..., samples) → (..., n_fft // 2 + 1, samples // hop) complex.
    Reflect padding of (n_fft - hop) / 2 per side, then ``center=False``.
    """
    batch_shape = waveform.shape[:-1]
    flat = waveform.reshape(-1, 1, waveform.shape[-1])
    if flat.shape[-1] <= spec.padding:
        raise ValueError(f"waveform of {flat.shape[-1]} samples is too short for the canvas "
                         f"(needs more than {spec.padding})")
    padded = F.pad(flat, (spec.padding, spec.padding), mode="reflect").squeeze(1)
    out = torch.stft(padded, n_fft=spec.n_fft, hop_length=spec.hop_length, win_length=spec.win_length,
                     window=analysis_window(spec, waveform.device, waveform.dtype), center=False,
                     return_complex=True)
    return out.reshape(*batch_shape, *out.shape[-2:])


def magnitude(complex_spec: torch.Tensor, spec: CanvasSpec = AUFFUSION) -> torch.Tensor:
    """``sqrt(re² + im² + eps)``, same shape, real."""
    return torch.sqrt(complex_spec.real ** 2 + complex_spec.imag ** 2 + spec.magnitude_eps)


def linear_to_mel(linear_magnitude: torch.Tensor, spec: CanvasSpec = AUFFUSION) -> torch.Tensor:
    """(..., n_fft // 2 + 1, frames) → (..., n_mels, frames)."""
    return filterbank(spec, linear_magnitude.device, linear_magnitude.dtype) @ linear_magnitude


def mel_to_canvas(mel: torch.Tensor, spec: CanvasSpec = AUFFUSION) -> torch.Tensor:
    """Mel magnitude (..., n_mels, frames) → canvas in [0, 1], low frequencies at the bottom."""
    log_mel = torch.log(torch.clamp(mel, min=spec.mel_floor))
    normalised = (log_mel - spec.log_floor) / (spec.log_ceiling - spec.log_floor)
    return torch.clamp(normalised, 0.0, 1.0).flip(-2)


def canvas_to_log_mel(canvas: torch.Tensor, spec: CanvasSpec = AUFFUSION) -> torch.Tensor:
    """Canvas (..., n_mels, frames) → natural-log mel with low frequencies first (row 0)."""
    return canvas.flip(-2) * (spec.log_ceiling - spec.log_floor) + spec.log_floor


def canvas_to_mel(canvas: torch.Tensor, spec: CanvasSpec = AUFFUSION) -> torch.Tensor:
    """Canvas (..., n_mels, frames) → mel magnitude (..., n_mels, frames), low frequencies first."""
    return torch.exp(canvas_to_log_mel(canvas, spec))


def audio_to_canvas(waveform: torch.Tensor, spec: CanvasSpec = AUFFUSION) -> torch.Tensor:
    """Waveform (..., samples) at ``spec.sample_rate`` → canvas (..., n_mels, samples // hop)."""
    return mel_to_canvas(linear_to_mel(magnitude(stft(waveform, spec), spec), spec), spec)


@functools.lru_cache(maxsize=8)
def _pseudo_inverse_cpu(spec: CanvasSpec) -> torch.Tensor:
    return torch.linalg.pinv(filterbank(spec).double()).float()


def mel_to_linear(mel: torch.Tensor, spec: CanvasSpec = AUFFUSION, iterations: int = 0) -> torch.Tensor:
    """Approximate non-negative linear magnitude from mel magnitude.

    mel: (..., n_mels, frames) → (..., n_fft // 2 + 1, frames). Starts from the clamped
    pseudo-inverse; ``iterations`` multiplicative updates (non-negative least squares in the
    Lee–Seung form) then refine it towards ``filterbank @ x ≈ mel``.
    """
    bank = filterbank(spec, mel.device, mel.dtype)
    linear = torch.clamp(_pseudo_inverse_cpu(spec).to(mel.device, mel.dtype) @ mel, min=0.0)
    linear = linear + spec.mel_floor * 1e-3
    if iterations:
        gram_target = bank.transpose(0, 1) @ mel
        for _ in range(iterations):
            linear = linear * gram_target / (bank.transpose(0, 1) @ (bank @ linear) + 1e-12)
    return linear
