"""Sampling the pocket pair with the project's composition sampler (and the single-model baselines).

``members(...)`` builds the :class:`spectrocanvas.sampler.Member` list for prompt words (one pair,
or one pair per sample); ``sample_canvases(...)`` runs it for one pair and a list of seeds, and
``pairs_canvases(...)`` for many pairs at once, in batches, returning canvases (N, 32, 128) in
[0, 1]. Sample (pair, seed) starts from the noise of its seed, so it is the same canvas whichever
batch it is drawn in (up to float rounding).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.pocket.defaults import (AUDIO_GUIDANCE, AUDIO_START, AUDIO_WEIGHT, IMAGE_GUIDANCE, IMAGE_START,
                                          STEPS)
from spectrocanvas.pocket.load import PocketModels
from spectrocanvas.pocket.schedule import pocket_scheduler
from spectrocanvas.pocket.spec import CANVAS_SHAPE, from_model
from spectrocanvas.sampler import Member, compose_sample, initial_latents

METHODS = ("denoise", "image-only", "audio-only")


def _conds(denoiser, words: str | Sequence[str]) -> torch.Tensor:
    """(1, 1, 1) for one word, (N, 1, 1) for one word per sample."""
    if isinstance(words, str):
        return denoiser.cond(words)
    return torch.cat([denoiser.cond(w) for w in words])


def members(models: PocketModels, image_prompt: str | Sequence[str], audio_prompt: str | Sequence[str], *,
            method: str = "denoise", image_guidance: float = IMAGE_GUIDANCE, audio_guidance: float = AUDIO_GUIDANCE,
            audio_weight: float = AUDIO_WEIGHT, image_start: int = IMAGE_START,
            audio_start: int = AUDIO_START) -> list[Member]:
    """The sampler members for words of the pocket vocabulary (a word, or one per sample)."""
    if method not in METHODS:
        raise SpectrocanvasError(f"unknown pocket method {method!r}; choose one of {', '.join(METHODS)}")
    image = Member(denoiser=models.image, cond=_conds(models.image, image_prompt), uncond=models.image.uncond(),
                   guidance=image_guidance, weight=1.0 - audio_weight if method == "denoise" else 1.0,
                   start=image_start if method == "denoise" else 0, name="image",
                   schedule=models.image.scheduler_config)
    audio = Member(denoiser=models.audio, cond=_conds(models.audio, audio_prompt), uncond=models.audio.uncond(),
                   guidance=audio_guidance, weight=audio_weight if method == "denoise" else 1.0,
                   start=audio_start if method == "denoise" else 0, name="audio",
                   schedule=models.audio.scheduler_config)
    return {"denoise": [image, audio], "image-only": [image], "audio-only": [audio]}[method]


def sample_canvases(models: PocketModels, image_prompt: str, audio_prompt: str, seeds: Sequence[int], *,
                    steps: int = STEPS, scheduler: str = "ddim", **member_options) -> torch.Tensor:
    """Canvases (len(seeds), 32, 128) in [0, 1] for one prompt pair, sample i from seed ``seeds[i]``."""
    return pairs_canvases(models, [(image_prompt, audio_prompt)], list(seeds), steps=steps, scheduler=scheduler,
                          batch=max(1, len(seeds)), **member_options)


def pair_seeds(seed: int, n: int, pairs: int) -> list[list[int]]:
    """Seeds of ``n`` samples for each of ``pairs`` prompt pairs: pair k's sample i uses
    ``seed + k·n + i``, so no two samples of a measurement share their starting noise. (The noise
    decides much of a pocket sample whatever the prompts: samples of different pairs from one
    seed succeed or fail together, and would not be independent trials.)"""
    return [[seed + k * n + i for i in range(n)] for k in range(pairs)]


def pairs_canvases(models: PocketModels, pairs: Sequence[tuple[str, str]],
                   seeds: Sequence[int] | Sequence[Sequence[int]], *, steps: int = STEPS, scheduler: str = "ddim",
                   batch: int = 128, **member_options) -> torch.Tensor:
    """Canvases (Σ samples, 32, 128), pair-major: ``seeds`` is one list for every pair, or one
    list per pair (see :func:`pair_seeds`)."""
    per_pair = [list(seeds)] * len(pairs) if all(isinstance(s, int) for s in seeds) else [list(s) for s in seeds]
    if len(per_pair) != len(pairs):
        raise ValueError(f"{len(per_pair)} seed lists for {len(pairs)} pairs")
    jobs = [(image, audio, seed) for (image, audio), own in zip(pairs, per_pair) for seed in own]
    out = []
    for start in range(0, len(jobs), batch):
        chunk = jobs[start:start + batch]
        group = members(models, [j[0] for j in chunk], [j[1] for j in chunk], **member_options)
        latents = initial_latents([j[2] for j in chunk], CANVAS_SHAPE)
        with torch.no_grad():
            out.append(from_model(compose_sample(latents, pocket_scheduler(scheduler), group, num_steps=steps))[:, 0])
    return torch.cat(out)
