"""Carving a picture into a spectrogram: the arithmetic of `imprint` and of the paper's imprint baseline."""

from __future__ import annotations

import torch


def imprint_canvas(spectrogram: torch.Tensor, picture: torch.Tensor, *, strength: float = 0.5,
                   invert: bool = True) -> torch.Tensor:
    """``spectrogram × (1 − strength × picture′)`` with ``picture′ = 1 − picture`` when ``invert``.

    Both (..., n_mels, frames) in [0, 1]; dark parts of the picture carve the sound away.
    """
    carved = 1.0 - picture if invert else picture
    return spectrogram * (1.0 - strength * carved)
