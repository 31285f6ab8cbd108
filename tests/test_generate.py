"""`generate` end to end on tiny random models saved in the real hub layouts."""

import json

import numpy as np
import pytest
import soundfile
import tiny_models
import torch

from spectrocanvas.cli import main
from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.files.pictures import open_picture, picture_to_gray
from spectrocanvas.files.video import probe_video
from spectrocanvas.generate import runs as runs_module
from spectrocanvas.generate import sampling as sampling_module
from spectrocanvas.generate.resolve import resolve_settings
from spectrocanvas.generate.runs import generate_run, load_pair
from spectrocanvas.generate.sampling import denoise_latents
from spectrocanvas.pairs.interface import Runtime
from spectrocanvas.pairs.sd_models import decode_canvas

FAST = dict(steps=3, image_start=1, latent_width=16)
"""3 DDIM steps, the image model joining at step 1, a 32 × 16 latent: a 256 × 128 canvas, 96 after the crop."""


def settings(image="a castle", audio="bells", **given):
    """Settings as `generate` resolves them for SD 1.5 + Auffusion (small and fast unless told)."""
    return resolve_settings({"image_prompt": image, "audio_prompt": audio, **FAST, **given})


def latents(settings_, pair, seeds):
    """The paper's joint denoising of ``seeds`` with one settings."""
    return denoise_latents([settings_] * len(seeds), seeds, pair)


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return {"image": str(tiny_models.save_tiny_sd(root / "sd")),
            "audio": str(tiny_models.save_tiny_auffusion(root / "auffusion")),
            "other_schedule": str(tiny_models.save_tiny_auffusion(root / "odd", beta_end=0.02))}


@pytest.fixture(scope="module")
def runtime(model_dirs):
    return Runtime(models={"image": model_dirs["image"], "audio": model_dirs["audio"]}, video=False)


def _args(model_dirs, out, *extra):
    return ["generate", "--image-prompt", "a painting of a castle", "--audio-prompt", "bell ringing", "-o", str(out),
            "--image-model", model_dirs["image"], "--audio-model", model_dirs["audio"], "--steps", "3",
            "--image-start", "1", "--quiet", *extra]


def test_every_file_is_written_and_decodes(model_dirs, tmp_path):
    out = tmp_path / "run"
    # latent width is not a CLI option: the default canvas is the paper's; keep the test small through the API
    generate_run(out, settings(n=2), Runtime(models={"image": model_dirs["image"], "audio": model_dirs["audio"]}))
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
        assert meta["settings"]["image_weight"] == 0.5 and meta["models"]["pair"] == "sd15-auffusion"
        assert meta["models"]["audio"]["source"] == model_dirs["audio"]
        assert meta["vocoder"]["name"] == "hifigan" and meta["timings"]["reconstruct"] >= 0
        assert meta["provenance"]["torch"]


def test_same_seed_same_sample_and_other_seed_differs(runtime, tmp_path):
    a = generate_run(tmp_path / "a", settings(seed=7), runtime)[0]
    b = generate_run(tmp_path / "b", settings(seed=7), runtime)[0]
    c = generate_run(tmp_path / "c", settings(seed=8), runtime)[0]
    assert np.array_equal(soundfile.read(a / "audio.wav")[0], soundfile.read(b / "audio.wav")[0])
    assert (a / "image.png").read_bytes() == (b / "image.png").read_bytes()
    assert (a / "canvas.png").read_bytes() != (c / "canvas.png").read_bytes()


# A batch of 3 against 3 single runs: the same arithmetic, summed in another order by batched
# kernels, which differ between CPUs (measured on an AMD EPYC: latents up to 12.7, differences up
# to 2.2e-5, relative 1.8e-6). 2e-5 of the largest value is a margin over that and far below a
# mixed-up sample (relative difference of order 1), as tests/test_sampler.py's BATCH_RTOL.
BATCH_RTOL = 2e-5


def test_batch_of_n_equals_n_single_runs(runtime):
    pair = load_pair(runtime)
    together = latents(settings(), pair, [3, 4, 5])
    alone = torch.cat([latents(settings(), pair, [s]) for s in (3, 4, 5)])
    assert (together - alone).abs().max() <= BATCH_RTOL * together.abs().max()
    assert not torch.allclose(together[0], together[1])


def test_a_batch_may_span_prompt_pairs(runtime):
    pair = load_pair(runtime)
    castle, dogs = settings(), settings(image="dogs", audio="barking")
    together = denoise_latents([castle, dogs, castle], [3, 4, 5], pair)
    alone = torch.cat([latents(castle, pair, [3]), latents(dogs, pair, [4]), latents(castle, pair, [5])])
    assert (together - alone).abs().max() <= BATCH_RTOL * together.abs().max()
    with pytest.raises(SpectrocanvasError, match="share every setting"):
        denoise_latents([castle, settings(steps=2)], [0, 1], pair)


def test_warm_start_weights_and_end_change_the_result(runtime):
    pair = load_pair(runtime)
    paper = latents(settings(), pair, [0])
    audio_only = latents(settings(audio_weight=1.0), pair, [0])
    late = latents(settings(image_start=2), pair, [0])
    early_exit = latents(settings(image_end=2), pair, [0])
    assert not torch.allclose(paper, audio_only) and not torch.allclose(paper, late)
    assert not torch.allclose(paper, early_exit)
    assert torch.equal(latents(settings(image_end=3), pair, [0]), paper)  # ending at the last step changes nothing


def test_a_composition_is_a_list_of_members_the_same_model_twice_included(runtime):
    """Three members, the audio model twice: with the same prompt and the audio share split between
    them, the mean of the noise estimates is the two-member composition's (εₐ·¼ + εₐ·¼ = εₐ·½); with
    another prompt for the second, the canvas changes."""
    from dataclasses import replace

    pair = load_pair(runtime)
    two = settings(image_start=0)
    image, audio = two.members
    split = replace(two, members=(image, replace(audio, weight=0.25),
                                  replace(audio, name="audio2", weight=0.25)))
    together = latents(split, pair, [0])
    assert (together - latents(two, pair, [0])).abs().max() <= BATCH_RTOL * together.abs().max()
    other = replace(split, members=(*split.members[:2], replace(split.members[2], prompt="rain")))
    assert not torch.allclose(latents(other, pair, [0]), together)
    assert other.options()["audio2_prompt"] == "rain" and other.prompts() == {"image": "a castle", "audio": "bells"}


def test_interrupted_run_resumes_without_redoing_or_losing(runtime, tmp_path, monkeypatch):
    generate_module = runs_module
    real_write = generate_module.write_sample

    def interrupt_at_second(folder, index, **kwargs):
        if index == 1:
            raise KeyboardInterrupt
        return real_write(folder, index, **kwargs)

    monkeypatch.setattr(generate_module, "write_sample", interrupt_at_second)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        generate_run(out, settings(n=3), Runtime(**{**runtime.__dict__, "batch_size": 1}))
    assert sorted(p.name for p in out.iterdir()) == ["run.json", "sample_000"]
    first = (out / "sample_000" / "meta.json").stat().st_mtime_ns

    made = []
    monkeypatch.setattr(generate_module, "write_sample",
                        lambda folder, index, **kw: made.append(index) or real_write(folder, index, **kw))
    samples = generate_run(out, settings(n=3), runtime)
    assert [p.name for p in samples] == ["sample_000", "sample_001", "sample_002"]
    assert made == [1, 2]  # the finished sample was not redone
    assert (out / "sample_000" / "meta.json").stat().st_mtime_ns == first


def test_other_settings_in_an_existing_folder_are_refused(runtime, model_dirs, tmp_path, capsys):
    out = tmp_path / "run"
    generate_run(out, settings(), runtime)
    with pytest.raises(SpectrocanvasError, match="image_prompt 'a castle' there, 'a dog' here.*--overwrite"):
        generate_run(out, settings(image="a dog"), runtime)
    generate_run(out, settings(image="a dog"), runtime, overwrite=True)
    assert json.loads((out / "sample_000" / "meta.json").read_text())["image_prompt"] == "a dog"


def test_nan_latents_end_in_a_clear_error_and_keep_finished_samples(runtime, tmp_path, monkeypatch):
    out = tmp_path / "run"
    generate_run(out, settings(n=1), runtime)
    real = sampling_module.compose_sample
    monkeypatch.setattr(sampling_module, "compose_sample", lambda *a, **k: real(*a, **k) * float("nan"))
    with pytest.raises(SpectrocanvasError, match="NaN"):
        generate_run(out, settings(n=2), runtime)
    assert (out / "sample_000" / "meta.json").is_file() and not (out / "sample_001").exists()


def test_griffinlim_vocoder_and_no_crop(runtime, tmp_path):
    sample = generate_run(tmp_path / "gl", settings(crop_columns=0),
                          Runtime(**{**runtime.__dict__, "vocoder": "griffinlim"}))[0]
    meta = json.loads((sample / "meta.json").read_text())
    assert meta["vocoder"]["name"] == "griffinlim"
    assert soundfile.read(sample / "audio.wav")[0].shape == (128 * 160,)


def test_canvas_is_the_mean_of_the_decoded_channels(runtime):
    pair = load_pair(runtime)
    noise = torch.randn(1, 4, 32, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        rgb = (pair.audio.vae.decode(noise / pair.audio.vae.config.scaling_factor).sample / 2 + 0.5).clamp(0, 1)
    assert torch.allclose(decode_canvas(pair.audio, noise), rgb.mean(1), atol=1e-6)


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
    out = tmp_path / "run"
    assert main(_args(model_dirs, out, "--no-video")) == 0

    def exhausted(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(sampling_module, "compose_sample", exhausted)
    assert main(_args(model_dirs, out, "--no-video", "-n", "2")) == 2
    assert "--batch-size" in _one_line(capsys)
    assert (out / "sample_000" / "meta.json").is_file() and not (out / "sample_001").exists()


def test_warm_start_defaults_to_a_tenth_of_the_steps():
    def image_start(**given):
        return resolve_settings({"image_prompt": "a", "audio_prompt": "b", **given}).member("image").start

    assert image_start() == 10 and image_start(steps=25) == 2 and image_start(steps=25, image_start=0) == 0


def test_a_run_that_failed_before_any_sample_can_be_started_again_with_other_settings(model_dirs, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(_args({**model_dirs, "image": str(tmp_path / "typo")}, out, "--no-video")) == 2
    assert "does not exist" in _one_line(capsys)
    assert main(_args(model_dirs, out, "--no-video")) == 0  # the corrected command is not refused
    assert (out / "sample_000" / "meta.json").is_file()
