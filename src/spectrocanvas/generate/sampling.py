"""From settings to sampler members, and the paper's joint denoising over a batch of samples.

A batch holds samples that share everything but their prompts and seeds
(:meth:`~spectrocanvas.generate.settings.GenerateSettings.sampling_key`): sample i is drawn with
``settings[i]``'s prompts from the noise of ``seeds[i]``, so a batch may span prompt pairs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

import torch

from spectrocanvas.diffusion.sampler import Member, compose_sample, initial_latents
from spectrocanvas.diffusion.windows import windowed
from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.generate.inputs import init_latents
from spectrocanvas.generate.settings import GenerateSettings
from spectrocanvas.pairs.interface import ModelPair

OnStep = Callable[[], None]
LatentWatcher = Callable[[ModelPair, int, int, torch.Tensor], None]
"""``watcher(pair, step_index, total_steps, latents)`` after each joint-denoising step (a live preview)."""
_WATCHER: ContextVar[LatentWatcher | None] = ContextVar("spectrocanvas_latent_watcher", default=None)


@contextmanager
def watching_latents(watcher: LatentWatcher) -> Iterator[None]:
    """Within this block (in this thread or task), every joint denoising calls ``watcher`` after each
    step with the batch's latents: how the web page previews a canvas while it denoises, without a
    preview argument threaded through every run function."""
    token = _WATCHER.set(watcher)
    try:
        yield
    finally:
        _WATCHER.reset(token)


def check_batch(settings: Sequence[GenerateSettings], seeds: Sequence[int]) -> GenerateSettings:
    """The batch's shared settings (its first); refuses a batch whose samples differ in more than prompts."""
    if not settings or len(settings) != len(seeds):
        raise SpectrocanvasError(f"a batch needs one settings per seed, got {len(settings)} for {len(seeds)} seeds")
    key = settings[0].sampling_key()
    if any(s.sampling_key() != key for s in settings[1:]):
        raise SpectrocanvasError("samples of one batch must share every setting but their prompts and seeds")
    return settings[0]


def _shared_or_stacked(tensors: Sequence[torch.Tensor], same: bool) -> torch.Tensor:
    """One (1, …) conditioning shared by the batch, or (B, …) one per sample."""
    return tensors[0] if same else torch.cat(list(tensors))


def composition(pair: ModelPair, settings: Sequence[GenerateSettings], *,
                starts: Mapping[str, int] | None = None) -> list[Member]:
    """The sampler members of a batch: each member of weight > 0 with its model, per-sample
    conditioning, guidance, weight and steps. ``starts`` overrides members' start steps by name
    (SDS counts iterations instead). A canvas wider than the models' window, or a loop, is denoised
    in overlapping windows (:func:`~spectrocanvas.diffusion.windows.windowed`)."""
    first = settings[0]
    window = pair.entry.native_latent[1]
    windows = first.window_stride is not None
    members = []
    for index, member in enumerate(first.members):
        if member.weight <= 0.0:
            continue
        texts = [(s.members[index].prompt, s.members[index].negative) for s in settings]
        same = len(set(texts)) == 1
        conditions = [pair.condition(member.role, prompt, negative)
                      for prompt, negative in (texts[:1] if same else texts)]
        denoiser = pair.denoiser(member.role)
        if windows:
            denoiser = windowed(denoiser, window=window, stride=first.window_stride, loop=first.loop)
        members.append(Member(denoiser=denoiser, name=member.name,
                              cond=_shared_or_stacked([c for c, _ in conditions], same),
                              uncond=_shared_or_stacked([u for _, u in conditions], same),
                              guidance=member.guidance, weight=member.weight,
                              start=(starts or {}).get(member.name, member.start), end=member.end,
                              schedule=pair.schedule(member.role)))
    return members


def start_latents(pair: ModelPair, settings: GenerateSettings, seeds: Sequence[int]) -> torch.Tensor:
    """Unit noise (B, C, h, w) of the pair's latent space, sample i from ``seeds[i]``."""
    shape = pair.latent_shape(settings.latent_height, settings.latent_width)
    return initial_latents(list(seeds), shape, device=pair.device)


def denoise_latents(settings: Sequence[GenerateSettings], seeds: Sequence[int], pair: ModelPair, *,
                    on_step: OnStep | None = None) -> torch.Tensor:
    """The paper's joint denoising of a batch: latents (B, C, h, w). With an init file and a
    strength below 1, the denoising starts from the file's latent noised to the first step (SDEdit)."""
    first = check_batch(settings, seeds)
    members = composition(pair, settings)
    noise = start_latents(pair, first, seeds)
    start = first.first_step
    init = init_latents(pair, first) if start else None
    watcher = _WATCHER.get()

    def callback(step: int, total: int, _t: torch.Tensor, latents: torch.Tensor) -> None:
        if on_step is not None:
            on_step()
        if watcher is not None:
            watcher(pair, step, total, latents)

    with torch.no_grad():
        return compose_sample(noise, pair.scheduler(first.scheduler), members, num_steps=first.steps,
                              callback=callback if on_step is not None or watcher is not None else None,
                              init=init, first_step=start)
