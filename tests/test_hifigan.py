"""HiFi-GAN: weight-norm folding against torch's own weight_norm, exact output lengths, config checks."""

import math
import warnings

import pytest
import tiny_models
import torch
from torch import nn

from spectrocanvas.canvas import AUFFUSION
from spectrocanvas.canvas.analysis import canvas_to_log_mel
from spectrocanvas.canvas.hifigan import (
    AUFFUSION_HIFIGAN_CONFIG,
    HiFiGANGenerator,
    HiFiGANVocoder,
    VocoderConfigError,
    build_generator,
    check_config,
    fold_weight_norm,
    upsample_padding,
)
from spectrocanvas.canvas.vocoders import Vocoder


def _old_weight_norm(layer: nn.Module) -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return nn.utils.weight_norm(layer)


@pytest.mark.parametrize("make", [lambda: nn.Conv1d(6, 4, 5), lambda: nn.ConvTranspose1d(6, 4, 10, 5)])
def test_fold_matches_torch_weight_norm_for_conv_and_transposed_conv(make):
    torch.manual_seed(0)
    layer = _old_weight_norm(make())
    with torch.no_grad():
        layer.weight_g.mul_(torch.rand_like(layer.weight_g) + 0.5)
    layer(torch.randn(1, 6, 9))  # the forward pre-hook recomputes layer.weight from g and v
    folded = fold_weight_norm(layer.state_dict())
    assert set(folded) == {"weight", "bias"}
    torch.testing.assert_close(folded["weight"], layer.weight.detach(), rtol=0, atol=1e-6)


def test_fold_understands_parametrization_naming():
    torch.manual_seed(0)
    layer = nn.utils.parametrizations.weight_norm(nn.ConvTranspose1d(3, 2, 4, 2))
    folded = fold_weight_norm(layer.state_dict())
    torch.testing.assert_close(folded["weight"], layer.weight.detach(), rtol=0, atol=1e-6)


def test_fold_rejects_half_a_pair():
    with pytest.raises(VocoderConfigError, match="without"):
        fold_weight_norm({"conv_pre.weight_g": torch.ones(2, 1, 1)})


@pytest.mark.parametrize("resblock", ["1", "2"])
def test_folded_generator_matches_weight_normed_reference(resblock):
    config = {**tiny_models.TINY_HIFIGAN_CONFIG, "resblock": resblock}
    reference = tiny_models.reference_hifigan(config, seed=3)
    generator = build_generator(config, reference.state_dict())
    log_mel = torch.randn(2, config["num_mels"], 9) - 4
    with torch.no_grad():
        expected = reference(log_mel)
    torch.testing.assert_close(generator(log_mel), expected, rtol=0, atol=1e-5)
    assert not any(p.requires_grad for p in generator.parameters()) and not generator.training


@pytest.mark.parametrize("kernel,rate", [(16, 5), (10, 5), (11, 5), (8, 4), (9, 4), (4, 2), (5, 2), (3, 3)])
def test_upsample_padding_gives_exactly_length_times_rate(kernel, rate):
    padding, output_padding = upsample_padding(kernel, rate)
    assert output_padding == (kernel - rate) % 2
    layer = nn.ConvTranspose1d(1, 1, kernel, rate, padding=padding, output_padding=output_padding)
    for length in (1, 7, 30):
        assert layer(torch.zeros(1, 1, length)).shape[-1] == length * rate


def test_kernel_smaller_than_rate_is_refused():
    with pytest.raises(VocoderConfigError, match="smaller"):
        upsample_padding(3, 5)


def test_vocoder_gives_frames_times_hop_samples_and_follows_the_protocol():
    config = tiny_models.TINY_HIFIGAN_CONFIG
    assert any((k - u) % 2 for k, u in zip(config["upsample_kernel_sizes"], config["upsample_rates"]))
    vocoder = HiFiGANVocoder(build_generator(config, tiny_models.reference_hifigan(config).state_dict()), AUFFUSION)
    assert isinstance(vocoder, Vocoder)
    canvas = torch.rand(2, 256, 13)
    waveform = vocoder(canvas)
    assert waveform.shape == (2, 13 * 160) and waveform.dtype == torch.float32
    assert torch.isfinite(waveform).all() and waveform.abs().max() <= 1
    assert vocoder(canvas[0]).shape == (13 * 160,)
    # the generator's input is the natural-log mel, low frequencies first
    expected = tiny_models.reference_hifigan(config)(canvas_to_log_mel(canvas, AUFFUSION)).squeeze(1)
    torch.testing.assert_close(waveform, expected.detach(), rtol=0, atol=1e-5)
    assert vocoder.describe()["name"] == "hifigan" and vocoder.describe()["num_mels"] == 256


def test_gradients_reach_the_canvas():
    config = tiny_models.TINY_HIFIGAN_CONFIG
    vocoder = HiFiGANVocoder(build_generator(config, tiny_models.reference_hifigan(config).state_dict()))
    canvas = torch.rand(1, 256, 4, requires_grad=True)
    vocoder(canvas).square().sum().backward()
    assert canvas.grad is not None and canvas.grad.abs().sum() > 0


@pytest.mark.parametrize("change,message", [
    ({"num_mels": 80}, "80 mel bands"),
    ({"upsample_rates": [5, 4, 2, 2, 1], "upsample_kernel_sizes": [10, 8, 4, 5, 3]}, "multiply to 80"),
    ({"sampling_rate": 22050}, "22050 Hz"),
])
def test_vocoder_refuses_a_config_for_another_canvas(change, message):
    config = {**tiny_models.TINY_HIFIGAN_CONFIG, **change}
    with pytest.raises(VocoderConfigError, match=message) as error:
        HiFiGANVocoder(HiFiGANGenerator(config), AUFFUSION)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("change,message", [
    ({"upsample_rates": None}, "lacks upsample_rates"),
    ({"upsample_kernel_sizes": [10, 8]}, "numbers of upsample"),
    ({"resblock": "3"}, "resblock"),
    ({"upsample_initial_channel": 24}, "divisible"),
])
def test_broken_configs_are_one_line_errors(change, message):
    config = {**tiny_models.TINY_HIFIGAN_CONFIG, **change}
    config = {k: v for k, v in config.items() if v is not None}
    with pytest.raises(VocoderConfigError, match=message):
        check_config(config)


def test_weights_that_do_not_match_the_config_are_refused():
    state = tiny_models.reference_hifigan().state_dict()
    del state["conv_post.bias"]
    with pytest.raises(VocoderConfigError, match="missing conv_post.bias"):
        build_generator(tiny_models.TINY_HIFIGAN_CONFIG, state)


def test_auffusion_config_constant_fits_the_canvas():
    check_config(AUFFUSION_HIFIGAN_CONFIG)
    assert math.prod(AUFFUSION_HIFIGAN_CONFIG["upsample_rates"]) == AUFFUSION.hop_length
    assert AUFFUSION_HIFIGAN_CONFIG["num_mels"] == AUFFUSION.n_mels
    with torch.device("meta"):  # shapes only: no memory, no time
        generator = HiFiGANGenerator(AUFFUSION_HIFIGAN_CONFIG)
        assert generator(torch.empty(1, 256, 50)).shape == (1, 1, 50 * 160)
