"""The one noise schedule both pocket denoisers are trained with, and the sampler for it.

Cosine schedule (``squaredcos_cap_v2``) over 1000 training steps, ε-prediction, pixel space in
[-1, 1]. Sampling clips the predicted clean canvas to [-1, 1] and derives ε again from it
(:class:`~spectrocanvas.diffusion.ddim.ClippedDDIM`); without it DDIM drifts to grey noise under
strong guidance. DDIM needs no diffusers import (seconds of start-up); other schedulers are
diffusers' on the same config.
"""

from __future__ import annotations

from typing import Any

import torch

from spectrocanvas.diffusion.ddim import ClippedDDIM
from spectrocanvas.diffusion.noise_schedule import alphas_cumprod_of
from spectrocanvas.diffusion.schedulers import make_scheduler

SCHEDULER_CONFIG: dict[str, Any] = {
    "_class_name": "DDIMScheduler",
    "num_train_timesteps": 1000,
    "beta_schedule": "squaredcos_cap_v2",
    "beta_start": 0.0001,
    "beta_end": 0.02,
    "prediction_type": "epsilon",
    "clip_sample": True,
    "clip_sample_range": 1.0,
    "set_alpha_to_one": True,
    "steps_offset": 0,
    "timestep_spacing": "trailing",
}


def scheduler_config() -> dict[str, Any]:
    """A fresh copy of :data:`SCHEDULER_CONFIG`."""
    return dict(SCHEDULER_CONFIG)


def alphas_cumprod() -> torch.Tensor:
    """ᾱ_t of the training schedule, (1000,) float64."""
    return alphas_cumprod_of(SCHEDULER_CONFIG).double()


def pocket_scheduler(name: str = "ddim") -> Any:
    """The scheduler to sample the pocket models with: the clipped DDIM for 'ddim', else diffusers'."""
    if name.strip().lower() == "ddim":
        return ClippedDDIM(SCHEDULER_CONFIG)
    return make_scheduler(name, scheduler_config())
