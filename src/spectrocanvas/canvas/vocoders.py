"""The vocoder interface: canvas → waveform. Griffin-Lim needs no weights; HiFi-GAN does."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, runtime_checkable

import torch

from spectrocanvas.canvas.analysis import canvas_to_mel, mel_to_linear
from spectrocanvas.canvas.griffinlim import griffin_lim
from spectrocanvas.canvas.spec import AUFFUSION, CanvasSpec


@runtime_checkable
class Vocoder(Protocol):
    """Turns canvases into waveforms at ``spec.sample_rate``."""

    spec: CanvasSpec

    def __call__(self, canvas: torch.Tensor) -> torch.Tensor:
        """canvas (B, n_mels, frames) in [0, 1] → waveform (B, frames * hop)."""
        ...

    def describe(self) -> dict[str, Any]:
        """Settings to record in meta.json."""
        ...


@dataclass
class GriffinLimVocoder:
    """Mel → linear magnitude (pseudo-inverse refined by NNLS updates), then fast Griffin-Lim.

    Defaults from ``benchmarks/bench_griffinlim.py --sweep`` (BENCHMARKS.md): on four
    photographs the mean SSIM of the re-analysed canvas is 0.7946 / 0.8024 / 0.8073 / 0.8097 / 0.8115
    at 8 / 16 / 32 / 64 / 128 iterations, so quality saturates near 32 while time keeps growing
    linearly; momentum 0.99 beat 0.5, 1.2, 1.5 and 2; more than 10 NNLS updates add < 0.001.
    """

    spec: CanvasSpec = AUFFUSION
    iterations: int = 32
    momentum: float = 0.99
    mel_iterations: int = 10
    seed: int = 0
    progress: Callable[[int], None] | None = field(default=None, repr=False)

    def __call__(self, canvas: torch.Tensor) -> torch.Tensor:
        linear = mel_to_linear(canvas_to_mel(canvas, self.spec), self.spec, iterations=self.mel_iterations)
        generator = torch.Generator().manual_seed(self.seed)
        return griffin_lim(linear, self.spec, iterations=self.iterations, momentum=self.momentum,
                           generator=generator, callback=self.progress)

    def describe(self) -> dict[str, Any]:
        return {"name": "griffinlim", "iterations": self.iterations, "momentum": self.momentum,
                "mel_iterations": self.mel_iterations, "seed": self.seed}


def play_looped(vocoder: Vocoder, canvas: torch.Tensor, *, crossfade: int | None = None) -> torch.Tensor:
    """A waveform that loops without a click: canvas (B, n_mels, frames) → (B, frames · hop).

    The canvas is played three times in a row and the middle copy kept, so both of its ends were
    made with their neighbours in place; its first ``crossfade`` samples (default one analysis
    window) then fade in from what followed it, so the last sample runs on into the first.
    """
    hop = vocoder.spec.hop_length
    length = canvas.shape[-1] * hop
    wave = vocoder(torch.cat([canvas, canvas, canvas], dim=-1))
    middle = wave[..., length: 2 * length].clone()
    fade = min(crossfade if crossfade is not None else vocoder.spec.win_length, length)
    if fade > 0:
        ramp = torch.linspace(0.0, 1.0, fade, dtype=wave.dtype, device=wave.device)
        follows = wave[..., 2 * length: 2 * length + fade]
        middle[..., :fade] = follows * (1 - ramp) + middle[..., :fade] * ramp
    return middle
