"""Sound levels, pure torch: the gain that brings a waveform to a stated peak or to a recording's loudness.

A canvas's absolute level is what its mel magnitudes say (a bright photograph sonifies to peaks of
tens of times full scale, a carved recording to a whisper); the files people play are brought to a
stated peak instead, and the gain applied is recorded so the canvas-level sound can be recovered
(``waveform / gain``).
"""

from __future__ import annotations

import math

import torch

DEFAULT_PEAK_DB = -1.0
"""The peak every audio file is normalised to unless told otherwise (dBFS)."""
PEAK_DB_RANGE = (-60.0, 0.0)


def db_to_gain(db: float) -> float:
    """Decibels → linear amplitude factor."""
    return 10.0 ** (db / 20.0)


def gain_to_db(gain: float) -> float | None:
    """Linear amplitude factor → decibels (None for silence: no finite value)."""
    return 20.0 * math.log10(gain) if gain > 0 else None


LONG_SAMPLES = 1 << 22
"""Longer waveforms are summed in pieces of this many samples (no float64 copy of a 10-minute sound)."""


def peak(waveform: torch.Tensor) -> float:
    """Largest absolute sample of (..., samples); 0 for an empty tensor (no copy of the waveform)."""
    return float(torch.maximum(waveform.max(), -waveform.min())) if waveform.numel() else 0.0


def rms(waveform: torch.Tensor) -> float:
    """Root mean square over every sample of (..., samples), in float64 (in pieces when long)."""
    if not waveform.numel():
        return 0.0
    if waveform.numel() <= LONG_SAMPLES:
        return float(waveform.double().square().mean().sqrt())
    flat = waveform.reshape(-1)
    total = sum(float(flat[i: i + LONG_SAMPLES].double().square().sum()) for i in range(0, flat.numel(), LONG_SAMPLES))
    return (total / flat.numel()) ** 0.5


def peak_gain(waveform: torch.Tensor, peak_db: float) -> float:
    """The gain that makes the waveform's peak ``peak_db`` dBFS (1.0 for silence)."""
    top = peak(waveform)
    return db_to_gain(peak_db) / top if top > 0 else 1.0


def matched_gain(waveform: torch.Tensor, *, reference_rms: float, peak_db: float) -> float:
    """The gain that gives the waveform the RMS ``reference_rms`` (a recording's loudness), lowered
    where that would take its peak over ``peak_db`` dBFS (1.0 for silence)."""
    level = rms(waveform)
    if level <= 0 or reference_rms <= 0:
        return 1.0
    return min(reference_rms / level, peak_gain(waveform, peak_db))
