"""Measuring pocket samples: the judges as the pocket pair's scorer in `evaluate`, `compare --preset
pocket` and `generate --score/--keep-top`, and the in-memory study that must agree with them
(tiny random weights in the shipped format)."""

import json

import pytest
import soundfile
import torch
from pocket_tiny import pocket_canvases, write_tiny_pocket

from spectrocanvas.cli import main
from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.files.records import read_json
from spectrocanvas.files.samples import read_canvas, read_sound
from spectrocanvas.generate.prompt_files import PromptPair
from spectrocanvas.generate.runs import load_pair
from spectrocanvas.measure import compare as compare_module
from spectrocanvas.measure.evaluate import evaluate
from spectrocanvas.measure.stats import wilson_interval
from spectrocanvas.measure.study import main as study_main
from spectrocanvas.measure.study import study_records, sweep
from spectrocanvas.pairs.interface import Runtime, ScoredSample
from spectrocanvas.pairs.pocket.judges import JUDGE_KEYS, RIGHT_KEYS, PocketJudges, fit_columns
from spectrocanvas.pairs.pocket.pair import comparison_pairs
from spectrocanvas.pairs.pocket.training.judge_check import judge_accuracy
from spectrocanvas.pairs.pocket.vocab import IMAGE_CLASSES, SOUND_CLASSES, class_pairs
from spectrocanvas.pairs.pocket.weights import WEIGHTS_ENV, load_pocket
from spectrocanvas.pairs.registry import get_pair


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory):
    return write_tiny_pocket(tmp_path_factory.mktemp("pocket-weights"))


@pytest.fixture
def pocket_weights(weights_dir, monkeypatch):
    monkeypatch.setenv(WEIGHTS_ENV, str(weights_dir))
    return weights_dir


@pytest.fixture(scope="module")
def generated(weights_dir, tmp_path_factory):
    """A pocket run of 3 samples (triangle + bell), written by the CLI, unscored."""
    out = tmp_path_factory.mktemp("runs") / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(WEIGHTS_ENV, str(weights_dir))
        assert main(["generate", "--preset", "pocket", "--image-prompt", "triangle", "--audio-prompt", "bell",
                     "-o", str(out), "-n", "3", "--steps", "3", "--no-video", "--quiet"]) == 0
    return out


def _rows(pairs, seed=0, n=1):
    """Prompt-pair rows, pair k with seeds seed + k·n … (as the pocket comparison gives them)."""
    return [PromptPair(where=f"row {k}", options={"image_prompt": i, "audio_prompt": a, "seed": seed + k * n})
            for k, (i, a) in enumerate(pairs)]


def test_class_pairs_are_every_image_class_with_every_sound_class():
    pairs = class_pairs()
    assert len(pairs) == len(IMAGE_CLASSES) * len(SOUND_CLASSES) == 64
    assert {(p["image_prompt"], p["audio_prompt"]) for p in pairs} == {(i, s) for i in IMAGE_CLASSES
                                                                      for s in SOUND_CLASSES}


def test_study_batches_across_pairs_and_equals_one_pair_at_a_time(pocket_weights):
    pair = load_pair(Runtime(pair="pocket"))
    judges = PocketJudges.load()
    pairs = [("triangle", "bell"), ("circle", "rain"), ("moon", "siren")]
    together = study_records(pair, judges, _rows(pairs, seed=3, n=2), method="denoise",
                             options={"n": 2, "steps": 3}, batch_size=4)  # a batch spans two pairs
    assert [(r["image_prompt"], r["seed"]) for r in together] == [
        ("triangle", 3), ("triangle", 4), ("circle", 5), ("circle", 6), ("moon", 7), ("moon", 8)]
    for k, (image, audio) in enumerate(pairs):
        alone = study_records(pair, judges, _rows([(image, audio)], seed=3 + 2 * k), method="denoise",
                              options={"n": 2, "steps": 3})
        for a, b in zip(together[2 * k:2 * k + 2], alone):
            assert a["image_judge_score"] == pytest.approx(b["image_judge_score"], abs=1e-4)
            assert a["image_judged"] == b["image_judged"]


def test_judge_verdicts_follow_the_judges_argmax(weights_dir):
    judges = PocketJudges.load(weights_dir)
    canvases, heard = torch.rand(4, 32, 128), torch.rand(4, 32, 128)
    words = (["circle", "star", "moon", "arrow"], ["rain", "bell", "siren", "drone"])
    verdicts = judges.judge(canvases, heard, *words)
    image_p = torch.softmax(judges.models.image_judge(canvases), 1)
    sound_p = torch.softmax(judges.models.audio_judge(heard), 1)
    for i, v in enumerate(verdicts):
        assert v["image_judged"] == IMAGE_CLASSES[int(image_p[i].argmax())]
        assert v["sound_judged"] == SOUND_CLASSES[int(sound_p[i].argmax())]
        assert v["image_judge_score"] == pytest.approx(float(image_p[i, IMAGE_CLASSES.index(words[0][i])]))
        assert v["both_right"] == (v["image_right"] and v["sound_right"])
        assert v["image_right"] == (v["image_judged"] == words[0][i])


def test_judges_score_what_the_sound_judge_hears_of_the_waveform(weights_dir):
    judges = PocketJudges.load(weights_dir)
    canvas, waveform = torch.rand(32, 128), torch.randn(32000) * 0.1
    scored = judges.score([ScoredSample(canvas, waveform, 16000, {"image": "star", "audio": "rain"})])[0]
    direct = judges.judge(canvas[None], judges.hear(waveform, 16000)[None], ["star"], ["rain"])[0]
    assert scored == direct
    with pytest.raises(SpectrocanvasError, match="not a pocket sample"):
        judges.score([ScoredSample(torch.rand(256, 96), waveform, 16000, {"image": "star", "audio": "rain"})])


def test_fit_columns_crops_or_pads():
    x = torch.ones(2, 32, 130)
    assert fit_columns(x, 128).shape == (2, 32, 128)
    padded = fit_columns(torch.ones(32, 120), 128)
    assert padded.shape == (32, 128) and padded[:, 120:].abs().sum() == 0


def test_evaluate_judges_pocket_samples_from_their_files(generated, pocket_weights):
    result = evaluate(generated)
    assert result.pair == "pocket" and len(result.scored) == 3
    judges = PocketJudges.load(pocket_weights)
    for record in result.records:
        folder = generated / record["folder"]
        meta = read_json(folder / "meta.json")
        assert meta["scorers"]["judges"] == "pocket"
        assert all(meta[k] is not None for k in JUDGE_KEYS + RIGHT_KEYS)
        samples, rate = read_sound(folder / "audio.wav")
        expected = judges.judge(read_canvas(folder / "canvas.png")[None], judges.hear(samples, rate)[None],
                                ["triangle"], ["bell"])[0]
        assert meta["image_judge_score"] == pytest.approx(expected["image_judge_score"], abs=1e-6)
        assert meta["both_right"] == expected["both_right"]
    successes = sum(r["both_right"] for r in result.records)
    low, high = wilson_interval(successes, 3)
    assert f"{successes / 3:.1%} [{low:.1%}, {high:.1%}]" in result.markdown
    assert (generated / "scores.md").read_text() == result.markdown
    assert evaluate(generated).scored == []  # judged samples are skipped


def test_samples_of_different_pairs_are_refused(generated, tmp_path):
    import shutil

    mixed = tmp_path / "mixed"
    shutil.copytree(generated / "sample_000", mixed / "a")
    shutil.copytree(generated / "sample_001", mixed / "b")
    meta = read_json(mixed / "b" / "meta.json")
    meta["models"] = {"image": "sd15", "audio": "auffusion"}  # as a 0.1 sample of the real pair says it
    (mixed / "b" / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(SpectrocanvasError, match="pocket, sd15-auffusion.*separately"):
        evaluate(mixed)


def test_samples_written_by_0_1_are_scored_by_their_pair(generated, tmp_path, pocket_weights):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(generated / "sample_000", old / "sample_000")
    meta = read_json(old / "sample_000" / "meta.json")
    meta["models"] = {"preset": "pocket", **{k: v for k, v in meta["models"].items() if k != "pair"}}
    for key in (*JUDGE_KEYS, *RIGHT_KEYS):
        meta.pop(key, None)
    (old / "sample_000" / "meta.json").write_text(json.dumps(meta))
    assert evaluate(old).pair == "pocket"


def test_generate_score_and_keep_top_use_the_judges(pocket_weights, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["generate", "--preset", "pocket", "--image-prompt", "star", "--audio-prompt", "rain", "-o", str(out),
                 "-n", "4", "--steps", "2", "--no-video", "--quiet", "--keep-top", "0.5"]) == 0
    metas = [read_json(out / f"sample_{i:03d}" / "meta.json") for i in range(4)]
    assert all(m["image_judge_score"] is not None and "clip_score" not in m for m in metas)
    top = read_json(out / "top.json")
    assert "image_judge_score" in top["rule"]
    scores = {f"sample_{i:03d}": (m["image_judge_score"], m["sound_judge_score"]) for i, m in enumerate(metas)}
    for kept in top["kept"]:  # a kept sample is in the top half of both scores
        image, sound = scores[kept]
        assert sum(s[0] > image for s in scores.values()) < 2 and sum(s[1] > sound for s in scores.values()) < 2


def test_compare_pocket_gives_success_rows_per_method(pocket_weights, tmp_path, capsys):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"image_prompt": "circle", "audio_prompt": "rain"}\n'
                     '{"image_prompt": "heart", "audio_prompt": "chord"}\n')
    out = tmp_path / "cmp"
    assert main(["compare", "--preset", "pocket", "--pairs", str(pairs), "-o", str(out), "--methods",
                 "denoise,image-only,imprint", "-n", "2", "--steps", "2", "--no-video", "--quiet"]) == 0
    table = (out / "comparison.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| ") and "`" in line]
    assert [r.split("`")[1] for r in rows] == ["denoise", "imprint", "image-only"]  # reference last
    assert all(r.split(" | ")[1] == "4" for r in rows)  # 2 pairs × 2 samples
    assert "Image model only — reference" in table  # the pocket pair's models have no short names
    assert "Wilson" in table and "CLIP" not in table
    metas = [read_json(p) for p in (out / "denoise").rglob("meta.json") if p.parent.name.startswith("sample_")]
    assert len(metas) == 4 and all(m["both_right"] is not None for m in metas)
    assert capsys.readouterr().out.count("| Method |") == 1


def test_compare_pocket_defaults_to_every_class_pair_each_with_its_own_seeds(pocket_weights, monkeypatch, tmp_path):
    seen = {}

    def fake_make_runs(runs, runtime, **kwargs):
        seen["runs"] = runs
        raise SystemExit(0)

    monkeypatch.setattr(compare_module, "make_runs", fake_make_runs)
    with pytest.raises(SystemExit):
        compare_module.compare(output=tmp_path / "x", runtime=Runtime(pair="pocket"), options={"n": 3, "seed": 7})
    runs = seen["runs"]  # one run per method and class pair, made in one go
    assert {folder.parent.name for folder, _ in runs} == set(get_pair("pocket").comparison.methods)
    denoise = [settings for folder, settings in runs if folder.parent.name == "denoise"]
    assert [(s.prompts()["image"], s.prompts()["audio"]) for s in denoise] == [
        (p["image_prompt"], p["audio_prompt"]) for p in class_pairs()]
    assert [s.seed for s in denoise] == [7 + 3 * k for k in range(64)]  # pair k: seeds 7+3k … 9+3k
    assert {s.n for _, s in runs} == {3}


@pytest.mark.parametrize("extra, n", [((), 4), (("-n", "2"), 2)])
def test_compare_takes_the_pairs_samples_per_prompt_pair_unless_told(pocket_weights, monkeypatch, tmp_path,
                                                                     extra, n):
    seen = {}

    def fake_pair_runs(output, rows, *, options, **kwargs):
        seen.update(options)
        raise SystemExit(0)

    monkeypatch.setattr(compare_module, "pair_runs", fake_pair_runs)
    with pytest.raises(SystemExit):
        main(["compare", "--preset", "pocket", "-o", str(tmp_path / "x"), *extra])
    assert seen["n"] == n
    seen.clear()
    with pytest.raises(SystemExit):  # the real pair keeps one sample per pair
        main(["compare", "-o", str(tmp_path / "y"), *extra])
    assert seen["n"] == (1 if not extra else n)


def test_compare_samples_are_the_in_memory_study_samples(pocket_weights, monkeypatch, tmp_path):
    """compare --preset pocket and the study draw the same samples (same per-pair seeds) and judge them alike."""
    few = [{"image_prompt": "circle", "audio_prompt": "rain"}, {"image_prompt": "moon", "audio_prompt": "bell"}]
    monkeypatch.setattr("spectrocanvas.pairs.pocket.pair.class_pairs", lambda: few)
    out = tmp_path / "cmp"
    assert main(["compare", "--preset", "pocket", "-o", str(out), "--methods", "denoise", "-n", "2", "--seed", "5",
                 "--steps", "3", "--no-video", "--quiet"]) == 0
    rows = [PromptPair(where=str(k), options=row) for k, row in enumerate(comparison_pairs(5, 2))]
    expected = [pocket_canvases(r.options["image_prompt"], r.options["audio_prompt"],
                                [r.options["seed"], r.options["seed"] + 1], steps=3) for r in rows]
    folders = sorted(p for p in (out / "denoise").glob("pair_*/sample_*"))
    assert len(folders) == 4
    written = torch.stack([read_canvas(f / "canvas.png") for f in folders])
    assert torch.allclose(written, torch.cat(expected), atol=1 / 65535 + 1e-6)  # 16-bit PNG
    records = study_records(load_pair(Runtime(pair="pocket")), PocketJudges.load(), rows, method="denoise",
                            options={"n": 2, "steps": 3})
    metas = [read_json(f / "meta.json") for f in folders]
    assert [r["sound_judged"] for r in records] == [m["sound_judged"] for m in metas]
    for record, meta in zip(records, metas):
        assert record["sound_judge_score"] == pytest.approx(meta["sound_judge_score"], abs=1e-5)  # one float WAV


def test_sweep_changes_one_setting_at_a_time(pocket_weights):
    pair, judges = load_pair(Runtime(pair="pocket")), PocketJudges.load()
    rows = _rows([("circle", "rain"), ("star", "bell")], n=2)
    options = {"n": 2, "steps": 2}
    out = sweep(pair, judges, rows, options=options, values={"audio_weight": (0.25, 0.9), "image_start": (0,)})
    assert [(r["setting"], r["value"]) for r in out] == [("audio_weight", 0.25), ("audio_weight", 0.9),
                                                        ("image_start", 0)]
    at_base = study_records(pair, judges, rows, method="denoise", options=options)
    rate = sum(r["both_right"] for r in at_base) / len(at_base)
    assert out[0]["both_right_rate"] == out[2]["both_right_rate"] == rate and out[0]["n"] == 4


def test_judge_accuracy_on_fresh_data_is_a_rate(weights_dir):
    models = load_pocket(weights_dir, judges=True)
    result = judge_accuracy(models, data_seed=987654, n=16)
    assert result["n"] == 16 and all(0.0 <= result[k] <= 1.0 for k in ("image", "sound"))
    assert result == judge_accuracy(models, data_seed=987654, n=16)  # the data is seeded


def test_study_command_writes_json_and_markdown(pocket_weights, tmp_path):
    pairs, out, md = tmp_path / "pairs.jsonl", tmp_path / "r.json", tmp_path / "r.md"
    pairs.write_text('{"image_prompt": "circle", "audio_prompt": "rain"}\n'
                     '{"image_prompt": "circle", "audio_prompt": "bell", "seed": 9}\n')
    assert study_main(["--pair", "pocket", "--pairs", str(pairs), "--n", "1", "--set", "steps=2",
                       "--out", str(out), "--markdown", str(md)]) == 0
    result = json.loads(out.read_text())
    assert result["prompt_pairs"] == 2 and set(result["methods"]) == {"denoise", "imprint", "image-only", "audio-only"}
    row = result["methods"]["denoise"]
    assert row["n"] == 2 and f"{row['both_right_rate']:.1%}" in md.read_text()
    assert study_main(["--pair", "pocket", "--set", "stpes=2", "--out", str(out)]) == 2  # a typo is one line


def test_a_sample_composed_without_an_audio_prompt_is_judged_on_its_picture_only(pocket_weights, tmp_path):
    recording = tmp_path / "rec.wav"
    soundfile.write(str(recording), (0.3 * torch.sin(torch.arange(32000) * 0.2)).numpy(), 16000)
    out = tmp_path / "run"
    assert main(["generate", "--preset", "pocket", "--image-prompt", "moon", "--init-audio", str(recording),
                 "-o", str(out), "--steps", "3", "--no-video", "--quiet", "--score"]) == 0
    meta = read_json(out / "sample_000" / "meta.json")
    assert meta["audio_prompt"] == "" and meta["image_judge_score"] is not None
    assert meta["sound_judge_score"] is None and meta["sound_right"] is None and meta["both_right"] is None
    assert meta["sound_judged"] in SOUND_CLASSES  # what the judge heard is still said
    assert evaluate(out).scored == []  # judged once: nothing to score again
