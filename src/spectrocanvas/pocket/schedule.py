"""The one noise schedule both pocket denoisers are trained with, and the DDIM that samples them.

Cosine schedule (``squaredcos_cap_v2``) over 1000 training steps, ε-prediction, pixel space
in [-1, 1]. Sampling clips the predicted clean canvas to [-1, 1] and, as the feasibility run
found necessary, derives ε again from the clipped prediction (diffusers'
``use_clipped_model_output=True``); without it DDIM drifts to grey noise under strong guidance.

:class:`ClippedDDIM` is that sampler in pure torch, step for step what diffusers'
``DDIMScheduler`` computes for this config (tested against it), so ``--preset pocket`` never
imports diffusers — its import alone costs seconds of the pocket command's start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import torch

from spectrocanvas.noise_schedule import alphas_cumprod_of

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
    return alphas_cumprod_of(SCHEDULER_CONFIG).double()


@dataclass
class StepOutput:
    """What :meth:`ClippedDDIM.step` returns (diffusers' ``prev_sample`` and ``pred_original_sample``)."""

    prev_sample: torch.Tensor
    pred_original_sample: torch.Tensor


class ClippedDDIM:
    """DDIM (Song et al. 2021) on the pocket schedule, ε-prediction, trailing timesteps, x₀ clipped
    to [-1, 1] and ε re-derived from the clipped x₀.

    The interface :func:`spectrocanvas.sampler.compose_sample` uses: ``set_timesteps``,
    ``timesteps``, ``init_noise_sigma``, ``scale_model_input``, ``step(...).prev_sample``,
    ``alphas_cumprod`` and ``config``.
    """

    init_noise_sigma = 1.0

    def __init__(self) -> None:
        self.config = SimpleNamespace(**SCHEDULER_CONFIG)
        self.alphas_cumprod = alphas_cumprod_of(SCHEDULER_CONFIG)
        self.final_alpha_cumprod = torch.tensor(1.0)  # set_alpha_to_one
        self.num_inference_steps: int | None = None
        self.timesteps = torch.empty(0, dtype=torch.int64)

    def set_timesteps(self, num_inference_steps: int, device: torch.device | str | None = None) -> None:
        """Trailing spacing: T−1, T−1−T/n, … (n entries, T = 1000)."""
        train = self.config.num_train_timesteps
        if not 1 <= num_inference_steps <= train:
            raise ValueError(f"num_inference_steps must be between 1 and {train}, got {num_inference_steps}")
        self.num_inference_steps = num_inference_steps
        spaced = torch.arange(float(train), 0.0, -train / num_inference_steps, dtype=torch.float64)
        self.timesteps = (torch.round(spaced) - 1).to(torch.int64).to(device or "cpu")

    def scale_model_input(self, sample: torch.Tensor, timestep: Any = None) -> torch.Tensor:
        return sample

    def step(self, model_output: torch.Tensor, timestep: int | torch.Tensor, sample: torch.Tensor,
             eta: float = 0.0, generator: torch.Generator | None = None) -> StepOutput:
        """One DDIM step from ``sample`` x_t (B, C, h, w) with predicted ε ``model_output`` → x_{t−T/n}.

        x₀ = (x_t − √(1−ᾱ_t)·ε)/√ᾱ_t clipped to [-1, 1]; ε' = (x_t − √ᾱ_t·x₀)/√(1−ᾱ_t);
        σ = η·√((1−ᾱ_prev)/(1−ᾱ_t)·(1−ᾱ_t/ᾱ_prev)); x_prev = √ᾱ_prev·x₀ + √(1−ᾱ_prev−σ²)·ε' + σ·z.
        """
        if self.num_inference_steps is None:
            raise RuntimeError("call set_timesteps before step")
        t = int(timestep)
        prev = t - self.config.num_train_timesteps // self.num_inference_steps
        a_t = self.alphas_cumprod[t]
        a_prev = self.alphas_cumprod[prev] if prev >= 0 else self.final_alpha_cumprod
        x0 = ((sample - (1 - a_t) ** 0.5 * model_output) / a_t ** 0.5).clamp(-1.0, 1.0)
        eps = (sample - a_t ** 0.5 * x0) / (1 - a_t) ** 0.5
        std = eta * ((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)) ** 0.5
        prev_sample = a_prev ** 0.5 * x0 + (1 - a_prev - std ** 2) ** 0.5 * eps
        if eta > 0:
            noise = torch.randn(model_output.shape, generator=generator, dtype=model_output.dtype)
            prev_sample = prev_sample + std * noise.to(model_output.device)
        return StepOutput(prev_sample=prev_sample, pred_original_sample=x0)


def pocket_scheduler(name: str = "ddim") -> Any:
    """The scheduler to sample the pocket models with: :class:`ClippedDDIM` for 'ddim', else
    :func:`spectrocanvas.schedulers.make_scheduler` (diffusers) on the pocket config."""
    if name.strip().lower() == "ddim":
        return ClippedDDIM()
    from spectrocanvas.schedulers import make_scheduler

    return make_scheduler(name, scheduler_config())
