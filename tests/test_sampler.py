"""The composition sampler: CFG and weighted-mean arithmetic, warm start, scheduler stepping,
schedule checks, seeding and batching. Fake denoisers with known ε, and tiny random UNets."""

from __future__ import annotations

import functools

import pytest
import torch

from spectrocanvas.diffusion.sampler import (
    CompositionError,
    Member,
    ScheduleMismatchError,
    check_shared_schedule,
    compose_sample,
    initial_latents,
)
from spectrocanvas.diffusion.schedulers import (
    SCHEDULERS,
    SchedulerOptionError,
    UnknownSchedulerError,
    make_scheduler,
)
from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.support.batching import batched

# SD 1.5's scheduler_config (Auffusion ships the same noise schedule).
SD_SCHEDULE = {
    "_class_name": "PNDMScheduler", "beta_start": 0.00085, "beta_end": 0.012,
    "beta_schedule": "scaled_linear", "num_train_timesteps": 1000, "set_alpha_to_one": False,
    "skip_prk_steps": True, "steps_offset": 1, "trained_betas": None, "clip_sample": False,
}
SHAPE = (4, 2, 3)
COND, UNCOND = torch.ones(1, 77, 8), -torch.ones(1, 77, 8)


class ConstDenoiser:
    """ε = c·ones for conditional rows (cond > 0), u·ones for unconditional ones; counts calls."""

    def __init__(self, c: float, u: float) -> None:
        self.c, self.u, self.calls, self.batches = c, u, [], []

    def __call__(self, latents, t, cond):
        self.calls.append(int(t))
        self.batches.append(latents.shape[0])
        is_cond = (cond.mean(dim=(1, 2)) > 0).to(latents.dtype).view(-1, 1, 1, 1)
        return torch.ones_like(latents) * (is_cond * self.c + (1 - is_cond) * self.u)


def recording(scheduler):
    """Wrap ``scheduler.step`` to record the ε and timestep it receives."""
    seen = []
    step = scheduler.step

    @functools.wraps(step)
    def wrapped(model_output, timestep, sample, *args, **kwargs):
        seen.append((model_output.clone(), int(timestep)))
        return step(model_output, timestep, sample, *args, **kwargs)

    scheduler.step = wrapped
    return scheduler, seen


def paper_members(audio, image, warm=10, **kw):
    return [Member(audio, COND, UNCOND, guidance=10.0, weight=0.5, name="audio", **kw),
            Member(image, COND, UNCOND, guidance=10.0, weight=0.5, start=warm, name="image", **kw)]


def cfg(c, u, g=10.0):
    return u + g * (c - u)


def test_composed_eps_matches_formula_and_warm_start():
    audio, image = ConstDenoiser(0.3, 0.1), ConstDenoiser(-0.2, 0.05)
    members = [Member(audio, COND, UNCOND, guidance=10.0, weight=0.5, name="audio"),
               Member(image, COND, UNCOND, guidance=3.0, weight=1.5, start=4, name="image")]
    scheduler, seen = recording(make_scheduler("ddim", SD_SCHEDULE))
    compose_sample(initial_latents([0, 1], SHAPE), scheduler, members, num_steps=12)

    alone = cfg(0.3, 0.1, 10.0)
    mixed = (0.5 * alone + 1.5 * cfg(-0.2, 0.05, 3.0)) / 2.0
    assert len(seen) == 12
    for i, (eps, _) in enumerate(seen):
        torch.testing.assert_close(eps, torch.full_like(eps, alone if i < 4 else mixed))
    assert len(audio.calls) == 12 and len(image.calls) == 8        # image never called in warm start
    assert image.calls == [t for _, t in seen[4:]]
    assert set(audio.batches) == {4}                                # cond + uncond in one batch of 2B


def test_member_end_step_excludes_it_afterwards():
    a, b = ConstDenoiser(1.0, 0.0), ConstDenoiser(2.0, 0.0)
    members = [Member(a, COND, UNCOND, guidance=1.0), Member(b, COND, UNCOND, guidance=1.0, end=3)]
    scheduler, seen = recording(make_scheduler("ddim", SD_SCHEDULE))
    compose_sample(initial_latents([0], SHAPE), scheduler, members, num_steps=6)
    assert len(b.calls) == 3
    assert [float(e.mean()) for e, _ in seen] == pytest.approx([1.5] * 3 + [1.0] * 3)


def test_trajectory_equals_manual_ddim():
    """With a known ε every step, the result is DDIM (eta 0) computed by hand from alphas_cumprod."""
    audio, image = ConstDenoiser(0.3, 0.1), ConstDenoiser(-0.2, 0.05)
    scheduler = make_scheduler("ddim", SD_SCHEDULE)
    x0 = initial_latents([7], SHAPE, dtype=torch.float64)
    steps, warm = 5, 2
    out = compose_sample(x0, scheduler, paper_members(audio, image, warm=warm), num_steps=steps)

    acp = scheduler.alphas_cumprod.double()
    x = x0.clone()
    ts = [1000 // steps * k + 1 for k in reversed(range(steps))]    # leading spacing, offset 1
    assert [int(t) for t in scheduler.timesteps] == ts
    for i, t in enumerate(ts):
        eps = cfg(0.3, 0.1) if i < warm else (cfg(0.3, 0.1) + cfg(-0.2, 0.05)) / 2
        prev = t - 1000 // steps
        a_t, a_prev = acp[t], (acp[prev] if prev >= 0 else acp[0])
        pred_x0 = (x - (1 - a_t).sqrt() * eps) / a_t.sqrt()
        x = a_prev.sqrt() * pred_x0 + (1 - a_prev).sqrt() * eps
    # diffusers computes the scalar coefficients (1 − ᾱ)^½ in float32: hence 1e-6, not 1e-12.
    torch.testing.assert_close(out, x, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_scheduler_stepped_once_per_timestep(name):
    audio, image = ConstDenoiser(0.01, 0.0), ConstDenoiser(0.0, 0.01)
    scheduler, seen = recording(make_scheduler(name, SD_SCHEDULE))
    out = compose_sample(initial_latents([0], SHAPE), scheduler, paper_members(audio, image, warm=2),
                         num_steps=6, generator=torch.Generator().manual_seed(0))
    timesteps = [int(t) for t in scheduler.timesteps]
    assert [t for _, t in seen] == timesteps                         # each entry once, in order
    assert audio.calls == timesteps and image.calls == timesteps[2:]
    assert torch.isfinite(out).all()


def test_init_noise_sigma_and_scale_model_input_are_applied():
    """Euler's init_noise_sigma is ≈14.6 and it rescales the model input; check the first call."""
    seen_inputs = []

    def denoiser(latents, t, cond):
        seen_inputs.append(latents.clone())
        return torch.zeros_like(latents)

    scheduler = make_scheduler("euler", SD_SCHEDULE)
    noise = initial_latents([3], SHAPE)
    compose_sample(noise, scheduler, [Member(denoiser, COND, UNCOND)], num_steps=3)
    sigma = scheduler.sigmas[0]
    expected = noise * scheduler.init_noise_sigma / (sigma**2 + 1) ** 0.5
    torch.testing.assert_close(seen_inputs[0][:1], expected)


def test_schedule_mismatch_refused():
    other = {**SD_SCHEDULE, "beta_end": 0.02}
    check_shared_schedule([SD_SCHEDULE, make_scheduler("dpm++", SD_SCHEDULE), dict(SD_SCHEDULE)])
    with pytest.raises(ScheduleMismatchError, match="alphas_cumprod"):
        check_shared_schedule([SD_SCHEDULE, other])
    with pytest.raises(ScheduleMismatchError, match="v_prediction"):
        check_shared_schedule([SD_SCHEDULE, {**SD_SCHEDULE, "prediction_type": "v_prediction"}])
    # A member that carries its schedule is checked against the sampler's scheduler.
    members = [Member(ConstDenoiser(0, 0), COND, UNCOND, schedule=SD_SCHEDULE),
               Member(ConstDenoiser(0, 0), COND, UNCOND, schedule=other)]
    with pytest.raises(SpectrocanvasError, match="noise schedules differ"):
        compose_sample(initial_latents([0], SHAPE), make_scheduler("ddim", SD_SCHEDULE), members,
                       num_steps=2)


def test_member_and_composition_errors():
    with pytest.raises(CompositionError, match="weight"):
        Member(ConstDenoiser(0, 0), COND, UNCOND, weight=0.0)
    with pytest.raises(CompositionError, match="step range"):
        Member(ConstDenoiser(0, 0), COND, UNCOND, start=5, end=5)
    late = [Member(ConstDenoiser(0, 0), COND, UNCOND, start=2)]
    with pytest.raises(CompositionError, match="no member is active at step 0"):
        compose_sample(initial_latents([0], SHAPE), make_scheduler("ddim", SD_SCHEDULE), late,
                       num_steps=4)
    three = [Member(ConstDenoiser(0, 0), COND.expand(3, -1, -1), UNCOND.expand(3, -1, -1))]
    with pytest.raises(CompositionError, match="does not match 2"):
        compose_sample(initial_latents([0, 1], SHAPE), make_scheduler("ddim", SD_SCHEDULE), three,
                       num_steps=2)


def test_scheduler_names_and_options():
    with pytest.raises(UnknownSchedulerError) as err:
        make_scheduler("heunish", SD_SCHEDULE)
    message = str(err.value)
    assert "\n" not in message and all(name in message for name in SCHEDULERS)
    assert isinstance(err.value, SpectrocanvasError)
    dpm = make_scheduler("DPM++", SD_SCHEDULE)
    assert dpm.config.algorithm_type == "dpmsolver++" and dpm.config.solver_order == 2
    assert make_scheduler("ddim", SD_SCHEDULE).config.steps_offset == 1   # model's schedule kept
    with pytest.raises(SchedulerOptionError, match="eta"):
        compose_sample(initial_latents([0], SHAPE), make_scheduler("dpm++", SD_SCHEDULE),
                       [Member(ConstDenoiser(0, 0), COND, UNCOND)], num_steps=2, eta=0.5)


def test_stochastic_schedulers_follow_the_generator():
    def run(name, seed, eta=0.0):
        member = Member(ConstDenoiser(0.01, 0.0), COND, UNCOND)
        return compose_sample(initial_latents([0], SHAPE), make_scheduler(name, SD_SCHEDULE),
                              [member], num_steps=4, eta=eta,
                              generator=torch.Generator().manual_seed(seed))

    for name, eta in (("euler-a", 0.0), ("ddim", 1.0)):
        torch.testing.assert_close(run(name, 1, eta), run(name, 1, eta))
        assert not torch.allclose(run(name, 1, eta), run(name, 2, eta))


def test_initial_latents_depend_only_on_the_seed():
    batch = initial_latents([5, 6, 7], SHAPE)
    assert batch.shape == (3, *SHAPE) and batch.dtype == torch.float32
    torch.testing.assert_close(batch[2:], initial_latents([7], SHAPE), rtol=0, atol=0)
    assert not torch.equal(batch[0], batch[1])
    half = initial_latents([7], SHAPE, dtype=torch.float16)
    torch.testing.assert_close(half.float(), batch[2:], rtol=0, atol=1e-2)


def test_batched():
    assert list(batched(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(batched([], 2)) == []
    with pytest.raises(SpectrocanvasError):
        list(batched([1], 0))


def test_callback_once_per_step_with_previews():
    previews = []

    def callback(i, total, t, latents):
        previews.append((i, total, int(t), latents.mean(dim=1)))       # a cheap "preview"

    scheduler = make_scheduler("dpm++", SD_SCHEDULE)
    out = compose_sample(initial_latents([0, 1], SHAPE), scheduler,
                         paper_members(ConstDenoiser(0.1, 0), ConstDenoiser(0, 0.1), warm=1),
                         num_steps=5, callback=callback)
    assert [p[:3] for p in previews] == [(i, 5, int(t)) for i, t in enumerate(scheduler.timesteps)]
    assert previews[-1][3].shape == (2, *SHAPE[1:])
    torch.testing.assert_close(previews[-1][3], out.mean(dim=1))


# --- tiny random UNets: the denoiser really mixes the latent, so batching is a real question ---

def tiny_unet(seed: int):
    from diffusers import UNet2DConditionModel

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, block_out_channels=(16, 32),
        layers_per_block=1, cross_attention_dim=8, attention_head_dim=4, norm_num_groups=8,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D")).eval()

    @torch.no_grad()
    def denoiser(latents, t, cond):
        return unet(latents, t, encoder_hidden_states=cond).sample

    return denoiser


@pytest.fixture(scope="module")
def unets():
    return tiny_unet(0), tiny_unet(1)  # on one thread, as conftest sets for the suite


def compose_in_batches(members, scheduler_name, seeds, shape, *, num_steps, batch_size):
    """compose_sample over ``seeds`` in batches, each member's per-seed conditioning sliced to its batch."""
    done, parts = 0, []
    for batch in batched(seeds, batch_size):
        index = slice(done, done + len(batch))
        sliced = [Member(m.denoiser, m.cond if m.cond.shape[0] == 1 else m.cond[index],
                         m.uncond if m.uncond.shape[0] == 1 else m.uncond[index], guidance=m.guidance,
                         weight=m.weight, start=m.start, name=m.name) for m in members]
        parts.append(compose_sample(initial_latents(batch, shape), make_scheduler(scheduler_name, SD_SCHEDULE),
                                    sliced, num_steps=num_steps))
        done += len(batch)
    return torch.cat(parts)


def unet_members(unets, n):
    g = torch.Generator().manual_seed(0)
    cond_a, cond_i = torch.randn(n, 77, 8, generator=g), torch.randn(1, 77, 8, generator=g)
    uncond = torch.randn(1, 77, 8, generator=g)
    return [Member(unets[0], cond_a, uncond, guidance=10.0, weight=0.5, name="audio"),
            Member(unets[1], cond_i, uncond, guidance=10.0, weight=0.5, start=1, name="image")]


# Measured (float32 CPU, 4 steps, guidance 10): batch-of-3 vs single and paired runs differ by at
# most 1.6e-6 (DDIM) and 2.4e-6 (DPM-Solver++) of the largest latent value (random UNets with
# guidance 10 drive latents to |x| ≈ 15…54); batched kernels may sum in another order. 2e-5 is a
# margin over that and far below a mixed-up sample (relative difference of order 1).
BATCH_RTOL = 2e-5


@pytest.mark.parametrize("name", ["ddim", "dpm++"])
def test_batch_of_n_equals_n_singles(unets, name):
    seeds, shape = [11, 12, 13], (4, 8, 8)
    members = unet_members(unets, len(seeds))

    def run(batch_size):
        return compose_in_batches(members, name, seeds, shape, num_steps=4, batch_size=batch_size)

    together, singles, pairs = run(3), run(1), run(2)
    assert together.shape == (3, *shape)
    scale = together.abs().max()
    assert (together - singles).abs().max() < BATCH_RTOL * scale
    assert (together - pairs).abs().max() < BATCH_RTOL * scale
    assert (together[0] - together[1]).abs().max() > 1e-2                    # samples do differ
    again = run(3)
    torch.testing.assert_close(again, together, rtol=0, atol=0)             # same seed, same result
