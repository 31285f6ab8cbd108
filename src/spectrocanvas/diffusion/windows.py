"""Canvases of any length from models of one native width (MultiDiffusion, Bar-Tal et al. 2023).

A wide latent is denoised as overlapping windows of the model's native width; each window's noise
estimate is weighted by a smooth bump (high in its middle, low at its edges) and the estimates are
averaged where windows overlap, and the windows' grid moves from step to step, so no window's
edge leaves a seam. With ``loop`` the windows wrap around the end, so the last column continues
into the first. The wrapper is a denoiser like any
other: the composition sampler, guidance and schedulers need not know.
"""

from __future__ import annotations

import functools
import math

import torch

from spectrocanvas.diffusion.sampler import Denoiser
from spectrocanvas.errors import SpectrocanvasError

MAX_WINDOWS_PER_CALL = 32
"""Windows sent to the model in one batch (per sample): bounds the memory of long canvases."""


def window_starts(width: int, window: int, stride: int, *, loop: bool = False, offset: int = 0) -> list[int]:
    """First columns of the windows that cover ``width`` columns, on a grid shifted by ``offset``.

    Not looping: a window flush with the left edge, then offset, offset + stride, … and a window
    flush with the right edge. Looping: offset, offset + stride, … around the width (windows wrap).
    """
    if window < 1 or stride < 1 or stride > window:
        raise SpectrocanvasError(f"window stride must be between 1 and the window ({window}), not {stride}")
    if width < window:
        raise SpectrocanvasError(f"a canvas of {width} latent columns is narrower than one window ({window})")
    offset %= stride
    if loop:
        return list(range(offset, width + offset, stride))
    inner = [s for s in range(offset, width - window + 1, stride) if 0 < s < width - window]
    return sorted({0, *inner, width - window})


def grid_offset(t: torch.Tensor | int, stride: int) -> int:
    """Where the window grid starts at timestep ``t``: a different place at every step (a fixed
    pseudo-random function of t), so no column is a window's edge at every step and seams cannot
    build up there."""
    first = int(t.reshape(-1)[0]) if torch.is_tensor(t) else int(t)
    mask = (1 << 64) - 1
    z = (first + 0x9E3779B97F4A7C15) & mask  # splitmix64: evenly spread even for evenly spaced timesteps
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return (z ^ (z >> 31)) % stride


@functools.lru_cache(maxsize=16)
def _bump(window: int) -> torch.Tensor:
    return torch.sin(math.pi * (torch.arange(window, dtype=torch.float64) + 0.5) / window).float()


def blend_weights(window: int) -> torch.Tensor:
    """(window,) weights of one window's columns: sin(π (x + ½) / window), positive everywhere, 1 in the middle."""
    return _bump(window)


def window_columns(starts: list[int], window: int, width: int) -> torch.Tensor:
    """(windows, window) column indices of every window, wrapping past ``width``."""
    return (torch.tensor(starts)[:, None] + torch.arange(window)[None, :]) % width


def windowed(denoiser: Denoiser, *, window: int, stride: int, loop: bool = False) -> Denoiser:
    """``denoiser`` over latents of any width ≥ ``window``: the blended estimates of its windows.

    At the native width without ``loop`` it is ``denoiser`` itself, so a native canvas is what the
    plain sampler makes. Latents (B, C, h, W), timestep (scalar or (B,)), cond (B or 1, …) → ε (B, C, h, W).
    """

    def blended(latents: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        batch, width = latents.shape[0], latents.shape[-1]
        if width == window and not loop:
            return denoiser(latents, t, cond)
        starts = window_starts(width, window, stride, loop=loop, offset=grid_offset(t, stride))
        columns = window_columns(starts, window, width).to(latents.device)
        weights = blend_weights(window).to(latents.device, latents.dtype)
        total = torch.zeros_like(latents)
        norm = torch.zeros(width, device=latents.device, dtype=latents.dtype)
        per_sample_t = torch.is_tensor(t) and t.dim() == 1
        for chunk in columns.split(MAX_WINDOWS_PER_CALL):
            k = chunk.shape[0]
            # (B, C, h, k, window) → (k·B, C, h, window), window-major so each window keeps the batch order
            pieces = latents[..., chunk].permute(3, 0, 1, 2, 4).reshape(k * batch, *latents.shape[1:-1], window)
            conds = cond.repeat(k, *([1] * (cond.dim() - 1))) if cond.shape[0] == batch else cond
            times = t.repeat(k) if per_sample_t else t
            eps = denoiser(pieces, times, conds).reshape(k, batch, *latents.shape[1:-1], window)
            for j in range(k):
                total.index_add_(-1, chunk[j], eps[j] * weights)
                norm.index_add_(0, chunk[j], weights)
        return total / norm

    return blended
