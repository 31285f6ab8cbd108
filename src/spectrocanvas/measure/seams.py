"""How visible the joins of a long canvas's windows are.

A long canvas is denoised in overlapping windows whose grid moves from step to step
(:mod:`spectrocanvas.diffusion.windows`). A seam would show as a larger change from one column to
the next where windows joined. For each step's grid, the ratio of the mean column-to-column change
at its joins to the mean elsewhere; the measure is the mean of those ratios over the steps (1: the
joins look like any other column). The same statistic on random column sets of the same sizes
says how far from 1 it wanders by chance.
"""

from __future__ import annotations

import torch

from spectrocanvas.diffusion.windows import grid_offset, window_starts
from spectrocanvas.generate.settings import GenerateSettings
from spectrocanvas.pairs.interface import ModelPair


def column_change(canvases: torch.Tensor) -> torch.Tensor:
    """Canvases (N, H, W) → the mean absolute change from each column to the next, (W − 1,)."""
    return (canvases[..., 1:] - canvases[..., :-1]).abs().mean(dim=(0, 1))


def join_columns(settings: GenerateSettings, pair: ModelPair) -> list[list[int]]:
    """Per denoising step, the canvas columns j where a window began or ended (between j − 1 and j)."""
    scheduler = pair.scheduler(settings.scheduler)
    scheduler.set_timesteps(settings.steps)
    width, window = settings.latent_width, pair.entry.native_latent[1]
    scale = pair.entry.latent_scale
    joins = []
    for t in list(scheduler.timesteps)[settings.first_step:]:
        starts = window_starts(width, window, settings.window_stride, loop=settings.loop,
                               offset=grid_offset(t, settings.window_stride))
        edges = {edge % width if settings.loop else edge for start in starts for edge in (start, start + window)}
        joins.append(sorted(edge * scale for edge in edges if 0 < edge < width))
    return joins


def _ratio(change: torch.Tensor, columns: list[int]) -> float:
    mask = torch.zeros(change.shape[0], dtype=torch.bool)
    mask[[j - 1 for j in columns if 0 < j <= change.shape[0]]] = True
    return float(change[mask].mean() / change[~mask].mean())


def seam_ratio(change: torch.Tensor, joins: list[list[int]]) -> float:
    """Mean over the steps of (change at that step's joins) / (change elsewhere)."""
    return sum(_ratio(change, columns) for columns in joins) / len(joins)


def chance_ratios(change: torch.Tensor, joins: list[list[int]], *, draws: int = 500, seed: int = 0) -> torch.Tensor:
    """(draws,) :func:`seam_ratio` of random column sets of the joins' sizes: the statistic by chance."""
    generator = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(draws):
        random_joins = [(torch.randperm(change.shape[0], generator=generator)[:len(c)] + 1).tolist() for c in joins]
        out.append(seam_ratio(change, random_joins))
    return torch.tensor(out)
