"""`generate` end to end on tiny random models saved in the real hub layouts."""

import json

import numpy as np
import pytest
import soundfile
import torch

import tiny_models
from spectrocanvas.cli import main
from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.generate import (GenerateSettings, Runtime, decode_canvas, denoise_latents, generate_run,
                                    load_models)
from spectrocanvas.pictures import open_picture, picture_to_gray
from spectrocanvas.video import probe_video

FAST = dict(steps=3, image_start=1, latent_width=16)
"""3 DDIM steps, the image model joining at step 1, a 32 × 16 latent: a 256 × 128 canvas, 96 after the crop."""


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return {"image": str(tiny_models.save_tiny_sd(root / "sd")),
            "audio": str(tiny_models.save_tiny_auffusion(root / "auffusion")),
            "other_schedule": str(tiny_models.save_tiny_auffusion(root / "odd", beta_end=0.02))}


@pytest.fixture(scope="module")
def runtime(model_dirs):
    return Runtime(image_model=model_dirs["image"], audio_model=model_dirs["audio"], video=False)


def _args(model_dirs, out, *extra):
    return ["generate", "--image-prompt", "a painting of a castle", "--audio-prompt", "bell ringing", "-o", str(out),
            "--image-model", model_dirs["image"], "--audio-model", model_dirs["audio"], "--steps", "3",
            "--image-start", "1", "--quiet", *extra]


def test_every_file_is_written_and_decodes(model_dirs, tmp_path):
    out = tmp_path / "run"
    # latent width is not a CLI option: the default canvas is the paper's; keep the test small through the API
    settings = GenerateSettings(image_prompt="a castle", audio_prompt="bells", n=2, **FAST)
    generate_run(out, settings, Runtime(image_model=model_dirs["image"], audio_model=model_dirs["audio"]))
    for index in range(2):
        sample = out / f"sample_{index:03d}"
        assert sorted(p.name for p in sample.iterdir()) == ["audio.wav", "canvas.png", "image.png", "meta.json",
                                                            "spectrogram.png", "video.mp4"]
        audio, rate = soundfile.read(sample / "audio.wav")
        assert rate == 16000 and audio.shape == (96 * 160,)
        image = open_picture(sample / "image.png")
        assert image.mode == "RGB" and image.size == (96, 256)
        assert picture_to_gray(open_picture(sample / "canvas.png")).shape == (256, 96)
        streams = {s["type"]: s for s in probe_video(sample / "video.mp4")["streams"]}
        assert abs(streams["video"]["duration"] - 0.96) < 0.05 and abs(streams["audio"]["duration"] - 0.96) < 0.05
        meta = json.loads((sample / "meta.json").read_text())
        assert meta["seed"] == index and meta["method"] == "denoise"
        assert meta["settings"]["image_guidance"] == 10.0 and meta["settings"]["audio_weight"] == 0.5
        assert meta["models"]["audio"]["source"] == model_dirs["audio"]
        assert meta["vocoder"]["name"] == "hifigan" and meta["timings"]["reconstruct"] >= 0
        assert meta["provenance"]["torch"]


def test_same_seed_same_sample_and_other_seed_differs(runtime, tmp_path):
    settings = GenerateSettings(image_prompt="a castle", audio_prompt="bells", n=1, seed=7, **FAST)
    a = generate_run(tmp_path / "a", settings, runtime)[0]
    b = generate_run(tmp_path / "b", settings, runtime)[0]
    c = generate_run(tmp_path / "c", GenerateSettings(**{**settings.__dict__, "seed": 8}), runtime)[0]
    assert np.array_equal(soundfile.read(a / "audio.wav")[0], soundfile.read(b / "audio.wav")[0])
    assert (a / "image.png").read_bytes() == (b / "image.png").read_bytes()
    assert (a / "canvas.png").read_bytes() != (c / "canvas.png").read_bytes()


def test_batch_of_n_equals_n_single_runs(runtime):
    models = load_models(runtime)
    settings = GenerateSettings(image_prompt="a castle", audio_prompt="bells", **FAST)
    together = denoise_latents(settings, models, [3, 4, 5])
    alone = torch.cat([denoise_latents(settings, models, [s]) for s in (3, 4, 5)])
    assert torch.allclose(together, alone, atol=1e-5)
    assert not torch.allclose(together[0], together[1])


def test_warm_start_and_weights_change_the_result(runtime):
    models = load_models(runtime)
    base = GenerateSettings(image_prompt="a castle", audio_prompt="bells", **FAST)
    paper = denoise_latents(base, models, [0])
    audio_only = denoise_latents(GenerateSettings(**{**base.__dict__, "audio_weight": 1.0}), models, [0])
    late = denoise_latents(GenerateSettings(**{**base.__dict__, "image_start": 2}), models, [0])
    assert not torch.allclose(paper, audio_only) and not torch.allclose(paper, late)


def test_interrupted_run_resumes_without_redoing_or_losing(runtime, tmp_path, monkeypatch):
    import spectrocanvas.generate as generate_module

    settings = GenerateSettings(image_prompt="a castle", audio_prompt="bells", n=3, **FAST)
    real_write = generate_module._write_sample

    def interrupt_at_second(folder, index, **kwargs):
        if index == 1:
            raise KeyboardInterrupt
        return real_write(folder, index, **kwargs)

    monkeypatch.setattr(generate_module, "_write_sample", interrupt_at_second)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        generate_run(out, settings, Runtime(**{**runtime.__dict__, "batch_size": 1}))
    assert sorted(p.name for p in out.iterdir()) == ["run.json", "sample_000"]
    first = (out / "sample_000" / "meta.json").stat().st_mtime_ns

    monkeypatch.setattr(generate_module, "_write_sample", real_write)
    made = []
    monkeypatch.setattr(generate_module, "_write_sample",
                        lambda folder, index, **kw: made.append(index) or real_write(folder, index, **kw))
    samples = generate_run(out, settings, runtime)
    assert [p.name for p in samples] == ["sample_000", "sample_001", "sample_002"]
    assert made == [1, 2]  # the finished sample was not redone
    assert (out / "sample_000" / "meta.json").stat().st_mtime_ns == first


def test_other_settings_in_an_existing_folder_are_refused(runtime, model_dirs, tmp_path, capsys):
    out = tmp_path / "run"
    generate_run(out, GenerateSettings(image_prompt="a castle", audio_prompt="bells", **FAST), runtime)
    with pytest.raises(SpectrocanvasError, match="--overwrite"):
        generate_run(out, GenerateSettings(image_prompt="a dog", audio_prompt="bells", **FAST), runtime)
    generate_run(out, GenerateSettings(image_prompt="a dog", audio_prompt="bells", **FAST), runtime, overwrite=True)
    assert json.loads((out / "sample_000" / "meta.json").read_text())["image_prompt"] == "a dog"


def test_nan_latents_end_in_a_clear_error_and_keep_finished_samples(runtime, tmp_path, monkeypatch):
    import spectrocanvas.generate as generate_module

    settings = GenerateSettings(image_prompt="a castle", audio_prompt="bells", n=2, **FAST)
    out = tmp_path / "run"
    generate_run(out, GenerateSettings(**{**settings.__dict__, "n": 1}), runtime)
    real = generate_module.denoise_latents
    monkeypatch.setattr(generate_module, "denoise_latents",
                        lambda *a, **k: real(*a, **k) * float("nan"))
    with pytest.raises(SpectrocanvasError, match="NaN"):
        generate_run(out, settings, runtime)
    assert (out / "sample_000" / "meta.json").is_file() and not (out / "sample_001").exists()


def test_griffinlim_vocoder_and_no_crop(runtime, tmp_path):
    settings = GenerateSettings(image_prompt="a castle", audio_prompt="bells", crop_columns=0, **FAST)
    sample = generate_run(tmp_path / "gl", settings, Runtime(**{**runtime.__dict__, "vocoder": "griffinlim"}))[0]
    meta = json.loads((sample / "meta.json").read_text())
    assert meta["vocoder"]["name"] == "griffinlim"
    assert soundfile.read(sample / "audio.wav")[0].shape == (128 * 160,)


def test_canvas_is_the_mean_of_the_decoded_channels(runtime):
    models = load_models(runtime)
    latents = torch.randn(1, 4, 32, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        rgb = (models.audio.vae.decode(latents / models.audio.vae.config.scaling_factor).sample / 2 + 0.5).clamp(0, 1)
    assert torch.allclose(decode_canvas(models.audio, latents), rgb.mean(1), atol=1e-6)


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


def test_cli_refuses_bad_input_in_one_line(model_dirs, tmp_path, capsys):
    assert main(["generate", "--image-prompt", " ", "--audio-prompt", "bells", "-o", str(tmp_path / "a"),
                 "--quiet"]) == 2
    assert "empty" in _one_line(capsys)
    assert main(["generate", "--image-prompt", "castle", "--audio-prompt", "bells", "-o", str(tmp_path / "b"),
                 "--image-model", "nobody/no-such-model", "--offline", "--quiet"]) == 2
    assert "--image-model" in _one_line(capsys)
    assert main(_args({**model_dirs, "audio": model_dirs["other_schedule"]}, tmp_path / "c")) == 2
    assert "schedule" in _one_line(capsys)
    assert main(_args(model_dirs, tmp_path / "d", "--scheduler", "nonsense")) == 2
    assert "nonsense" in _one_line(capsys)
    assert not any(p.name.startswith("sample_") for p in tmp_path.rglob("*"))


def test_pairs_file_runs_every_pair_with_its_own_settings(model_dirs, tmp_path, capsys):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"image_prompt": "a castle", "audio_prompt": "bells"}\n'
                     '{"image_prompt": "dogs", "audio_prompt": "barking", "seed": 5, "audio_weight": 0.7}\n')
    out = tmp_path / "pairs-out"
    assert main(_args(model_dirs, out, "--no-video")[:1] + ["--pairs", str(pairs)] + _args(model_dirs, out, "--no-video")[5:]) == 0
    folders = sorted(p.name for p in out.iterdir())
    assert folders == ["pair_000_a-castle-bells", "pair_001_dogs-barking"]
    meta = json.loads((out / folders[1] / "sample_000" / "meta.json").read_text())
    assert meta["seed"] == 5 and meta["settings"]["audio_weight"] == 0.7
    assert "2 sample(s)" in capsys.readouterr().out


def test_out_of_memory_ends_in_one_line_and_keeps_finished_samples(model_dirs, tmp_path, capsys, monkeypatch):
    import spectrocanvas.generate as generate_module

    out = tmp_path / "run"
    assert main(_args(model_dirs, out, "--no-video")) == 0

    def exhausted(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(generate_module, "denoise_latents", exhausted)
    assert main(_args(model_dirs, out, "--no-video", "-n", "2")) == 2
    assert "--batch-size" in _one_line(capsys)
    assert (out / "sample_000" / "meta.json").is_file() and not (out / "sample_001").exists()


def test_warm_start_defaults_to_a_tenth_of_the_steps():
    assert GenerateSettings(image_prompt="a", audio_prompt="b").image_start_step == 10
    assert GenerateSettings(image_prompt="a", audio_prompt="b", steps=25).image_start_step == 2
    from dataclasses import replace

    paired = replace(GenerateSettings(image_prompt="a", audio_prompt="b"), steps=30)  # as a pairs file does
    assert paired.image_start_step == 3
    assert GenerateSettings(image_prompt="a", audio_prompt="b", steps=25, image_start=0).image_start_step == 0


def test_a_run_that_failed_before_any_sample_can_be_started_again_with_other_settings(model_dirs, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(_args({**model_dirs, "image": str(tmp_path / "typo")}, out, "--no-video")) == 2
    assert "does not exist" in _one_line(capsys)
    assert main(_args(model_dirs, out, "--no-video")) == 0  # the corrected command is not refused
    assert (out / "sample_000" / "meta.json").is_file()
