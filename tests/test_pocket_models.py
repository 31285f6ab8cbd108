"""Pocket models: forward shapes, the vocabulary, the schedule, and loading weights into the
composition sampler (tiny random models written in the shipped format; no training needed)."""

import pytest
import torch
from pocket_tiny import TINY_UNET, pocket_canvases, write_tiny_pocket

from spectrocanvas.diffusion.ddim import ClippedDDIM
from spectrocanvas.diffusion.sampler import check_shared_schedule
from spectrocanvas.diffusion.schedulers import make_scheduler
from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.pairs.pocket.classifier import ClassifierConfig, PocketClassifier
from spectrocanvas.pairs.pocket.schedule import pocket_scheduler, scheduler_config
from spectrocanvas.pairs.pocket.unet import PocketUNet, UNetConfig
from spectrocanvas.pairs.pocket.vocab import IMAGE_CLASSES, SOUND_CLASSES, class_index, null_class
from spectrocanvas.pairs.pocket.weights import WEIGHTS_ENV, load_pocket


def test_vocabulary_indices_and_null_class():
    assert len(set(IMAGE_CLASSES)) == len(IMAGE_CLASSES) == 8 and len(set(SOUND_CLASSES)) == 8
    assert class_index("triangle", "image") == IMAGE_CLASSES.index("triangle")
    assert class_index(" Bell ", "audio") == SOUND_CLASSES.index("bell")
    assert null_class("image") == 8 and null_class("audio") == 8


def test_unknown_word_is_one_line_listing_the_words():
    with pytest.raises(SpectrocanvasError) as info:
        class_index("dog", "audio")
    message = str(info.value)
    assert "\n" not in message and "'dog'" in message
    assert all(word in message for word in SOUND_CLASSES)
    with pytest.raises(SpectrocanvasError, match="circle, square"):
        class_index("bell", "image")  # a sound word is not an image word


@pytest.mark.parametrize("config", [UNetConfig(), TINY_UNET, UNetConfig(channels=(8, 16), unshuffle=2)])
def test_unet_maps_canvas_to_epsilon_of_the_same_shape(config):
    net = PocketUNet(config)
    x = torch.randn(3, 1, 32, 128)
    eps = net(x, torch.tensor([0, 500, 999]), torch.tensor([0, 7, 8]))
    assert eps.shape == x.shape and torch.isfinite(eps).all()
    assert net(x, torch.tensor(10), torch.tensor([1, 1, 1])).shape == x.shape  # one timestep for all


def test_unet_output_depends_on_class_and_time_once_trained_a_little():
    torch.manual_seed(0)
    net = PocketUNet(TINY_UNET)
    for p in net.parameters():  # leave the zero initialisation so every path carries signal
        torch.nn.init.normal_(p, std=0.1)
    x = torch.randn(1, 1, 32, 128)
    a = net(x, torch.tensor([100]), torch.tensor([0]))
    assert not torch.allclose(a, net(x, torch.tensor([100]), torch.tensor([1])))
    assert not torch.allclose(a, net(x, torch.tensor([900]), torch.tensor([0])))


def test_unet_refuses_a_canvas_its_strides_cannot_halve():
    with pytest.raises(ValueError, match="divisible"):
        PocketUNet(TINY_UNET)(torch.randn(1, 1, 30, 128), torch.tensor([1]), torch.tensor([0]))


@pytest.mark.parametrize("pool", ["global", "time"])
def test_classifier_gives_logits_per_class(pool):
    net = PocketClassifier(ClassifierConfig(pool=pool)).eval()
    assert net(torch.rand(5, 1, 32, 128)).shape == (5, 8)


def test_schedule_is_shared_and_builds_every_scheduler():
    check_shared_schedule([scheduler_config(), scheduler_config(), pocket_scheduler()])
    for name in ("ddim", "dpm++", "euler"):
        check_shared_schedule([pocket_scheduler(), make_scheduler(name, scheduler_config())])
    assert isinstance(pocket_scheduler("ddim"), ClippedDDIM)


@pytest.mark.parametrize("steps", [1, 7, 50, 100])
@pytest.mark.parametrize("eta", [0.0, 0.5])
def test_clipped_ddim_steps_as_diffusers_ddim_with_the_clipped_epsilon(steps, eta):
    from diffusers import DDIMScheduler

    ours, theirs = pocket_scheduler(), DDIMScheduler.from_config(scheduler_config())
    ours.set_timesteps(steps)
    theirs.set_timesteps(steps)
    assert torch.equal(ours.timesteps, theirs.timesteps)
    torch.testing.assert_close(ours.alphas_cumprod, theirs.alphas_cumprod, rtol=0, atol=0)
    x = torch.randn(2, 1, 4, 4)
    for t in ours.timesteps:
        eps = torch.randn(2, 1, 4, 4) * 3  # large enough that x0 is clipped at every step
        a = ours.step(eps, t, x, eta=eta, generator=torch.Generator().manual_seed(int(t))).prev_sample
        b = theirs.step(eps, t, x, eta=eta, use_clipped_model_output=True,
                        generator=torch.Generator().manual_seed(int(t))).prev_sample
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
        x = b


def test_clipped_ddim_differs_from_ddim_that_keeps_the_raw_epsilon():
    from diffusers import DDIMScheduler

    ours, raw = pocket_scheduler(), DDIMScheduler.from_config(scheduler_config())
    ours.set_timesteps(10)
    raw.set_timesteps(10)
    t = ours.timesteps[3]
    x, eps = torch.randn(1, 1, 4, 4) * 3, torch.randn(1, 1, 4, 4) * 3
    assert not torch.allclose(ours.step(eps, t, x).prev_sample,
                              raw.step(eps, t, x, use_clipped_model_output=False).prev_sample)


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    return write_tiny_pocket(tmp_path_factory.mktemp("pocket-weights"))


def test_clipped_ddim_refuses_configs_it_does_not_reproduce():
    with pytest.raises(ValueError, match="trailing"):
        ClippedDDIM({**scheduler_config(), "timestep_spacing": "leading"})
    with pytest.raises(ValueError, match="epsilon"):
        ClippedDDIM({**scheduler_config(), "prediction_type": "v_prediction"})


def test_missing_weights_are_one_clear_line(tmp_path):
    with pytest.raises(SpectrocanvasError, match="missing.*pocket.training.train") as info:
        load_pocket(tmp_path)
    assert "\n" not in str(info.value)


def test_weights_load_offline_as_sampler_members(tiny_weights):
    models = load_pocket(tiny_weights, judges=True)
    assert load_pocket(tiny_weights, judges=True) is models  # loaded once per process
    assert models.spec.n_mels == 32
    assert models.image.cond("triangle").shape == (1, 1, 1) and int(models.audio.uncond()) == 8
    eps = models.image(torch.randn(2, 1, 32, 128), torch.tensor(500), torch.cat([models.image.cond("star"),
                                                                                   models.image.uncond()]))
    assert eps.shape == (2, 1, 32, 128)
    assert models.image_judge.predict(torch.rand(3, 32, 128)).shape == (3,)
    assert models.audio_judge(torch.rand(3, 1, 32, 128)).shape == (3, 8)


def test_generation_is_seeded_and_batch_independent(tiny_weights, monkeypatch):
    monkeypatch.setenv(WEIGHTS_ENV, str(tiny_weights))
    a = pocket_canvases("triangle", "bell", [0, 1, 2], steps=4)
    assert a.shape == (3, 32, 128) and 0 <= a.min() and a.max() <= 1
    assert torch.allclose(a, pocket_canvases("triangle", "bell", [0, 1, 2], steps=4))
    # A batch of one against a batch of three: the same arithmetic, summed in another order by
    # batched kernels (measured: at most a few 1e-7 of canvases in [0, 1]).
    assert torch.allclose(a[1:2], pocket_canvases("triangle", "bell", [1], steps=4), rtol=0, atol=1e-5)
    assert not torch.allclose(a[0], a[1])
    for method in ("image-only", "audio-only"):
        assert pocket_canvases("circle", "rain", [0], steps=3, method=method).shape == (1, 32, 128)
    with pytest.raises(SpectrocanvasError, match="siren"):
        pocket_canvases("triangle", "trumpet", [0], steps=2)


def test_wilson_interval_matches_known_values():
    from spectrocanvas.measure.stats import wilson_interval

    lo, hi = wilson_interval(50, 100)
    assert lo == pytest.approx(0.4038, abs=1e-3) and hi == pytest.approx(0.5962, abs=1e-3)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
