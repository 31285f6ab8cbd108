"""Slaney mel filterbank in pure torch, equal to librosa's default ``librosa.filters.mel``."""

from __future__ import annotations

import functools
import math

import torch


def hz_to_mel(hz: torch.Tensor) -> torch.Tensor:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0
    linear = hz / f_sp
    log_part = min_log_mel + torch.log(torch.clamp(hz, min=min_log_hz) / min_log_hz) / logstep
    return torch.where(hz >= min_log_hz, log_part, linear)


def mel_to_hz(mel: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`hz_to_mel`."""
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0
    linear = mel * f_sp
    log_part = min_log_hz * torch.exp(logstep * (mel - min_log_mel))
    return torch.where(mel >= min_log_mel, log_part, linear)


@functools.lru_cache(maxsize=16)
def _mel_filterbank_cpu(sample_rate: int, n_fft: int, n_mels: int, f_min: float, f_max: float) -> torch.Tensor:
    fft_freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    mel_min, mel_max = hz_to_mel(torch.tensor([f_min, f_max], dtype=torch.float64))
    mel_points = torch.linspace(float(mel_min), float(mel_max), n_mels + 2, dtype=torch.float64)
    hz_points = mel_to_hz(mel_points)
    widths = hz_points[1:] - hz_points[:-1]
    ramps = hz_points[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = torch.clamp(torch.minimum(lower, upper), min=0.0)
    weights *= (2.0 / (hz_points[2:] - hz_points[:-2]))[:, None]  # Slaney area normalisation
    return weights.to(torch.float32).contiguous()


def mel_filterbank(
    *, sample_rate: int, n_fft: int, n_mels: int, f_min: float, f_max: float,
    device: torch.device | str | None = None, dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Filterbank of shape (n_mels, n_fft // 2 + 1); cached on every parameter."""
    bank = _mel_filterbank_cpu(int(sample_rate), int(n_fft), int(n_mels), float(f_min), float(f_max))
    return bank.to(device=device, dtype=dtype)
