"""Measuring pocket samples: the judges as scorers in `evaluate`, `compare --preset pocket` and
`generate --score/--keep-top`, and the in-memory evaluation that must agree with them
(tiny random weights in the shipped format)."""

import json

import pytest
import torch

from spectrocanvas.cli import main
from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.evaluate import evaluate, read_canvas, read_waveform
from spectrocanvas.outputs import read_json
from spectrocanvas.pocket import IMAGE_CLASSES, SOUND_CLASSES, load_pocket
from spectrocanvas.pocket.compose import pairs_canvases, sample_canvases
from spectrocanvas.pocket.judges import JUDGE_KEYS, RIGHT_KEYS, PocketJudges, fit_columns, success_table
from spectrocanvas.pocket.load import WEIGHTS_ENV
from spectrocanvas.pocket.vocab import class_pairs
from spectrocanvas.stats import wilson_interval

from pocket_tiny import write_tiny_pocket


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


def test_class_pairs_are_every_image_class_with_every_sound_class():
    pairs = class_pairs()
    assert len(pairs) == len(IMAGE_CLASSES) * len(SOUND_CLASSES) == 64
    assert {(p["image_prompt"], p["audio_prompt"]) for p in pairs} == {(i, s) for i in IMAGE_CLASSES
                                                                      for s in SOUND_CLASSES}


def test_pairs_canvases_equal_one_pair_at_a_time(weights_dir):
    models = load_pocket(weights_dir)
    pairs = [("triangle", "bell"), ("circle", "rain"), ("moon", "siren")]
    together = pairs_canvases(models, pairs, [3, 4], steps=3, batch=4)  # a batch spans two pairs
    assert together.shape == (6, 32, 128)
    for k, (image, audio) in enumerate(pairs):
        alone = sample_canvases(models, image, audio, [3, 4], steps=3)
        assert torch.allclose(together[2 * k:2 * k + 2], alone, atol=1e-5)
    assert not torch.allclose(together[0], together[2])  # the words matter


def test_judge_verdicts_follow_the_judges_argmax(weights_dir):
    judges = PocketJudges.load(weights_dir)
    canvases, heard = torch.rand(4, 32, 128), torch.rand(4, 32, 128)
    verdicts = judges.judge(canvases, heard, ["circle", "star", "moon", "arrow"], ["rain", "bell", "siren", "drone"])
    image_p = torch.softmax(judges.models.image_judge(canvases), 1)
    sound_p = torch.softmax(judges.models.audio_judge(heard), 1)
    for i, v in enumerate(verdicts):
        assert v["image_judged"] == IMAGE_CLASSES[int(image_p[i].argmax())]
        assert v["sound_judged"] == SOUND_CLASSES[int(sound_p[i].argmax())]
        assert v["image_judge_score"] == pytest.approx(float(image_p[i, IMAGE_CLASSES.index(["circle", "star", "moon", "arrow"][i])]))
        assert v["both_right"] == (v["image_right"] and v["sound_right"])
        assert v["image_right"] == (v["image_judged"] == ["circle", "star", "moon", "arrow"][i])


def test_fit_columns_crops_or_pads():
    x = torch.ones(2, 32, 130)
    assert fit_columns(x, 128).shape == (2, 32, 128)
    padded = fit_columns(torch.ones(32, 120), 128)
    assert padded.shape == (32, 128) and padded[:, 120:].abs().sum() == 0


def test_evaluate_judges_pocket_samples_from_their_files(generated, pocket_weights):
    result = evaluate(generated)
    assert result.preset == "pocket" and len(result.scored) == 3
    judges = PocketJudges.load(pocket_weights)
    for record in result.records:
        folder = generated / record["folder"]
        meta = read_json(folder / "meta.json")
        assert meta["scorers"]["judges"] == "pocket"
        assert all(meta[k] is not None for k in JUDGE_KEYS + RIGHT_KEYS)
        samples, rate = read_waveform(folder / "audio.wav")
        expected = judges.judge(read_canvas(folder / "canvas.png")[None],
                                judges.hear(torch.from_numpy(samples), rate)[None], ["triangle"], ["bell"])[0]
        assert meta["image_judge_score"] == pytest.approx(expected["image_judge_score"], abs=1e-6)
        assert meta["both_right"] == expected["both_right"]
    successes = sum(r["both_right"] for r in result.records)
    low, high = wilson_interval(successes, 3)
    assert f"{successes / 3:.1%}" in result.markdown and f"[{low:.1%}, {high:.1%}]" in result.markdown
    assert (generated / "scores.md").read_text() == result.markdown
    assert evaluate(generated).scored == []  # judged samples are skipped


def test_success_table_counts_and_orders():
    records = [{"method": "image-only", "image_right": True, "sound_right": False, "both_right": False},
               {"method": "denoise", "image_right": True, "sound_right": True, "both_right": True},
               {"method": "denoise", "image_right": False, "sound_right": True, "both_right": False}]
    markdown, table_csv = success_table(records, order=["denoise", "image-only"])
    lines = [line for line in markdown.splitlines() if line.startswith("| denoise") or line.startswith("| image-only")]
    assert lines[0].startswith("| denoise | 50.0%") and lines[1].startswith("| image-only | 0.0%")
    row = table_csv.splitlines()[1].split(",")
    assert row[0] == "denoise" and float(row[1]) == 0.5 and row[-1] == "2"
    assert float(row[2]) == pytest.approx(wilson_interval(1, 2)[0], abs=1e-6)


def test_mixed_pocket_and_real_samples_are_refused(generated, tmp_path):
    import shutil

    mixed = tmp_path / "mixed"
    shutil.copytree(generated / "sample_000", mixed / "a")
    shutil.copytree(generated / "sample_001", mixed / "b")
    meta = read_json(mixed / "b" / "meta.json")
    meta["models"] = {"image": "sd15", "audio": "auffusion"}
    (mixed / "b" / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(SpectrocanvasError, match="separately"):
        evaluate(mixed)


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
    assert all(r.rstrip(" |").endswith("| 4") for r in rows)  # 2 pairs × 2 samples
    assert "Wilson" in table and "CLIP" not in table
    metas = [read_json(p) for p in (out / "denoise").rglob("meta.json") if p.parent.name.startswith("sample_")]
    assert len(metas) == 4 and all(m["both_right"] is not None for m in metas)
    assert capsys.readouterr().out.count("| Method |") == 1


def test_compare_pocket_defaults_to_every_class_pair_each_with_its_own_seeds(pocket_weights, monkeypatch, tmp_path):
    from spectrocanvas import compare as compare_module
    from spectrocanvas import generate as generate_module

    seen = {}

    def fake_generate_pairs(**kwargs):
        seen.setdefault("pairs", kwargs.get("pairs"))
        seen.setdefault("methods", []).append(kwargs["method"])
        raise SystemExit(0)

    monkeypatch.setattr(generate_module, "generate_pairs", fake_generate_pairs)
    with pytest.raises(SystemExit):
        compare_module.compare(output=tmp_path / "x", runtime=generate_module.Runtime(preset="pocket"),
                               options={"n": 3, "seed": 7})
    assert [(p["image_prompt"], p["audio_prompt"]) for p in seen["pairs"]] == [
        (p["image_prompt"], p["audio_prompt"]) for p in class_pairs()]
    assert [p["seed"] for p in seen["pairs"]] == [7 + 3 * k for k in range(64)]  # pair k: seeds 7+3k … 9+3k
    assert seen["methods"] == ["denoise"]
    assert compare_module.default_methods("pocket") == ("denoise", "imprint", "image-only", "audio-only")


@pytest.mark.parametrize("extra, n", [((), 4), (("-n", "2"), 2)])
def test_compare_pocket_takes_four_samples_per_pair_unless_told(pocket_weights, monkeypatch, tmp_path, extra, n):
    from spectrocanvas import compare as compare_module

    seen = {}

    def fake_compare(**kwargs):
        seen.update(kwargs["options"])
        raise SystemExit(0)

    monkeypatch.setattr(compare_module, "compare", fake_compare)
    with pytest.raises(SystemExit):
        main(["compare", "--preset", "pocket", "-o", str(tmp_path / "x"), *extra])
    assert seen["n"] == n
    seen.clear()
    with pytest.raises(SystemExit):  # the real pair keeps one sample per pair
        main(["compare", "-o", str(tmp_path / "y"), *extra])
    assert seen["n"] == (1 if not extra else n)


def test_compare_samples_are_the_in_memory_evaluation_samples(pocket_weights, monkeypatch, tmp_path):
    """compare --preset pocket and pocket.evaluate draw the same samples (same per-pair seeds)."""
    from spectrocanvas.pocket.compose import pair_seeds
    from spectrocanvas.pocket.evaluate import heard

    few = [{"image_prompt": "circle", "audio_prompt": "rain"}, {"image_prompt": "moon", "audio_prompt": "bell"}]
    monkeypatch.setattr("spectrocanvas.pocket.vocab.class_pairs", lambda: few)
    out = tmp_path / "cmp"
    assert main(["compare", "--preset", "pocket", "-o", str(out), "--methods", "denoise", "-n", "2", "--seed", "5",
                 "--steps", "3", "--no-video", "--quiet"]) == 0
    pairs = [(p["image_prompt"], p["audio_prompt"]) for p in few]
    expected = pairs_canvases(load_pocket(pocket_weights), pairs, pair_seeds(5, 2, 2), steps=3)
    folders = sorted(p for p in (out / "denoise").glob("pair_*/sample_*"))
    assert len(folders) == 4
    written = torch.stack([read_canvas(f / "canvas.png") for f in folders])
    assert torch.allclose(written, expected, atol=1 / 65535 + 1e-6)
    judges = PocketJudges(load_pocket(pocket_weights, judges=True))
    from_files = torch.stack([judges.hear(torch.from_numpy(read_waveform(f / "audio.wav")[0]), 16000)
                              for f in folders])
    assert torch.allclose(heard(expected), from_files, atol=1e-4)  # the sound judge hears the same


def test_sweep_changes_one_setting_at_a_time(weights_dir):
    from spectrocanvas.pocket.evaluate import default_options, success_table, sweep

    models = load_pocket(weights_dir, judges=True)
    pairs = [("circle", "rain"), ("star", "bell")]
    base = {**default_options(), "steps": 2}
    rows = sweep(models, pairs, n=2, base=base, values={"audio_weight": (base["audio_weight"], 0.9),
                                                        "image_start": (0,)})
    assert [(r["setting"], r["value"]) for r in rows] == [("audio_weight", base["audio_weight"]),
                                                          ("audio_weight", 0.9), ("image_start", 0)]
    at_base = success_table(models, pairs, n=2, methods=("denoise",), **base)["denoise"]
    assert rows[0]["both"] == rows[2]["both"] == at_base["both"] and rows[0]["trials"] == 4


def test_judge_accuracy_on_fresh_data_is_a_rate(weights_dir):
    from spectrocanvas.pocket.evaluate import judge_accuracy

    models = load_pocket(weights_dir, judges=True)
    result = judge_accuracy(models, data_seed=987654, n=16)
    assert result["n"] == 16 and all(0.0 <= result[k] <= 1.0 for k in ("image", "sound"))
    assert result == judge_accuracy(models, data_seed=987654, n=16)  # the data is seeded


def test_evaluate_command_writes_json_and_markdown(weights_dir, tmp_path):
    from spectrocanvas.pocket.evaluate import main as evaluate_main

    out, md = tmp_path / "r.json", tmp_path / "r.md"
    with pytest.MonkeyPatch.context() as mp:  # two pairs instead of 64, to keep the test short
        mp.setattr("spectrocanvas.pocket.evaluate.IMAGE_CLASSES", ("circle",))
        mp.setattr("spectrocanvas.pocket.evaluate.SOUND_CLASSES", ("rain", "bell"))
        assert evaluate_main(["--weights-dir", str(weights_dir), "--n", "1", "--steps", "2", "--judge-seed", "5",
                              "--out", str(out), "--markdown", str(md)]) == 0
    result = json.loads(out.read_text())
    assert result["pairs"] == 2 and set(result["methods"]) == {"denoise", "imprint", "image-only", "audio-only"}
    text = md.read_text()
    row = result["methods"]["denoise"]
    assert f"| denoise | {row['both']:.1%} |" in text and "seed 5" in text
