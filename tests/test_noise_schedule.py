"""ᾱ_t computed in pure torch equals what diffusers' schedulers hold, for every beta schedule used."""

import pytest
import torch

from spectrocanvas.diffusion.noise_schedule import alphas_cumprod_of, betas_of, cosine_alpha_bar
from spectrocanvas.diffusion.sampler import check_shared_schedule

CONFIGS = [
    {"num_train_timesteps": 1000, "beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012},
    {"num_train_timesteps": 1000, "beta_schedule": "linear", "beta_start": 0.0001, "beta_end": 0.02},
    {"num_train_timesteps": 1000, "beta_schedule": "squaredcos_cap_v2"},
    {"num_train_timesteps": 50, "beta_schedule": "squaredcos_cap_v2"},
    {"num_train_timesteps": 4, "trained_betas": [0.1, 0.2, 0.3, 0.4]},
]


@pytest.mark.parametrize("config", CONFIGS)
def test_alphas_cumprod_equal_diffusers(config):
    from diffusers import DDPMScheduler

    theirs = DDPMScheduler.from_config(config).alphas_cumprod
    assert torch.equal(alphas_cumprod_of(config), theirs)


def test_cosine_schedule_follows_its_formula():
    acp = alphas_cumprod_of({"num_train_timesteps": 1000, "beta_schedule": "squaredcos_cap_v2"}).double()
    t = torch.arange(1, 1000)
    expected = torch.tensor([cosine_alpha_bar(k / 1000) for k in range(2, 1001)], dtype=torch.float64)
    expected = expected / cosine_alpha_bar(0)
    # ᾱ_t = ᾱ(t+1/T)/ᾱ(0) while no β is capped; float32 products drift by < 1e-5
    uncapped = betas_of({"num_train_timesteps": 1000, "beta_schedule": "squaredcos_cap_v2"})[t] < 0.999
    torch.testing.assert_close(acp[t][uncapped], expected[uncapped.numpy()], rtol=0, atol=1e-5)


def test_unknown_schedule_falls_back_to_diffusers():
    config = {"num_train_timesteps": 100, "beta_schedule": "scaled_linear", "rescale_betas_zero_snr": True}
    acp = alphas_cumprod_of(config)
    assert acp.shape == (100,) and float(acp[-1]) < 1e-6  # zero terminal SNR
    check_shared_schedule([config, dict(config)])
