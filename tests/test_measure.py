"""Methods (the paper's baselines), `evaluate`, `generate --score/--keep-top` and `compare`, on tiny models."""

import csv
import io
import json

import pytest
import soundfile
import tiny_models
import torch
from scorer_models import make_tiny_clap, make_tiny_clip

from spectrocanvas.canvas.carve import imprint_canvas
from spectrocanvas.cli import main
from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.files.pictures import open_picture, picture_to_gray
from spectrocanvas.files.samples import read_canvas, read_sample_sound
from spectrocanvas.generate import resolve as resolve_module
from spectrocanvas.generate.methods import METHODS, run_method
from spectrocanvas.generate.prompt_files import read_prompt_pairs
from spectrocanvas.generate.resolve import resolve_settings
from spectrocanvas.generate.runs import generate_run, load_pair
from spectrocanvas.measure.stats import keep_top_indices
from spectrocanvas.pairs.clip_clap import ClapScorer, ClipScorer
from spectrocanvas.pairs.interface import Runtime
from spectrocanvas.pairs.sd_auffusion import PAPER_PAIRS
from spectrocanvas.pairs.sd_models import decode_canvas, decode_pixels

SMALL = dict(latent_width=16)
"""A 32 × 16 latent: a 256 × 128 canvas, 96 columns after the crop."""
SDS_FAST = dict(sds_iterations=3, sds_image_start=1)


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("measure-models")
    return {"image": str(tiny_models.save_tiny_sd(root / "sd")),
            "audio": str(tiny_models.save_tiny_auffusion(root / "auffusion")),
            "clip": str(make_tiny_clip(root / "clip")), "clap": str(make_tiny_clap(root / "clap"))}


@pytest.fixture(scope="module")
def runtime(dirs):
    return Runtime(models={"image": dirs["image"], "audio": dirs["audio"]}, device="cpu", video=False)


@pytest.fixture(scope="module")
def models(runtime):
    return load_pair(runtime)


@pytest.fixture
def small_cli(monkeypatch):
    """The CLI has no latent-width option: make every resolved setting small."""
    resolve = resolve_module.resolve_settings

    def small(options, **kwargs):
        return resolve({**options, **{k: v for k, v in SMALL.items() if options.get(k) is None}}, **kwargs)

    monkeypatch.setattr(resolve_module, "resolve_settings", small)
    for module in ("spectrocanvas.generate.runs", "spectrocanvas.cli.commands"):
        monkeypatch.setattr(f"{module}.resolve_settings", small)


def _settings(method, **given):
    return resolve_settings({"image_prompt": "a painting of a castle", "audio_prompt": "bell ringing",
                             **given, **SMALL}, method=method)


def _run(settings, models, seeds):
    """A method on one prompt pair: settings for every seed."""
    return run_method([settings] * len(seeds), seeds, models)


def _generate_args(dirs, out, *extra):
    return ["generate", "--image-prompt", "a painting of a castle", "--audio-prompt", "bell ringing", "-o", str(out),
            "--image-model", dirs["image"], "--audio-model", dirs["audio"], "--clip-model", dirs["clip"],
            "--clap-model", dirs["clap"], "--device", "cpu", "--steps", "3", "--no-video", "--quiet", *extra]


# ---- the pairs file and the settings policy ------------------------------------------------------------------
def test_shipped_pairs_are_the_papers_examples():
    pairs = read_prompt_pairs(PAPER_PAIRS)
    assert len(pairs) >= 9 and len({p.name for p in pairs}) == len(pairs)
    assert all("grayscale" in p.options["image_prompt"] for p in pairs)
    sounds = " ".join(p.options["audio_prompt"] for p in pairs)
    for word in ("bell", "dog", "birds", "kitten", "tiger", "train", "race car", "horse", "frog"):
        assert word in sounds


def _options(method, strict=True, **given):
    return resolve_settings({"image_prompt": "a", "audio_prompt": "b", **given}, method=method, strict=strict).options()


def test_method_defaults_apply_only_to_options_left_unset():
    imprint = _options("imprint")
    assert (imprint["steps"], imprint["image_steps"], imprint["image_guidance"], imprint["audio_guidance"]) \
        == (100, 50, 7.5, 7.5)
    assert _options("imprint", steps=20)["image_steps"] == 20  # SD follows --steps
    assert _options("imprint", image_guidance=3.0)["audio_guidance"] == 7.5
    assert (_options("imprint")["image_start"], _options("imprint")["audio_start"]) == (0, 0)  # no warm start
    sds = _options("sds", sds_lr=0.1)
    assert sds["sds_lr"] == 0.1 and sds["sds_iterations"] == 1000 and sds["image_guidance"] == 100.0
    assert (sds["image_weight"], sds["audio_weight"]) == (0.2857, 0.7143)  # the official 0.4 : 1
    assert _options("sds", audio_weight=0.5)["image_weight"] == 0.5  # setting one weight drops the group
    denoise = _options("denoise", steps=None)
    assert (denoise["steps"], denoise["image_start"], denoise["method"]) == (100, 10, "denoise")
    assert not {"image_steps", "sds_lr"} & set(denoise)
    with pytest.raises(SpectrocanvasError, match="fixes --audio-weight"):
        _options("image-only", audio_weight=0.5)
    assert _options("image-only", strict=False, audio_weight=0.5)["audio_weight"] == 0.0
    with pytest.raises(SpectrocanvasError, match="applies to --method sds"):
        _options("denoise", sds_lr=0.1)
    with pytest.raises(SpectrocanvasError, match="fixes --image-end to the last step"):
        _options("image-only", image_end=40)  # a reference runs its model over every step
    assert _options("imprint", strict=False, image_end=40)["image_end"] is None
    with pytest.raises(SpectrocanvasError, match="no model denoises step 2 of 5"):
        _options("denoise", steps=5, image_start=0, image_end=2, audio_start=3)
    with pytest.raises(SpectrocanvasError, match="sds-image-start"):
        _settings("sds", sds_iterations=3, sds_image_start=3)


# ---- the methods -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["imprint", "sds", "image-only", "audio-only"])
def test_each_baseline_writes_decodable_outputs_with_its_method(method, runtime, models, tmp_path):
    settings = _settings(method, steps=2, **(SDS_FAST if method == "sds" else {}))
    sample = generate_run(tmp_path / method, settings, runtime, pair=models)[0]
    meta = json.loads((sample / "meta.json").read_text())
    assert meta["method"] == method and meta["settings"]["method"] == method
    assert picture_to_gray(open_picture(sample / "canvas.png")).shape == (256, 96)
    assert open_picture(sample / "image.png").size == (96, 256)
    audio, rate = soundfile.read(sample / "audio.wav")
    assert rate == 16000 and audio.shape == (96 * 160,) and torch.isfinite(torch.as_tensor(audio)).all()


def test_single_model_references_use_one_model_each(models):
    seeds = [3]
    image = _run(_settings("image-only", steps=2), models, seeds)
    audio = _run(_settings("audio-only", steps=2), models, seeds)
    joint = _run(_settings("denoise", steps=2, image_start=0), models, seeds)
    assert not torch.allclose(image, audio) and not torch.allclose(joint, image) and not torch.allclose(joint, audio)


def test_imprint_carves_the_image_gray_into_the_audio_models_spectrogram(models):
    seeds = [0, 1]
    settings = _settings("imprint", steps=2, image_steps=3)
    pixels, canvas = _run(settings, models, seeds)
    alone = dict(image_guidance=settings.member("image").guidance, audio_guidance=settings.member("audio").guidance)
    image = decode_pixels(models.image, _run(_settings("image-only", steps=3, **alone), models, seeds))
    spectrogram = decode_canvas(models.audio, _run(_settings("audio-only", steps=2, **alone), models, seeds))
    torch.testing.assert_close(pixels, image)
    torch.testing.assert_close(canvas, imprint_canvas(spectrogram, image.mean(dim=1), strength=0.5, invert=True))
    assert (canvas <= spectrogram + 1e-6).all() and (canvas >= 0.5 * spectrogram - 1e-6).all()


def test_sds_moves_the_latent_deterministically_by_seed(models):
    from spectrocanvas.diffusion.sampler import initial_latents

    settings = _settings("sds", **SDS_FAST)
    a = _run(settings, models, [0, 1])
    again = _run(settings, models, [1])
    other = _run(settings, models, [2])
    start = initial_latents([0, 1], (4, 32, 16))
    assert (a - start).abs().max() > 1e-3  # the latent was optimised
    torch.testing.assert_close(a[1:], again)  # same seed, same canvas, whatever the batch
    assert not torch.allclose(a[1:], other)
    # each Adam step moves every element by at most about lr
    assert (a - start).abs().max() <= settings.method_options["sds_iterations"] * settings.method_options["sds_lr"] * 1.01


# ---- evaluate, --score, --keep-top ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def generated(dirs, tmp_path_factory):
    out = tmp_path_factory.mktemp("generated") / "castle"
    generate_run(out, _settings("denoise", steps=3, image_start=1, n=4),
                 Runtime(models={"image": dirs["image"], "audio": dirs["audio"]}, device="cpu", video=False))
    return out


def test_evaluate_writes_the_scores_of_a_direct_scorer_call_and_the_tables(generated, dirs, capsys):
    assert main(["evaluate", str(generated), "--clip-model", dirs["clip"], "--clap-model", dirs["clap"],
                 "--device", "cpu", "--quiet"]) == 0
    samples = sorted(generated.glob("sample_*"))
    metas = [json.loads((s / "meta.json").read_text()) for s in samples]
    clip, clap = ClipScorer(dirs["clip"], device="cpu"), ClapScorer(dirs["clap"], device="cpu")
    expect_clip = clip.score([read_canvas(s / "canvas.png") for s in samples], "a painting of a castle")
    sounds = [read_sample_sound(s, m) for s, m in zip(samples, metas)]  # at the canvas's level
    assert {rate for _, rate in sounds} == {16000}
    expect_clap = clap.score([w for w, _ in sounds], "bell ringing", sample_rate=16000)
    torch.testing.assert_close(torch.tensor([m["clip_score"] for m in metas]), expect_clip.float())
    torch.testing.assert_close(torch.tensor([m["clap_score"] for m in metas]), expect_clap.float())
    assert all(m["scorers"]["clip"]["score"] == "clip" and m["scorers"]["clap"]["score"] == "clap" for m in metas)
    assert len({m["clip_score"] for m in metas}) > 1  # four different samples, four scores

    printed = capsys.readouterr().out
    table = (generated / "scores.md").read_text()
    assert "| denoise | 4 |" in table and "| denoise | 4 |" in printed and "scored 4 of 4" in printed
    assert "CLIP ↑" in table and "Wilson" not in table
    rows = list(csv.DictReader(io.StringIO((generated / "scores.csv").read_text())))
    assert [(r["by"], r["group"], r["n"]) for r in rows] == [("method", "denoise", "4")]
    assert float(rows[0]["clip_score_mean"]) == pytest.approx(float(expect_clip.mean()), abs=1e-5)

    before = (samples[0] / "meta.json").read_text()
    assert main(["evaluate", str(generated), "--clip-model", "/no/such/model", "--quiet"]) == 0  # nothing to score
    assert "scored 0 of 4" in capsys.readouterr().out and (samples[0] / "meta.json").read_text() == before


def test_evaluate_refuses_a_folder_without_samples(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path)]) != 0
    assert "no generated samples" in capsys.readouterr().err


def test_generate_keep_top_lists_what_stats_keep_top_keeps(dirs, tmp_path, small_cli, capsys):
    out = tmp_path / "ranked"
    assert main(_generate_args(dirs, out, "-n", "5", "--image-start", "1", "--keep-top", "0.6")) == 0
    samples = sorted(out.glob("sample_*"))
    metas = [json.loads((s / "meta.json").read_text()) for s in samples]
    assert all(m["clip_score"] is not None and m["clap_score"] is not None for m in metas)
    expected = [samples[i].name for i in keep_top_indices(metas, 0.6, ("clip_score", "clap_score"))]
    top = json.loads((out / "top.json").read_text())
    assert top["kept"] == expected and top["fraction"] == 0.6 and top["runs"][0]["samples"] == 5
    printed = capsys.readouterr().out
    assert f"kept {len(expected)} of 5" in printed
    assert len(list(out.glob("sample_*"))) == 5  # nothing deleted


def test_generate_method_option_records_the_method_and_its_defaults(dirs, tmp_path, small_cli):
    out = tmp_path / "imprinted"
    assert main(_generate_args(dirs, out, "--method", "imprint", "--score")) == 0
    meta = json.loads((out / "sample_000" / "meta.json").read_text())
    assert meta["method"] == "imprint" and meta["settings"]["image_guidance"] == 7.5
    assert meta["settings"]["steps"] == 3 and meta["settings"]["image_steps"] == 3  # SD follows --steps
    assert meta["clip_score"] is not None  # scored as it was made
    assert main(_generate_args(dirs, tmp_path / "bad", "--sds-lr", "0.1")) != 0


# ---- compare ---------------------------------------------------------------------------------------------
def test_compare_prints_one_row_per_method_and_writes_the_table(dirs, tmp_path, small_cli, capsys):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(json.dumps({"name": "castle", "image_prompt": "a painting of a castle, grayscale",
                                 "audio_prompt": "bell ringing"}) + "\n")
    out = tmp_path / "cmp"
    args = ["compare", "--pairs", str(pairs), "-o", str(out), "-n", "2", "--steps", "2", "--image-start", "1",
            "--sds-iterations", "2", "--sds-image-start", "1", "--image-model", dirs["image"], "--audio-model",
            dirs["audio"], "--clip-model", dirs["clip"], "--clap-model", dirs["clap"], "--device", "cpu",
            "--no-video", "--quiet"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    rows = [line for line in printed.splitlines() if line.startswith("| ") and "`" in line]
    assert [line.split("`")[1] for line in rows] == ["denoise", "imprint", "sds", "image-only", "audio-only"]
    assert all(line.split(" | ")[1] == "2" for line in rows)  # samples per row
    assert (out / "comparison.md").read_text().count("`") == 10
    table = list(csv.DictReader(io.StringIO((out / "comparison.csv").read_text())))
    assert [r["method"] for r in table] == list(METHODS)
    assert "Image model only (SD) — reference (`image-only`)" in printed
    for method in METHODS:
        meta = json.loads(next((out / method).glob("pair_000_*/sample_001/meta.json")).read_text())
        assert meta["method"] == method and meta["clap_score"] is not None
    assert main(args) == 0  # resumes: everything is there and scored
    assert capsys.readouterr().out.count("| 2 |") == 5


def test_sds_image_start_follows_the_iterations_when_unset():
    assert _options("sds", sds_iterations=40)["sds_image_start"] == 5  # an eighth, as the official 5000 of 40000
    assert _options("sds")["sds_image_start"] == 125
    assert _options("sds", audio_weight=0.0)["sds_image_start"] == 0  # no audio model: the image model from the start
