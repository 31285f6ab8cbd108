"""ᾱ_t of a diffusion model's training schedule, read from its ``scheduler_config``, in pure torch.

Diffusers builds the same numbers inside every scheduler, but importing diffusers costs seconds
(it pulls in ``torch._dynamo``); the pocket path, which must start fast, and the schedule checks
of the composition sampler only need ᾱ_t. The three beta schedules the models of this project use
are computed here as diffusers computes them (float32 betas, float32 cumulative product); any
other config (trained betas aside) is handed to diffusers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

MAX_BETA = 0.999
"""The cap on β of the cosine schedule (Nichol & Dhariwal 2021)."""


def cosine_alpha_bar(t: float) -> float:
    """ᾱ(t) of the cosine schedule, t ∈ [0, 1] (offset s = 0.008)."""
    return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2


def betas_of(config: Mapping[str, Any]) -> torch.Tensor:
    """β_t (T,) float32 of ``config`` (``num_train_timesteps``, ``beta_schedule``, ``beta_start``,
    ``beta_end`` or ``trained_betas``)."""
    steps = int(config.get("num_train_timesteps", 1000))
    start, end = float(config.get("beta_start", 0.0001)), float(config.get("beta_end", 0.02))
    schedule = config.get("beta_schedule", "linear")
    if config.get("trained_betas") is not None:
        return torch.tensor(config["trained_betas"], dtype=torch.float32)
    if config.get("rescale_betas_zero_snr"):
        return _diffusers_betas(config)
    if schedule == "linear":
        return torch.linspace(start, end, steps, dtype=torch.float32)
    if schedule == "scaled_linear":
        return torch.linspace(start ** 0.5, end ** 0.5, steps, dtype=torch.float32) ** 2
    if schedule == "squaredcos_cap_v2":
        betas = [min(1 - cosine_alpha_bar((i + 1) / steps) / cosine_alpha_bar(i / steps), MAX_BETA)
                 for i in range(steps)]
        return torch.tensor(betas, dtype=torch.float32)
    return _diffusers_betas(config)


def alphas_cumprod_of(config: Mapping[str, Any]) -> torch.Tensor:
    """ᾱ_t = Π_{s≤t} (1 − β_s), (T,) float32, exactly as a diffusers scheduler of ``config`` holds it."""
    return torch.cumprod(1.0 - betas_of(config), dim=0)


def _diffusers_betas(config: Mapping[str, Any]) -> torch.Tensor:
    from diffusers import DDPMScheduler  # seconds to import: only for a schedule this module does not compute

    return DDPMScheduler.from_config(dict(config)).betas.float()
