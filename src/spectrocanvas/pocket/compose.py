"""Sampling the pocket pair with the project's composition sampler (and the single-model baselines).

``members(...)`` builds the :class:`spectrocanvas.sampler.Member` list for a prompt pair;
``sample_canvases(...)`` runs it for a list of seeds and returns canvases (N, 32, 128) in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.pocket.defaults import GUIDANCE, IMAGE_START, STEPS
from spectrocanvas.pocket.load import PocketModels
from spectrocanvas.pocket.schedule import pocket_scheduler
from spectrocanvas.pocket.spec import CANVAS_SHAPE, from_model
from spectrocanvas.sampler import Member, compose_sample, initial_latents

METHODS = ("denoise", "image-only", "audio-only")


def members(models: PocketModels, image_prompt: str, audio_prompt: str, *, method: str = "denoise",
            image_guidance: float = GUIDANCE, audio_guidance: float = GUIDANCE, audio_weight: float = 0.5,
            image_start: int = IMAGE_START, audio_start: int = 0) -> list[Member]:
    """The sampler members for one prompt pair (words of the pocket vocabulary)."""
    if method not in METHODS:
        raise SpectrocanvasError(f"unknown pocket method {method!r}; choose one of {', '.join(METHODS)}")
    image = Member(denoiser=models.image, cond=models.image.cond(image_prompt), uncond=models.image.uncond(),
                   guidance=image_guidance, weight=1.0 - audio_weight if method == "denoise" else 1.0,
                   start=image_start if method == "denoise" else 0, name="image",
                   schedule=models.image.scheduler_config)
    audio = Member(denoiser=models.audio, cond=models.audio.cond(audio_prompt), uncond=models.audio.uncond(),
                   guidance=audio_guidance, weight=audio_weight if method == "denoise" else 1.0,
                   start=audio_start if method == "denoise" else 0, name="audio",
                   schedule=models.audio.scheduler_config)
    return {"denoise": [image, audio], "image-only": [image], "audio-only": [audio]}[method]


def sample_canvases(models: PocketModels, image_prompt: str, audio_prompt: str, seeds: Sequence[int], *,
                    steps: int = STEPS, scheduler: str = "ddim", **member_options) -> torch.Tensor:
    """Canvases (len(seeds), 32, 128) in [0, 1] for one prompt pair, sample i from seed ``seeds[i]``."""
    group = members(models, image_prompt, audio_prompt, **member_options)
    latents = initial_latents(list(seeds), CANVAS_SHAPE)
    with torch.no_grad():
        out = compose_sample(latents, pocket_scheduler(scheduler), group, num_steps=steps)
    return from_model(out)[:, 0]
