"""Fast Griffin-Lim (Perraudin et al. 2013, with momentum), pure torch and batched.

Works in the frame of the padded signal: the canvas STFT reflect-pads the waveform by
``spec.padding`` per side and uses ``center=False``; phase retrieval runs on a free signal of
the padded length and the waveform is its middle part.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from spectrocanvas.canvas import AUFFUSION, CanvasSpec
from spectrocanvas.spectral import analysis_window


def _full_window(spec: CanvasSpec, device, dtype) -> torch.Tensor:
    """The Hann window zero-padded (centred) to n_fft, as torch.stft applies it."""
    window = analysis_window(spec, device, dtype)
    left = (spec.n_fft - spec.win_length) // 2
    return F.pad(window, (left, spec.n_fft - spec.win_length - left))


def _frames_stft(signal: torch.Tensor, spec: CanvasSpec) -> torch.Tensor:
    """(B, Lz) → (B, n_fft // 2 + 1, T) with center=False (no padding)."""
    return torch.stft(signal, n_fft=spec.n_fft, hop_length=spec.hop_length, win_length=spec.win_length,
                      window=analysis_window(spec, signal.device, signal.dtype), center=False,
                      return_complex=True)


def _overlap_add(complex_spec: torch.Tensor, spec: CanvasSpec, length: int,
                 window: torch.Tensor, inverse_envelope: torch.Tensor) -> torch.Tensor:
    """Least-squares inverse STFT: (B, F, T) complex → (B, length)."""
    frames = torch.fft.irfft(complex_spec, n=spec.n_fft, dim=-2) * window[:, None]
    summed = F.fold(frames, output_size=(1, length), kernel_size=(1, spec.n_fft), stride=(1, spec.hop_length))
    return summed.reshape(complex_spec.shape[0], length) * inverse_envelope


def _inverse_envelope(spec: CanvasSpec, frames: int, window: torch.Tensor) -> torch.Tensor:
    length = spec.n_fft + (frames - 1) * spec.hop_length
    squares = (window ** 2)[None, :, None].expand(1, spec.n_fft, frames)
    envelope = F.fold(squares, output_size=(1, length), kernel_size=(1, spec.n_fft),
                      stride=(1, spec.hop_length)).reshape(length)
    tiny = 1e-8 * float(envelope.max())
    return torch.where(envelope > tiny, 1.0 / envelope.clamp(min=tiny), torch.zeros_like(envelope))


def griffin_lim(
    linear_magnitude: torch.Tensor,
    spec: CanvasSpec = AUFFUSION,
    *,
    iterations: int = 32,
    momentum: float = 0.99,
    generator: torch.Generator | None = None,
    callback: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """Phase retrieval from a linear magnitude.

    linear_magnitude: (..., n_fft // 2 + 1, frames) → waveform (..., frames * hop).
    Phase starts random (from ``generator``, on the CPU, so results do not depend on device).
    """
    batch_shape = linear_magnitude.shape[:-2]
    target = linear_magnitude.reshape(-1, *linear_magnitude.shape[-2:])
    n_frames = target.shape[-1]
    device, dtype = target.device, target.dtype
    window = _full_window(spec, device, dtype)
    inverse_envelope = _inverse_envelope(spec, n_frames, window)
    padded_length = spec.n_fft + (n_frames - 1) * spec.hop_length

    phase = torch.rand(target.shape, generator=generator, dtype=dtype) * (2 * torch.pi)
    angles = torch.polar(torch.ones_like(phase), phase).to(device)
    previous = torch.zeros_like(angles)
    blend = momentum / (1.0 + momentum)
    for step in range(iterations):
        signal = _overlap_add(target * angles, spec, padded_length, window, inverse_envelope)
        rebuilt = _frames_stft(signal, spec)
        angles = rebuilt - blend * previous
        angles = angles / (angles.abs() + 1e-16)
        previous = rebuilt
        if callback is not None:
            callback(step)
    signal = _overlap_add(target * angles, spec, padded_length, window, inverse_envelope)
    waveform = signal[:, spec.padding: spec.padding + n_frames * spec.hop_length]
    return waveform.reshape(*batch_shape, waveform.shape[-1])
