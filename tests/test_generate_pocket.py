"""`generate --preset pocket` end to end on tiny random pocket weights in the shipped format."""

import json

import numpy as np
import pytest
import soundfile
import torch

from spectrocanvas.cli import main
from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.generate import GenerateSettings, Runtime, denoise_latents, generate_run, load_models
from spectrocanvas.methods import method_settings
from spectrocanvas.pictures import open_picture, picture_to_gray
from spectrocanvas.pocket import IMAGE_CLASSES, SOUND_CLASSES, defaults
from spectrocanvas.pocket.load import KINDS, WEIGHTS_ENV, weights_file
from spectrocanvas.pocket.spec import CANVAS_SHAPE, POCKET, SAMPLES
from spectrocanvas.video import probe_video

from pocket_tiny import write_tiny_pocket

POCKET_RUNTIME = Runtime(preset="pocket", video=False)


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory):
    """The two denoisers, random and tiny, written as pocket.export writes them."""
    return write_tiny_pocket(tmp_path_factory.mktemp("pocket-weights"), judges=False)


@pytest.fixture
def pocket_weights(weights_dir, monkeypatch):
    monkeypatch.setenv(WEIGHTS_ENV, str(weights_dir))
    return weights_dir


def _args(out, *extra, image="triangle", audio="bell"):
    return ["generate", "--preset", "pocket", "--image-prompt", image, "--audio-prompt", audio, "-o", str(out),
            "--steps", "3", "--quiet", *extra]


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


def _settings(**given):
    """Settings as the CLI makes them: the method's, then the pocket preset's defaults for what is unset."""
    options = {k: given.pop(k, None) for k in ("steps", "image_guidance", "audio_guidance", "image_start",
                                               "audio_start", "audio_weight", "crop_columns")}
    method = given.pop("method", "denoise")
    return GenerateSettings(image_prompt=given.pop("image_prompt", "triangle"),
                            audio_prompt=given.pop("audio_prompt", "bell"),
                            **method_settings(method, {**options, **given}, preset="pocket"))


def test_cli_writes_every_file_for_each_sample(pocket_weights, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(_args(out, "-n", "2")) == 0
    assert "2 sample(s)" in capsys.readouterr().out
    identity = json.loads((out / "run.json").read_text())["identity"]
    assert identity["preset"] == "pocket" and "image_model" not in identity and identity["vocoder"] == "griffinlim"
    for index in range(2):
        sample = out / f"sample_{index:03d}"
        assert sorted(p.name for p in sample.iterdir()) == ["audio.wav", "canvas.png", "image.png", "meta.json",
                                                            "spectrogram.png", "video.mp4"]
        audio, rate = soundfile.read(sample / "audio.wav")
        assert rate == POCKET.sample_rate == 16000 and audio.shape == (SAMPLES,) and np.isfinite(audio).all()
        image = open_picture(sample / "image.png")
        assert image.mode == "RGB" and image.size == (CANVAS_SHAPE[2], CANVAS_SHAPE[1])
        rgb = np.asarray(image)
        assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()  # the picture is the canvas
        assert picture_to_gray(open_picture(sample / "canvas.png")).shape == CANVAS_SHAPE[1:]
        streams = {s["type"]: s for s in probe_video(sample / "video.mp4")["streams"]}
        assert abs(streams["audio"]["duration"] - 2.0) < 0.05
        meta = json.loads((sample / "meta.json").read_text())
        assert meta["seed"] == index and meta["image_prompt"] == "triangle" and meta["audio_prompt"] == "bell"
        assert meta["settings"]["steps"] == 3  # set by the user
        assert meta["settings"]["image_guidance"] == defaults.IMAGE_GUIDANCE  # the preset's
        assert meta["settings"]["audio_weight"] == defaults.AUDIO_WEIGHT and meta["settings"]["image_start"] == 0
        assert meta["settings"]["crop_columns"] == 0
        assert meta["models"]["preset"] == "pocket" and meta["models"]["image"]["name"] == "pocket-image"
        assert meta["vocoder"]["name"] == "griffinlim" and meta["canvas"]["n_mels"] == 32
    assert main(_args(out, "-n", "2")) == 0  # the same command again: nothing left to make, nothing refused


def test_preset_defaults_fill_only_what_is_unset():
    pocket = _settings()
    assert (pocket.steps, pocket.image_guidance, pocket.audio_guidance, pocket.audio_weight, pocket.image_start_step,
            pocket.crop_columns) == (50, defaults.IMAGE_GUIDANCE, defaults.AUDIO_GUIDANCE, defaults.AUDIO_WEIGHT, 0, 0)
    chosen = _settings(steps=20, image_guidance=9.0, audio_weight=0.6, crop_columns=4)
    assert (chosen.steps, chosen.image_guidance, chosen.audio_guidance, chosen.audio_weight,
            chosen.crop_columns) == (20, 9.0, defaults.AUDIO_GUIDANCE, 0.6, 4)
    paper = GenerateSettings(image_prompt="a", audio_prompt="b",
                             **method_settings("denoise", {"steps": None, "image_guidance": None}))
    assert (paper.steps, paper.image_guidance, paper.image_start_step, paper.crop_columns) == (100, 10.0, 10, 32)
    assert method_settings("imprint", {}, preset="pocket")["image_guidance"] == defaults.IMAGE_GUIDANCE != 7.5
    assert method_settings("image-only", {}, preset="pocket")["audio_weight"] == 0.0  # the method's fixed value wins


def test_same_seed_same_sample_and_batch_equals_singles(pocket_weights, tmp_path):
    models = load_models(POCKET_RUNTIME)
    settings = _settings(steps=3)
    together = denoise_latents(settings, models, [3, 4, 5])
    assert together.shape == (3, *CANVAS_SHAPE)
    alone = torch.cat([denoise_latents(settings, models, [s]) for s in (3, 4, 5)])
    assert torch.allclose(together, alone, atol=1e-5)
    assert not torch.allclose(together[0], together[1])
    a = generate_run(tmp_path / "a", settings, POCKET_RUNTIME)[0]
    b = generate_run(tmp_path / "b", settings, POCKET_RUNTIME)[0]
    assert np.array_equal(soundfile.read(a / "audio.wav")[0], soundfile.read(b / "audio.wav")[0])
    assert (a / "image.png").read_bytes() == (b / "image.png").read_bytes()


def test_prompt_and_weights_change_the_result(pocket_weights):
    models = load_models(POCKET_RUNTIME)
    base = denoise_latents(_settings(steps=3), models, [0])
    assert not torch.allclose(base, denoise_latents(_settings(steps=3, image_prompt="circle"), models, [0]))
    assert not torch.allclose(base, denoise_latents(_settings(steps=3, audio_weight=1.0), models, [0]))


@pytest.mark.parametrize("method, extra", [("image-only", {}), ("audio-only", {}), ("imprint", {"image_steps": 2}),
                                           ("sds", {"sds_iterations": 3})])
def test_every_method_runs_on_the_pocket_pair(pocket_weights, tmp_path, method, extra):
    settings = _settings(method=method, steps=2, **extra)
    sample = generate_run(tmp_path / method, settings, POCKET_RUNTIME)[0]
    assert soundfile.read(sample / "audio.wav")[0].shape == (SAMPLES,)
    assert json.loads((sample / "meta.json").read_text())["method"] == method


def test_unknown_word_is_one_line_listing_the_words_and_writes_nothing(pocket_weights, tmp_path, capsys):
    assert main(_args(tmp_path / "a", audio="trumpet")) == 2
    line = _one_line(capsys)
    assert "'trumpet'" in line and all(word in line for word in SOUND_CLASSES)
    assert main(_args(tmp_path / "b", image="a castle at dusk")) == 2
    line = _one_line(capsys)
    assert "'a castle at dusk'" in line and all(word in line for word in IMAGE_CLASSES)
    assert main(_args(tmp_path / "c", "--image-negative", "circle")) == 2
    assert "negative" in _one_line(capsys)
    assert not any(tmp_path.iterdir())


def test_missing_weights_are_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / "nowhere"))
    assert main(_args(tmp_path / "run")) == 2
    line = _one_line(capsys)
    assert "missing" in line and "nowhere" in line and WEIGHTS_ENV in line
    assert not (tmp_path / "run" / "sample_000").exists()


@pytest.mark.skipif(all(weights_file(k).is_file() for k in KINDS[:2]), reason="pocket weights are shipped")
def test_unshipped_weights_say_so(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    assert main(_args(tmp_path / "run")) == 2
    assert "not shipped yet" in _one_line(capsys)


def test_options_the_pocket_pair_cannot_take_are_one_line(pocket_weights, tmp_path, capsys):
    for extra, words in ((["--image-model", "sd15"], "--image-model"), (["--vocoder", "hifigan"], "griffinlim"),
                         (["--dtype", "fp16"], "float32")):
        assert main(_args(tmp_path / "run", *extra)) == 2
        assert words in _one_line(capsys)
    assert not (tmp_path / "run" / "sample_000").exists()
    with pytest.raises(SpectrocanvasError, match="unknown preset"):
        load_models(Runtime(preset="tiny"))


def test_pocket_command_starts_without_diffusers(pocket_weights, tmp_path):
    """The pocket path samples with its own DDIM: importing diffusers would cost seconds of start-up."""
    import os
    import subprocess
    import sys

    code = ("import sys; from spectrocanvas.cli import main; "
            f"rc = main({_args(tmp_path / 'run', '-n', '1', '--no-video')!r}); "
            "print(rc, 'diffusers' in sys.modules, 'torch._dynamo' in sys.modules)")
    env = {**os.environ, WEIGHTS_ENV: str(pocket_weights)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.stdout.split()[-3:] == ["0", "False", "False"], done.stderr
    assert (tmp_path / "run" / "sample_000" / "audio.wav").is_file()


def test_sampling_threads_are_scoped_to_the_run(pocket_weights, tmp_path, monkeypatch):
    from spectrocanvas.threads import cpu_threads

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    models = load_models(POCKET_RUNTIME)
    assert models.cpu_threads == defaults.THREADS
    seen, forward = [], models.models.image.net.forward
    monkeypatch.setattr(models.models.image.net, "forward",
                        lambda *a, **k: seen.append(torch.get_num_threads()) or forward(*a, **k))
    process_threads = torch.get_num_threads()
    outside = defaults.THREADS + 1  # the process's count differs from the run's
    torch.set_num_threads(outside)
    try:
        generate_run(tmp_path / "run", _settings(steps=2), POCKET_RUNTIME, models=models)
        assert seen and set(seen) == {defaults.THREADS} and torch.get_num_threads() == outside
        with cpu_threads(None):
            assert torch.get_num_threads() == outside
    finally:
        torch.set_num_threads(process_threads)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert load_models(POCKET_RUNTIME).cpu_threads is None  # the user's choice wins
