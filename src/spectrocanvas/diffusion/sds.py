"""Score distillation (SDS) of one latent canvas from several diffusion models (the paper's SDS baseline).

The canvas is a learnable latent z (B, 4, h, w). Each iteration draws, per sample, a timestep
t ~ U[t_min, t_max] and noise ε, forms z_t = √ᾱ_t·z + √(1 − ᾱ_t)·ε, asks every active member for
its guided ε̂(z_t, t), and sets ``z.grad = w(t)·(Σ wᵢ ε̂ᵢ / Σ wᵢ − ε)`` with w(t) = 1 − ᾱ_t — the
DreamFusion gradient, with no backpropagation through the UNets — then takes an Adam step.
Each sample draws its t and ε from its own CPU generator, so a sample depends on its seed only,
not on the batch it is in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from spectrocanvas.diffusion.sampler import CompositionError, Member, guided_eps

T_MIN, T_MAX = 20, 980
"""The timestep range, DreamFusion's and the official code's t_range [0.02, 0.98] of 1000 steps."""


@dataclass(frozen=True)
class SdsTrace:
    """What an SDS run did: the mean squared residual ‖ε̂ − ε‖² per iteration (a noisy progress signal)."""

    residuals: list[float]


def sds_optimise(latents: torch.Tensor, members: Sequence[Member], alphas_cumprod: torch.Tensor, *,
                 seeds: Sequence[int], iterations: int, lr: float, t_range: tuple[int, int] = (T_MIN, T_MAX),
                 callback: Callable[[int], None] | None = None) -> tuple[torch.Tensor, SdsTrace]:
    """Optimise ``latents`` (B, 4, h, w) by SDS over ``iterations``; returns the new latents and a trace.

    ``alphas_cumprod`` (T,) is the members' shared training schedule. A member takes part at the
    iterations its ``start``/``end`` cover (like denoising steps). ``seeds`` (B) seed each sample's
    draws of t and ε (a generator per sample, offset from the seed of its initial latent).
    """
    if not members:
        raise CompositionError("no members to distil from")
    if len(seeds) != latents.shape[0]:
        raise CompositionError(f"{len(seeds)} seeds for {latents.shape[0]} latents")
    low, high = t_range
    if not 0 <= low <= high < len(alphas_cumprod):
        raise CompositionError(f"timestep range {t_range} is outside the schedule's 0 … {len(alphas_cumprod) - 1}")
    z = latents.detach().clone().float().requires_grad_(True)
    optimiser = torch.optim.Adam([z], lr=lr)
    generators = [torch.Generator("cpu").manual_seed(int(s) + 1_000_003) for s in seeds]
    acp = alphas_cumprod.to(torch.float32)
    residuals = []
    for i in range(iterations):
        active = [m for m in members if m.active(i)]
        if not active:
            raise CompositionError(f"no member is active at SDS iteration {i}")
        t = torch.stack([torch.randint(low, high + 1, (), generator=g) for g in generators])
        noise = torch.stack([torch.randn(z.shape[1:], generator=g) for g in generators]).to(z.device)
        a = acp[t].view(-1, 1, 1, 1).to(z.device)
        with torch.no_grad():
            noisy = a.sqrt() * z + (1 - a).sqrt() * noise
            t_dev = t.to(z.device)
            eps = sum(m.weight * guided_eps(m, noisy, t_dev) for m in active) / sum(m.weight for m in active)
            residual = eps.float() - noise
            residuals.append(float(residual.pow(2).mean()))
        optimiser.zero_grad(set_to_none=True)
        z.grad = (1 - a) * residual
        optimiser.step()
        if callback is not None:
            callback(i)
    return z.detach(), SdsTrace(residuals)
