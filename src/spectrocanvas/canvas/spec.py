"""The spectrogram canvas convention: one frozen dataclass holds every constant.

The default, :data:`AUFFUSION`, is the convention Auffusion was trained on: 16 kHz mono,
n_fft 2048, hop 160, Hann window 1024, ``center=False`` with reflect padding of
(n_fft - hop) / 2 per side, magnitude ``sqrt(re² + im² + 1e-9)``, 256 Slaney mel bands from
0 to 8000 Hz, ``log(clamp(mel, 1e-5))`` normalised to [0, 1] over ln 1e-5 … ln 200, rows
flipped so low frequencies are at the bottom, 100 frames per second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from spectrocanvas.canvas.spec_base import SpecBase


@dataclass(frozen=True)
class CanvasSpec(SpecBase):
    """Every constant that maps audio to a canvas and back."""

    KIND = "canvas"

    sample_rate: int = 16000
    n_fft: int = 2048
    hop_length: int = 160
    win_length: int = 1024
    n_mels: int = 256
    f_min: float = 0.0
    f_max: float = 8000.0
    magnitude_eps: float = 1e-9
    """Added under the square root of the STFT power (keeps gradients finite at zero)."""
    mel_floor: float = 1e-5
    """Mel magnitude mapped to canvas value 0 (and the clamp before the log)."""
    mel_ceiling: float = 200.0
    """Mel magnitude mapped to canvas value 1."""

    def __post_init__(self) -> None:
        problems = []
        if self.sample_rate <= 0:
            problems.append("sample_rate must be positive")
        if self.hop_length <= 0 or self.win_length <= 0 or self.n_fft <= 0:
            problems.append("hop_length, win_length and n_fft must be positive")
        if self.win_length > self.n_fft:
            problems.append("win_length must not exceed n_fft")
        if (self.n_fft - self.hop_length) % 2:
            problems.append("n_fft - hop_length must be even (it is split over both sides)")
        if self.n_mels <= 0:
            problems.append("n_mels must be positive")
        if not 0 <= self.f_min < self.f_max <= self.sample_rate / 2:
            problems.append("need 0 <= f_min < f_max <= sample_rate / 2")
        if not 0 < self.mel_floor < self.mel_ceiling:
            problems.append("need 0 < mel_floor < mel_ceiling")
        if problems:
            raise ValueError("invalid CanvasSpec: " + "; ".join(problems))

    # ---- derived quantities -------------------------------------------------------------
    @property
    def height(self) -> int:
        """Canvas rows: one per mel band."""
        return self.n_mels

    @property
    def padding(self) -> int:
        """Reflect padding applied to each side of the waveform before the STFT."""
        return (self.n_fft - self.hop_length) // 2

    @property
    def log_floor(self) -> float:
        return math.log(self.mel_floor)

    @property
    def log_ceiling(self) -> float:
        return math.log(self.mel_ceiling)

    @property
    def dynamic_range_db(self) -> float:
        """Span of the canvas in decibels of magnitude (about 143 dB by default)."""
        return 20.0 * math.log10(self.mel_ceiling / self.mel_floor)


AUFFUSION = CanvasSpec()
"""The default canvas: the convention of Auffusion (and of the paper)."""
