"""DDIM with the predicted clean sample clipped, in pure torch (no diffusers import).

ε-prediction, x₀ clipped to [-``clip_sample_range``, ``clip_sample_range``] and ε derived again from
the clipped x₀ (diffusers' ``use_clipped_model_output=True``); without it DDIM drifts to grey
noise under strong guidance for pixel-space models. Step for step what diffusers'
``DDIMScheduler`` computes for a config with ``timestep_spacing`` "trailing" and
``set_alpha_to_one`` (tested against it), so a pair that samples with it never pays diffusers'
import (seconds of start-up).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import torch

from spectrocanvas.diffusion.noise_schedule import alphas_cumprod_of


@dataclass
class StepOutput:
    """What :meth:`ClippedDDIM.step` returns (diffusers' ``prev_sample`` and ``pred_original_sample``)."""

    prev_sample: torch.Tensor
    pred_original_sample: torch.Tensor


class ClippedDDIM:
    """DDIM (Song et al. 2021) on a model's noise schedule with x₀ clipped and ε re-derived from it.

    The interface :func:`spectrocanvas.diffusion.sampler.compose_sample` uses: ``set_timesteps``,
    ``timesteps``, ``init_noise_sigma``, ``scale_model_input``, ``step(...).prev_sample``,
    ``alphas_cumprod`` and ``config``.
    """

    init_noise_sigma = 1.0

    def __init__(self, config: Mapping[str, Any]) -> None:
        needs = {"timestep_spacing": "trailing", "set_alpha_to_one": True, "prediction_type": "epsilon"}
        diffusers_defaults = {"timestep_spacing": "leading", "set_alpha_to_one": True, "prediction_type": "epsilon"}
        wrong = {k: config.get(k, diffusers_defaults[k]) for k in needs
                 if config.get(k, diffusers_defaults[k]) != needs[k]}
        if wrong:
            raise ValueError(f"ClippedDDIM takes configs with {needs}, not {wrong}")
        self.config = SimpleNamespace(**{"clip_sample_range": 1.0, **config})
        self.alphas_cumprod = alphas_cumprod_of(config)
        self.final_alpha_cumprod = torch.tensor(1.0)  # set_alpha_to_one
        self.num_inference_steps: int | None = None
        self.timesteps = torch.empty(0, dtype=torch.int64)

    def set_timesteps(self, num_inference_steps: int, device: torch.device | str | None = None) -> None:
        """Trailing spacing: T−1, T−1−T/n, … (n entries, T training steps)."""
        train = self.config.num_train_timesteps
        if not 1 <= num_inference_steps <= train:
            raise ValueError(f"num_inference_steps must be between 1 and {train}, got {num_inference_steps}")
        self.num_inference_steps = num_inference_steps
        spaced = torch.arange(float(train), 0.0, -train / num_inference_steps, dtype=torch.float64)
        self.timesteps = (torch.round(spaced) - 1).to(torch.int64).to(device or "cpu")

    def scale_model_input(self, sample: torch.Tensor, timestep: Any = None) -> torch.Tensor:
        return sample

    def add_noise(self, original: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """x_t = √ᾱ_t·x₀ + √(1−ᾱ_t)·ε for a clean ``original`` (B, C, h, w) at ``timesteps`` (1 or B)."""
        a = self.alphas_cumprod[timesteps.cpu().long()].to(original.device, original.dtype).view(-1, 1, 1, 1)
        return a.sqrt() * original + (1 - a).sqrt() * noise

    def step(self, model_output: torch.Tensor, timestep: int | torch.Tensor, sample: torch.Tensor,
             eta: float = 0.0, generator: torch.Generator | None = None) -> StepOutput:
        """One DDIM step from ``sample`` x_t (B, C, h, w) with predicted ε ``model_output`` → x_{t−T/n}.

        x₀ = (x_t − √(1−ᾱ_t)·ε)/√ᾱ_t clipped to ±r; ε' = (x_t − √ᾱ_t·x₀)/√(1−ᾱ_t);
        σ = η·√((1−ᾱ_prev)/(1−ᾱ_t)·(1−ᾱ_t/ᾱ_prev)); x_prev = √ᾱ_prev·x₀ + √(1−ᾱ_prev−σ²)·ε' + σ·z.
        """
        if self.num_inference_steps is None:
            raise RuntimeError("call set_timesteps before step")
        t = int(timestep)
        prev = t - self.config.num_train_timesteps // self.num_inference_steps
        a_t = self.alphas_cumprod[t]
        a_prev = self.alphas_cumprod[prev] if prev >= 0 else self.final_alpha_cumprod
        bound = self.config.clip_sample_range
        x0 = ((sample - (1 - a_t) ** 0.5 * model_output) / a_t ** 0.5).clamp(-bound, bound)
        eps = (sample - a_t ** 0.5 * x0) / (1 - a_t) ** 0.5
        std = eta * ((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)) ** 0.5
        prev_sample = a_prev ** 0.5 * x0 + (1 - a_prev - std ** 2) ** 0.5 * eps
        if eta > 0:
            noise = torch.randn(model_output.shape, generator=generator, dtype=model_output.dtype)
            prev_sample = prev_sample + std * noise.to(model_output.device)
        return StepOutput(prev_sample=prev_sample, pred_original_sample=x0)
