"""Canvases of any length, loops, and starting from a recording or a picture (SDEdit), through the
CLI and the library, on tiny random pocket weights and tiny SD-layout models."""

import json

import numpy as np
import pytest
import soundfile
import tiny_models
import torch
from PIL import Image
from pocket_tiny import write_tiny_pocket

from spectrocanvas.canvas.analysis import audio_to_canvas
from spectrocanvas.cli import main
from spectrocanvas.diffusion.ddim import ClippedDDIM
from spectrocanvas.diffusion.sampler import CompositionError, Member, compose_sample
from spectrocanvas.files.records import read_json
from spectrocanvas.files.samples import read_canvas, read_sound
from spectrocanvas.files.video import probe_video
from spectrocanvas.generate.resolve import resolve_settings
from spectrocanvas.generate.runs import generate_run, load_pair
from spectrocanvas.pairs.interface import Runtime
from spectrocanvas.pairs.pocket.defaults import RECORDING_PEAK
from spectrocanvas.pairs.pocket.schedule import scheduler_config
from spectrocanvas.pairs.pocket.spec import POCKET
from spectrocanvas.pairs.pocket.weights import WEIGHTS_ENV
from spectrocanvas.pairs.sd_models import decode_canvas

POCKET_RUNTIME = Runtime(pair="pocket", video=False)


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory):
    return write_tiny_pocket(tmp_path_factory.mktemp("pocket-weights"), judges=False)


@pytest.fixture
def pocket(weights_dir, monkeypatch):
    monkeypatch.setenv(WEIGHTS_ENV, str(weights_dir))
    return load_pair(POCKET_RUNTIME)


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """A 3 s two-tone recording at 44.1 kHz, stereo, quieter than the pocket level."""
    path = tmp_path_factory.mktemp("rec") / "tones.wav"
    t = np.arange(int(3.0 * 44100)) / 44100
    left = 0.2 * np.sin(2 * np.pi * 440 * t) * (t < 1.5) + 0.2 * np.sin(2 * np.pi * 1200 * t) * (t >= 1.5)
    soundfile.write(str(path), np.stack([left, left], -1), 44100)
    return path


def _args(out, *extra):
    return ["generate", "--preset", "pocket", "--image-prompt", "triangle", "--audio-prompt", "bell", "-o", str(out),
            "--steps", "4", "--no-video", "--quiet", *extra]


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


# ---- lengths and loops -----------------------------------------------------------------------------------
def test_seconds_set_the_canvas_and_the_sound(pocket, tmp_path, capsys):
    out = tmp_path / "long"
    assert main(_args(out, "--seconds", "4.5")) == 0
    meta = json.loads((out / "sample_000" / "meta.json").read_text())
    assert meta["settings"]["seconds"] == 4.5 and meta["settings"]["latent_width"] == 288  # 4.5 s × 64 columns
    assert meta["settings"]["window_stride"] == 64  # half a window by default
    waveform, rate = soundfile.read(out / "sample_000" / "audio.wav")
    assert rate == 16000 and waveform.shape == (288 * 250,) and read_canvas(out / "sample_000" / "canvas.png").shape == (32, 288)


def test_at_the_native_length_the_sampler_is_the_plain_one(pocket, tmp_path):
    native = resolve_settings({"image_prompt": "star", "audio_prompt": "rain", "seconds": 2.0, "steps": 3}, pair="pocket")
    plain = resolve_settings({"image_prompt": "star", "audio_prompt": "rain", "steps": 3}, pair="pocket")
    assert native.latent_width == plain.latent_width == 128 and native.window_stride is None
    a = generate_run(tmp_path / "a", native, POCKET_RUNTIME, pair=pocket)[0]
    b = generate_run(tmp_path / "b", plain, POCKET_RUNTIME, pair=pocket)[0]
    assert torch.equal(read_canvas(a / "canvas.png"), read_canvas(b / "canvas.png"))


def test_a_loop_runs_on_from_its_end_into_its_start(pocket, tmp_path):
    out = tmp_path / "loop"
    assert main([arg for arg in _args(out, "--loop", "--seconds", "3") if arg != "--no-video"]) == 0  # a video too
    sample = out / "sample_000"
    waveform, _ = soundfile.read(sample / "audio.wav")
    steps = np.abs(np.diff(waveform))
    assert abs(waveform[0] - waveform[-1]) <= np.quantile(steps, 0.999)  # the wrap is a step like any inside
    canvas = read_canvas(sample / "canvas.png")
    column_change = (canvas[:, 1:] - canvas[:, :-1]).abs().mean(0)
    assert (canvas[:, 0] - canvas[:, -1]).abs().mean() <= column_change.max()
    meta = json.loads((sample / "meta.json").read_text())
    assert meta["settings"]["loop"] is True and meta["loop"] is True and meta["audio"]["loop"] is True
    assert meta["settings"]["crop_columns"] == 0
    assert "loop" in probe_video(sample / "video.mp4")["comment"]


def test_lengths_the_models_cannot_take_are_one_line_and_write_nothing(pocket, tmp_path, capsys):
    for extra, words in ((["--seconds", "1"], "shorter than the models' window"), (["--seconds", "700"], "--seconds"),
                         (["--seconds", "4", "--window-stride", "200"], "--window-stride"),
                         (["--seconds", "nan"], "--seconds")):
        assert main(_args(tmp_path / "x", *extra)) == 2
        assert words in _one_line(capsys)
    assert not (tmp_path / "x").exists()


# ---- starting from a recording or a picture ----------------------------------------------------------------
def _recording_canvas(path) -> torch.Tensor:
    """The recording as the pocket models see it: 16 kHz mono, peak-normalised, analysed (independently here)."""
    import soxr

    data, rate = soundfile.read(str(path), always_2d=True)
    mono = soxr.resample(data.mean(axis=1).astype(np.float32), rate, POCKET.sample_rate, quality="VHQ")
    mono = torch.from_numpy(np.ascontiguousarray(mono)).float()
    return audio_to_canvas(mono / mono.abs().max() * RECORDING_PEAK, POCKET)


def test_strength_zero_returns_the_recording_and_one_is_plain_generation(pocket, recording, tmp_path):
    expected = _recording_canvas(recording)
    assert expected.shape == (32, 192)  # 3 s: the recording's length sets the canvas's
    kept = generate_run(tmp_path / "zero", resolve_settings(
        {"image_prompt": "triangle", "init_audio": str(recording), "strength": 0.0, "steps": 4}, pair="pocket"),
        POCKET_RUNTIME, pair=pocket)[0]
    # canvas.png holds 16 bits (half a level: 7.6e-6) and the two analyses round differently (float32 mean
    # and resampling orders; near the floor the log scale magnifies that): 3e-5 is two levels
    torch.testing.assert_close(read_canvas(kept / "canvas.png"), expected.clamp(0, 1), atol=3e-5, rtol=0)
    options = {"image_prompt": "triangle", "audio_prompt": "bell", "steps": 4, "seconds": 3.0}
    fresh = generate_run(tmp_path / "plain", resolve_settings(options, pair="pocket"), POCKET_RUNTIME, pair=pocket)[0]
    full = generate_run(tmp_path / "one", resolve_settings({**options, "init_audio": str(recording), "strength": 1.0},
                                                           pair="pocket"), POCKET_RUNTIME, pair=pocket)[0]
    assert torch.equal(read_canvas(full / "canvas.png"), read_canvas(fresh / "canvas.png"))
    half = generate_run(tmp_path / "half", resolve_settings({**options, "init_audio": str(recording), "strength": 0.5},
                                                            pair="pocket"), POCKET_RUNTIME, pair=pocket)[0]
    midway = read_canvas(half / "canvas.png")
    assert not torch.equal(midway, read_canvas(fresh / "canvas.png")) and not torch.allclose(midway, expected, atol=0.01)
    meta = read_json(half / "meta.json")
    assert meta["settings"]["strength"] == 0.5 and len(meta["settings"]["init_digest"]) == 64


def test_a_picture_to_start_from(pocket, tmp_path):
    picture = tmp_path / "bars.png"
    pixels = np.zeros((40, 160, 3), np.uint8)
    pixels[:, ::20] = (255, 128, 0)
    Image.fromarray(pixels).save(picture)
    kept = generate_run(tmp_path / "zero", resolve_settings(
        {"audio_prompt": "rain", "init_image": str(picture), "strength": 0.0, "steps": 4}, pair="pocket"),
        POCKET_RUNTIME, pair=pocket)[0]
    canvas = read_canvas(kept / "canvas.png")
    assert canvas.shape == (32, 128) and canvas.max() > 0.3 and canvas.min() < 0.01  # the bars, stretched


def test_sdedit_from_the_same_step_with_another_scheduler(pocket, recording, tmp_path):
    settings = resolve_settings({"image_prompt": "star", "audio_prompt": "rain", "init_audio": str(recording),
                                 "strength": 0.5, "steps": 6, "scheduler": "dpm++"}, pair="pocket")
    sample = generate_run(tmp_path / "dpm", settings, POCKET_RUNTIME, pair=pocket)[0]
    assert torch.isfinite(read_sound(sample / "audio.wav")[0]).all()


def test_a_changed_recording_is_another_run(pocket, recording, tmp_path, capsys):
    copy = tmp_path / "rec.wav"
    copy.write_bytes(recording.read_bytes())
    out = tmp_path / "run"
    assert main(_args(out, "--init-audio", str(copy), "--strength", "0.5")) == 0
    data, rate = soundfile.read(str(copy))
    soundfile.write(str(copy), data * 0.5, rate)
    assert main(_args(out, "--init-audio", str(copy), "--strength", "0.5")) == 2
    assert "init_digest" in _one_line(capsys)


def test_bad_starts_are_one_line_and_write_nothing(pocket, recording, tmp_path, capsys):
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"RIFF not really a wave file at all" * 10)
    for extra, words in ((["--init-audio", str(tmp_path / "missing.wav")], "does not exist"),
                         (["--init-audio", str(garbage)], "garbage.wav"),
                         (["--init-audio", str(recording), "--strength", "1.5"], "--strength"),
                         (["--strength", "0.5"], "--init-audio"),
                         (["--init-audio", str(recording), "--init-image", str(recording)], "not both"),
                         (["--init-audio", str(recording), "--method", "sds"], "starts from noise")):
        assert main(_args(tmp_path / "x", *extra)) == 2
        assert words in _one_line(capsys)
    assert not (tmp_path / "x").exists()


def test_prompt_pair_files_take_the_new_columns(pocket, recording, tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(json.dumps({"image_prompt": "star", "audio_prompt": "rain", "seconds": 3}) + "\n"
                     + json.dumps({"image_prompt": "moon", "init_audio": str(recording), "strength": 0.4}) + "\n"
                     + json.dumps({"image_prompt": "heart", "audio_prompt": "drone", "loop": True}) + "\n")
    out = tmp_path / "pairs"
    assert main(["generate", "--preset", "pocket", "--pairs", str(pairs), "-o", str(out), "--steps", "3",
                 "--no-video", "--quiet"]) == 0
    metas = [read_json(p) for p in sorted(out.glob("pair_*/sample_000/meta.json"))]
    assert [m["settings"]["latent_width"] for m in metas] == [192, 192, 128]
    assert metas[1]["settings"]["strength"] == 0.4 and metas[1]["audio_prompt"] == ""
    assert metas[2]["settings"]["loop"] is True


# ---- the sampler's SDEdit start, and the real pair's encoders -----------------------------------------------
def test_ddim_noises_as_diffusers_does():
    from diffusers import DDIMScheduler

    ours, theirs = ClippedDDIM(scheduler_config()), DDIMScheduler.from_config(scheduler_config())
    x0, noise, t = torch.randn(2, 1, 4, 4), torch.randn(2, 1, 4, 4), torch.tensor([600])
    torch.testing.assert_close(ours.add_noise(x0, noise, t), theirs.add_noise(x0, noise, t), rtol=1e-6, atol=1e-6)


def test_compose_sample_starts_midway_from_an_init():
    member = Member(lambda x, t, c: torch.zeros_like(x), torch.ones(1, 1, 1), torch.zeros(1, 1, 1), guidance=1.0)
    init, noise = torch.full((1, 1, 2, 2), 0.5), torch.randn(1, 1, 2, 2)
    scheduler = ClippedDDIM(scheduler_config())
    assert torch.equal(compose_sample(noise, scheduler, [member], num_steps=5, init=init, first_step=5), init)
    # ε = 0 everywhere: DDIM takes x_t to its x₀ estimate x_t / √ᾱ_t, clipped to ±1, in one step from anywhere
    out = compose_sample(noise, scheduler, [member], num_steps=5, init=init, first_step=3)
    a = scheduler.alphas_cumprod[scheduler.timesteps[3]]
    torch.testing.assert_close(out, ((a.sqrt() * init + (1 - a).sqrt() * noise) / a.sqrt()).clamp(-1, 1))
    with pytest.raises(CompositionError, match="init"):
        compose_sample(noise, scheduler, [member], num_steps=5, first_step=2)


@pytest.fixture(scope="module")
def real_runtime(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return Runtime(models={"image": str(tiny_models.save_tiny_sd(root / "sd")),
                           "audio": str(tiny_models.save_tiny_auffusion(root / "auffusion"))}, video=False)


def test_the_real_pair_starts_from_its_vae_encoding(real_runtime, tmp_path):
    """Strength 0 gives the recording's canvas through Auffusion's VAE (encoded to its posterior's mean,
    decoded): the tiny random VAE is no autoencoder, so the test is that the path is that one."""
    path = tmp_path / "ten.wav"
    t = np.arange(int(10.4 * 16000)) / 16000
    soundfile.write(str(path), 0.3 * np.sin(2 * np.pi * 300 * t), 16000)
    settings = resolve_settings({"image_prompt": "a castle", "init_audio": str(path), "strength": 0.0, "steps": 2})
    assert settings.latent_width == 134 == (1040 + 32) // 8 and settings.crop_columns == 134 * 8 - 1040  # 10.4 s
    pair = load_pair(real_runtime)
    sample = generate_run(tmp_path / "zero", settings, real_runtime, pair=pair)[0]
    from spectrocanvas.generate.inputs import fit_columns, recording_canvas

    canvas = fit_columns(recording_canvas(str(path), pair.entry), 134 * 8)
    expected = decode_canvas(pair.audio, pair.encode_canvas(canvas[None]))[0, :, :1040]
    torch.testing.assert_close(read_canvas(sample / "canvas.png"), expected, atol=2 / 65535, rtol=0)
