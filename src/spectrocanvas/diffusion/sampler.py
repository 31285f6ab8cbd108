"""The composition sampler: several denoisers that share one latent space denoise one latent.

Each member is a denoiser ``denoiser(latents (B, 4, h, w), t, cond (B, 77, D)) -> eps (B, 4, h, w)``
with its text conditioning. At every timestep each active member gives a classifier-free-guided
ε (conditional and unconditional passes in one batch of 2B); the sampler takes the weighted mean
Σ wᵢ·εᵢ / Σ wᵢ over the members active at that step and steps the one scheduler exactly once.
This is the method of Chen, Geng & Owens, *Images that Sound* (NeurIPS 2024): SD 1.5 and
Auffusion, DDIM 100 steps, guidance 10 each, weights 0.5/0.5, Auffusion alone for the first
10 steps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import torch

from spectrocanvas.diffusion.noise_schedule import alphas_cumprod_of
from spectrocanvas.diffusion.schedulers import step_kwargs
from spectrocanvas.errors import SpectrocanvasError

if TYPE_CHECKING:  # diffusers is imported only where a diffusers scheduler is built
    from diffusers.schedulers.scheduling_utils import SchedulerMixin


class Denoiser(Protocol):
    def __call__(self, latents: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """latents (B, C, h, w), timestep (scalar or (B,)), cond (B, …) → ε (B, C, h, w).

        cond is the model's own conditioning: text embeddings (B, 77, D) for Stable-Diffusion-layout
        models, class indices (B, 1, 1) for the pocket pair.
        """
        ...


Callback = Callable[[int, int, torch.Tensor, torch.Tensor], Any]


class ScheduleMismatchError(SpectrocanvasError):
    """Members were trained with different noise schedules, so their ε cannot be averaged."""


class CompositionError(SpectrocanvasError):
    """The members cannot be composed as given (no member active at a step, batch mismatch…)."""


@dataclass(frozen=True, eq=False)  # eq on tensors is ambiguous; members compare by identity
class Member:
    """One denoiser of the composition, with its conditioning and when it takes part.

    cond, uncond: text embeddings (B or 1, 77, D); a batch of 1 is shared by all samples.
    The member is active at step indices ``start <= i < end`` (``end=None``: to the last step).
    ``schedule`` (optional) is the model's scheduler config; when given, :func:`compose_sample`
    refuses a scheduler with a different noise schedule.
    """

    denoiser: Denoiser
    cond: torch.Tensor
    uncond: torch.Tensor
    guidance: float = 10.0
    weight: float = 1.0
    start: int = 0
    end: int | None = None
    name: str = ""
    schedule: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        label = self.name or "member"
        if self.cond.dim() != 3 or self.uncond.dim() != 3:
            raise CompositionError(f"{label}: cond and uncond must be (B, tokens, dim) embeddings")
        if self.cond.shape[1:] != self.uncond.shape[1:]:
            raise CompositionError(
                f"{label}: cond {tuple(self.cond.shape)} and uncond {tuple(self.uncond.shape)} differ")
        if not self.weight > 0:
            raise CompositionError(f"{label}: weight must be positive, got {self.weight}")
        if self.start < 0 or (self.end is not None and self.end <= self.start):
            raise CompositionError(f"{label}: empty step range [{self.start}, {self.end})")

    def active(self, step: int) -> bool:
        """Whether the member takes part at step index ``step``."""
        return self.start <= step and (self.end is None or step < self.end)


def guided_eps(member: Member, latents: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Classifier-free guidance ε_u + g·(ε_c − ε_u), both passes in one batch of 2B.

    latents (B, 4, h, w), t a scalar or one timestep per sample (B,) → ε (B, 4, h, w), in the
    latents' dtype.
    """
    b = latents.shape[0]
    t = torch.cat([t, t]) if torch.is_tensor(t) and t.dim() == 1 else t
    cond, uncond = (e.expand(b, -1, -1) if e.shape[0] == 1 else e
                    for e in (member.cond, member.uncond))
    eps = member.denoiser(torch.cat([latents, latents]), t, torch.cat([uncond, cond]))
    eps_u, eps_c = eps.to(latents.dtype).chunk(2)
    return eps_u + member.guidance * (eps_c - eps_u)


def compose_eps(members: Sequence[Member], step: int, latents: torch.Tensor,
                t: torch.Tensor) -> torch.Tensor:
    """Σ wᵢ·CFG(εᵢ) / Σ wᵢ over the members active at ``step``. latents (B, 4, h, w) → (B, 4, h, w)."""
    total, weights = None, 0.0
    for member in members:
        if not member.active(step):
            continue
        eps = member.weight * guided_eps(member, latents, t)
        total = eps if total is None else total + eps
        weights += member.weight
    if total is None:
        raise CompositionError(f"no member is active at step {step}")
    return total / weights


def compose_sample(latents: torch.Tensor, scheduler: SchedulerMixin, members: Sequence[Member], *,
                   num_steps: int, callback: Callback | None = None, eta: float = 0.0,
                   generator: torch.Generator | None = None, init: torch.Tensor | None = None,
                   first_step: int = 0) -> torch.Tensor:
    """Denoise ``latents`` (B, C, h, w) of unit-variance noise with the composed members.

    Sets ``num_steps`` timesteps, scales the noise by ``scheduler.init_noise_sigma``, and steps
    the scheduler exactly once per entry of ``scheduler.timesteps`` (step indices, and the
    members' ranges, count those entries). ``callback(step_index, total, t, latents)`` is called
    after each step with the new latents; its return value is ignored (decode ``latents`` in it
    for previews). ``eta`` is DDIM's; ``generator`` feeds stochastic schedulers (eta > 0,
    euler-a) — one generator for the batch, so their noise depends on the batch composition.

    SDEdit: with ``init`` (B or 1, C, h, w), a clean latent, the first ``first_step`` steps are
    skipped and the denoising starts from ``init`` noised to the timestep of step ``first_step``
    with ``latents`` as the noise (``first_step`` = ``num_steps`` returns ``init`` as it is).
    Returns the final latents (B, C, h, w).
    """
    if not members:
        raise CompositionError("no members to compose")
    check_shared_schedule([scheduler, *(m.schedule for m in members if m.schedule is not None)])
    for member in members:
        for e in (member.cond, member.uncond):
            if e.shape[0] not in (1, latents.shape[0]):
                raise CompositionError(f"{member.name or 'member'}: conditioning batch "
                                       f"{e.shape[0]} does not match {latents.shape[0]} latents")
    kwargs = step_kwargs(scheduler, eta=eta, generator=generator)
    # The scheduler keeps its timesteps on the CPU: its per-step lookups (alphas_cumprod[t],
    # sigmas[i]) then need no GPU→CPU sync, and the denoisers get the same values on the device.
    scheduler.set_timesteps(num_steps)
    timesteps = scheduler.timesteps
    model_timesteps = timesteps.to(latents.device)
    total = len(timesteps)
    idle = [i for i in range(first_step, total) if not any(m.active(i) for m in members)]
    if idle:
        raise CompositionError(f"no member is active at step {idle[0]} of {total}")
    if init is None:
        if first_step:
            raise CompositionError("skipping steps needs a latent to start from (init)")
        latents = latents * scheduler.init_noise_sigma
    elif first_step >= total:
        return init.expand_as(latents).clone()
    else:
        latents = scheduler.add_noise(init.expand_as(latents), latents, timesteps[first_step:first_step + 1])
        if hasattr(scheduler, "set_begin_index"):  # multistep solvers count their steps from here
            scheduler.set_begin_index(first_step)
    for i, t in enumerate(timesteps):
        if i < first_step:
            continue
        model_input = scheduler.scale_model_input(latents, t)
        eps = compose_eps(members, i, model_input, model_timesteps[i])
        latents = scheduler.step(eps, t, latents, **kwargs).prev_sample
        if callback is not None:
            callback(i, total, t, latents)
    return latents


def initial_latents(seeds: Sequence[int], shape: tuple[int, int, int], *,
                    device: torch.device | str | None = None,
                    dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Unit-variance noise (N, *shape): sample i from a CPU generator seeded with ``seeds[i]``
    (the CLI passes ``seed + i``).

    Drawn in float32 on the CPU and then moved, so a sample does not depend on the batch it is
    in or on the device.
    """
    noise = [torch.randn(shape, generator=torch.Generator("cpu").manual_seed(int(s)))
             for s in seeds]
    return torch.stack(noise).to(device=device, dtype=dtype)


def _alphas_cumprod(item: SchedulerMixin | Mapping[str, Any]) -> tuple[torch.Tensor, str]:
    if isinstance(item, Mapping):
        return alphas_cumprod_of(item).double(), item.get("prediction_type", "epsilon")
    prediction = getattr(item.config, "prediction_type", "epsilon")
    return item.alphas_cumprod.double().cpu(), prediction


def check_shared_schedule(schedulers_or_configs: Sequence[SchedulerMixin | Mapping[str, Any]],
                          *, atol: float = 1e-6) -> None:
    """Refuse members whose noise schedules (``alphas_cumprod``, prediction type) differ.

    Items are schedulers or ``scheduler_config`` mappings. Averaging ε is only meaningful when
    every member reads the same noise level from the same timestep.
    """
    items = list(schedulers_or_configs)
    if len(items) < 2:
        return
    ref, ref_pred = _alphas_cumprod(items[0])
    for k, item in enumerate(items[1:], start=1):
        acp, pred = _alphas_cumprod(item)
        if pred != ref_pred:
            raise ScheduleMismatchError(
                f"schedule {k} predicts {pred!r} but schedule 0 predicts {ref_pred!r}")
        if acp.shape != ref.shape:
            raise ScheduleMismatchError(
                f"schedule {k} has {acp.shape[0]} training timesteps, schedule 0 has {ref.shape[0]}")
        if not torch.allclose(acp, ref, rtol=0.0, atol=atol):
            worst = int((acp - ref).abs().argmax())
            raise ScheduleMismatchError(
                f"noise schedules differ: alphas_cumprod[{worst}] is {acp[worst]:.6g} vs {ref[worst]:.6g}")
