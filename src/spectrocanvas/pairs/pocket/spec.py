"""The pocket canvas: the canvas convention scaled down so small models can learn it on a CPU.

16 kHz mono (as the full convention), n_fft 512, hop 250 → exactly 64 frames per second, so
2 s is 128 columns (a multiple of 8, which the UNet's three halvings need); Hann window 512;
(n_fft − hop) = 262 is even, so the reflect padding splits evenly. 32 Slaney mel bands over
0–8000 Hz: the lowest band is about 90 Hz wide, three FFT bins (31.25 Hz each), so no band is
empty. The canvas is 32 × 128. Floor and ceiling span 100 dB (5e-5 … 5): a full-scale sine
reaches about 0.93, and 16-bit quantisation noise (mel ≈ 1e-5) stays under the floor, so what
the canvas draws survives being written to a WAV and read back.
"""

from __future__ import annotations

import torch

from spectrocanvas.canvas.spec import CanvasSpec

POCKET = CanvasSpec(sample_rate=16000, n_fft=512, hop_length=250, win_length=512, n_mels=32,
                    f_min=0.0, f_max=8000.0, mel_floor=5e-5, mel_ceiling=5.0)
"""The pocket canvas convention (32 mel bands, 64 frames per second)."""

SECONDS = 2.0
HEIGHT = POCKET.n_mels
WIDTH = POCKET.frames_for_seconds(SECONDS)
SAMPLES = POCKET.samples_for_frames(WIDTH)
CANVAS_SHAPE = (1, HEIGHT, WIDTH)
"""Model-side shape of one sample: (channels, rows, columns) = (1, 32, 128)."""


def to_model(canvas: torch.Tensor) -> torch.Tensor:
    """Canvas in [0, 1] (any shape) → model space [-1, 1]."""
    return canvas * 2.0 - 1.0


def from_model(x: torch.Tensor) -> torch.Tensor:
    """Model space [-1, 1] → canvas in [0, 1], clamped."""
    return ((x + 1.0) * 0.5).clamp(0.0, 1.0)
