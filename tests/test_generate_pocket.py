"""`generate --preset pocket` end to end on tiny random pocket weights in the shipped format."""

import json

import numpy as np
import pytest
import soundfile
import torch
from pocket_tiny import write_tiny_pocket

from spectrocanvas.cli import main
from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.files.pictures import open_picture, picture_to_gray
from spectrocanvas.files.video import probe_video
from spectrocanvas.generate.resolve import resolve_settings
from spectrocanvas.generate.runs import generate_run, load_pair
from spectrocanvas.generate.sampling import denoise_latents
from spectrocanvas.pairs.interface import Runtime
from spectrocanvas.pairs.pocket import defaults
from spectrocanvas.pairs.pocket.networks import KINDS
from spectrocanvas.pairs.pocket.spec import CANVAS_SHAPE, POCKET, SAMPLES
from spectrocanvas.pairs.pocket.vocab import IMAGE_CLASSES, SOUND_CLASSES
from spectrocanvas.pairs.pocket.weights import WEIGHTS_ENV, weights_file

POCKET_RUNTIME = Runtime(pair="pocket", video=False)


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


def _settings(method="denoise", **given):
    """Settings as the CLI makes them: the pocket pair's defaults for what is unset."""
    return resolve_settings({"image_prompt": "triangle", "audio_prompt": "bell", **given}, pair="pocket", method=method)


def _latents(settings, pair, seeds):
    return denoise_latents([settings] * len(seeds), seeds, pair)


def test_cli_writes_every_file_for_each_sample(pocket_weights, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(_args(out, "-n", "2")) == 0
    assert "2 sample(s)" in capsys.readouterr().out
    identity = json.loads((out / "run.json").read_text())["identity"]
    assert identity["pair"] == "pocket" and identity["models"] == {} and identity["vocoder"] == "griffinlim"
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
        assert meta["models"]["pair"] == "pocket" and meta["models"]["image"]["name"] == "pocket-image"
        assert meta["vocoder"]["name"] == "griffinlim" and meta["canvas"]["n_mels"] == 32
    assert main(_args(out, "-n", "2")) == 0  # the same command again: nothing left to make, nothing refused


def test_pair_defaults_fill_only_what_is_unset():
    def view(settings):
        o = settings.options()
        return (o["steps"], o["image_guidance"], o["audio_guidance"], o["image_weight"], o["audio_weight"],
                o["image_start"], o["crop_columns"])

    assert view(_settings()) == (50, defaults.IMAGE_GUIDANCE, defaults.AUDIO_GUIDANCE, 1 - defaults.AUDIO_WEIGHT,
                                 defaults.AUDIO_WEIGHT, 0, 0)
    chosen = _settings(steps=20, image_guidance=9.0, audio_weight=0.6, crop_columns=4)
    assert view(chosen) == (20, 9.0, defaults.AUDIO_GUIDANCE, 0.4, 0.6, 0, 4)  # the image model gets the rest
    paper = resolve_settings({"image_prompt": "a", "audio_prompt": "b", "steps": None, "image_guidance": None})
    assert view(paper) == (100, 10.0, 10.0, 0.5, 0.5, 10, 32)
    assert _settings("imprint").member("image").guidance == defaults.IMAGE_GUIDANCE != 7.5
    only = _settings("image-only").options()
    assert (only["audio_weight"], only["image_weight"]) == (0.0, 1.0)  # the method's fixed values win


def test_same_seed_same_sample_and_batch_equals_singles(pocket_weights, tmp_path):
    pair = load_pair(POCKET_RUNTIME)
    settings = _settings(steps=3)
    together = _latents(settings, pair, [3, 4, 5])
    assert together.shape == (3, *CANVAS_SHAPE)
    alone = torch.cat([_latents(settings, pair, [s]) for s in (3, 4, 5)])
    # batched kernels sum in another order (measured: a few 1e-7 of latents clipped to [-1, 1])
    assert torch.allclose(together, alone, rtol=0, atol=1e-5)
    assert not torch.allclose(together[0], together[1])
    a = generate_run(tmp_path / "a", settings, POCKET_RUNTIME)[0]
    b = generate_run(tmp_path / "b", settings, POCKET_RUNTIME)[0]
    assert np.array_equal(soundfile.read(a / "audio.wav")[0], soundfile.read(b / "audio.wav")[0])
    assert (a / "image.png").read_bytes() == (b / "image.png").read_bytes()


def test_prompt_and_weights_change_the_result(pocket_weights):
    pair = load_pair(POCKET_RUNTIME)
    base = _latents(_settings(steps=3), pair, [0])
    assert not torch.allclose(base, _latents(_settings(steps=3, image_prompt="circle"), pair, [0]))
    assert not torch.allclose(base, _latents(_settings(steps=3, audio_weight=1.0), pair, [0]))


@pytest.mark.parametrize("method, extra", [("image-only", {}), ("audio-only", {}), ("imprint", {"image_steps": 2}),
                                           ("sds", {"sds_iterations": 3})])
def test_every_method_runs_on_the_pocket_pair(pocket_weights, tmp_path, method, extra):
    settings = _settings(method, steps=2, **extra)
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
                         (["--dtype", "fp16"], "float32"), (["--device", "cuda"], "cpu")):
        assert main(_args(tmp_path / "run", *extra)) == 2
        assert words in _one_line(capsys)
    assert not (tmp_path / "run").exists()
    with pytest.raises(SpectrocanvasError, match="unknown model pair 'tiny'; choose one of sd15-auffusion, pocket"):
        load_pair(Runtime(pair="tiny"))


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
    from spectrocanvas.support.threads import cpu_threads

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    pair = load_pair(POCKET_RUNTIME)
    assert pair.entry.cpu_threads == defaults.THREADS
    seen, forward = [], pair.models.image.net.forward
    monkeypatch.setattr(pair.models.image.net, "forward",
                        lambda *a, **k: seen.append(torch.get_num_threads()) or forward(*a, **k))
    process_threads = torch.get_num_threads()
    outside = defaults.THREADS + 1  # the process's count differs from the run's
    torch.set_num_threads(outside)
    try:
        generate_run(tmp_path / "run", _settings(steps=2), POCKET_RUNTIME, pair=pair)
        assert seen and set(seen) == {defaults.THREADS} and torch.get_num_threads() == outside
        with cpu_threads(None):
            assert torch.get_num_threads() == outside
        monkeypatch.setenv("OMP_NUM_THREADS", str(outside))  # the user's choice wins
        seen.clear()
        generate_run(tmp_path / "run2", _settings(steps=2), POCKET_RUNTIME, pair=pair)
        assert set(seen) == {outside}
    finally:
        torch.set_num_threads(process_threads)
