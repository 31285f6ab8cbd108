"""The one noise schedule both pocket denoisers are trained with, as a diffusers scheduler config.

Cosine schedule (``squaredcos_cap_v2``) over 1000 training steps, ε-prediction, pixel space
in [-1, 1]. Sampling clips the predicted clean canvas to [-1, 1] and, as the feasibility run
found necessary, derives ε again from the clipped prediction (diffusers'
``use_clipped_model_output=True``); without it DDIM drifts to grey noise under strong guidance.
"""

from __future__ import annotations

from typing import Any

import torch
from diffusers import DDIMScheduler, DDPMScheduler
from diffusers.schedulers.scheduling_utils import SchedulerMixin

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
    """A fresh copy of :data:`SCHEDULER_CONFIG` (for ``make_scheduler`` and ``Member.schedule``)."""
    return dict(SCHEDULER_CONFIG)


def alphas_cumprod() -> torch.Tensor:
    """ᾱ_t of the training schedule, (1000,) float64."""
    return DDPMScheduler.from_config(scheduler_config()).alphas_cumprod.double()


class ClippedDDIMScheduler(DDIMScheduler):
    """DDIM that, when it clips x₀, also uses the ε implied by the clipped x₀ (unless told not to)."""

    def step(self, model_output, timestep, sample, eta: float = 0.0, use_clipped_model_output: bool | None = None,
             generator=None, variance_noise=None, return_dict: bool = True):
        if use_clipped_model_output is None:
            use_clipped_model_output = bool(self.config.clip_sample or self.config.thresholding)
        return super().step(model_output, timestep, sample, eta=eta, use_clipped_model_output=use_clipped_model_output,
                            generator=generator, variance_noise=variance_noise, return_dict=return_dict)


def pocket_scheduler(name: str = "ddim") -> SchedulerMixin:
    """The scheduler to sample the pocket models with: clipped DDIM for 'ddim', else
    :func:`spectrocanvas.schedulers.make_scheduler` on the pocket config."""
    if name.strip().lower() == "ddim":
        return ClippedDDIMScheduler.from_config(scheduler_config())
    from spectrocanvas.schedulers import make_scheduler

    return make_scheduler(name, scheduler_config())
