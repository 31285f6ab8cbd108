"""The training command: losses logged, resume equals an uninterrupted run, settings guarded,
export to the shipped format."""

import csv
import json

import pytest
import torch

from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.pairs.pocket.training.export import export_run
from spectrocanvas.pairs.pocket.training.train import CHECKPOINT, LOSS_LOG, TrainSettings, main, train
from spectrocanvas.pairs.pocket.weights import load_module, load_pocket


def tiny(model: str, **changes) -> TrainSettings:
    channels = (8, 16, 16) if model in ("image", "audio") else (8, 8, 16)
    return TrainSettings(**{"model": model, "batch": 8, "bank_size": 64, "channels": channels, "warmup": 2,
                            **changes})


def losses(folder):
    with open(folder / LOSS_LOG) as f:
        return [(int(r["step"]), float(r["loss"])) for r in csv.DictReader(f)]


def state(folder):
    return torch.load(folder / CHECKPOINT, weights_only=True)


@pytest.mark.parametrize("model", ["image", "audio", "image-classifier"])
def test_resume_equals_straight_run(tmp_path, model):
    settings = tiny(model)
    train(settings, steps=3, out=tmp_path / "split", quiet=True, eval_size=16, eval_every=2)
    assert state(tmp_path / "split")["step"] == 3
    train(settings, steps=6, out=tmp_path / "split", quiet=True, eval_size=16, eval_every=2)
    train(settings, steps=6, out=tmp_path / "straight", quiet=True, eval_size=16, eval_every=2)
    a, b = state(tmp_path / "split"), state(tmp_path / "straight")
    assert a["step"] == b["step"] == 6
    for key in ("model", "ema"):
        for name in a[key]:
            assert torch.allclose(a[key][name], b[key][name], atol=1e-6), (key, name)
    la, lb = losses(tmp_path / "split"), losses(tmp_path / "straight")
    assert [s for s, _ in la] == list(range(1, 7))
    assert [s for s, _ in la] == [s for s, _ in lb]
    assert [v for _, v in la] == pytest.approx([v for _, v in lb], rel=1e-5)
    run = json.loads((tmp_path / "split" / "run.json").read_text())
    assert [(c["from_step"], c["to_step"]) for c in run["commands"]] == [(0, 3), (3, 6)]


def test_audio_classifier_trains_on_round_tripped_hybrids(tmp_path):
    train(tiny("audio-classifier"), steps=2, out=tmp_path, quiet=True, eval_size=8, eval_every=1)
    rows = list(csv.DictReader(open(tmp_path / LOSS_LOG)))
    assert len(rows) == 2 and 0 <= float(rows[0]["accuracy"]) <= 1
    assert (tmp_path / "eval.csv").read_text().startswith("step,held_out_accuracy")


def test_log_rows_after_the_checkpoint_are_redone(tmp_path):
    settings = tiny("image")
    train(settings, steps=2, out=tmp_path, quiet=True)
    with open(tmp_path / LOSS_LOG, "a") as f:  # a row written after the last checkpoint, then a crash
        f.write("3,9.0,,0,0\n")
    train(settings, steps=3, out=tmp_path, quiet=True)
    assert [s for s, _ in losses(tmp_path)] == [1, 2, 3] and losses(tmp_path)[-1][1] != 9.0


def test_resume_with_other_settings_is_refused(tmp_path):
    train(tiny("image"), steps=1, out=tmp_path, quiet=True)
    with pytest.raises(SpectrocanvasError, match="other settings.*lr"):
        train(tiny("image", lr=1e-2), steps=2, out=tmp_path, quiet=True)


def test_loss_falls_on_a_tiny_denoiser(tmp_path):
    settings = tiny("audio", lr=2e-3, batch=16)
    train(settings, steps=40, out=tmp_path, quiet=True)
    values = [v for _, v in losses(tmp_path)]
    assert sum(values[-10:]) / 10 < 0.88 * sum(values[:5]) / 5  # about 0.81 of the start after 40 steps


def test_command_line_trains_and_export_loads(tmp_path, capsys):
    for model in ("image", "audio"):
        assert main(["--model", model, "--steps", "2", "--out", str(tmp_path / model), "--batch", "4",
                     "--bank-size", "16", "--channels", "8,16,16", "--quiet"]) == 0
        export_run(tmp_path / model, tmp_path / "weights", note="stopped early" if model == "audio" else None)
    record = json.loads((tmp_path / "weights" / "record.json").read_text())
    assert record["image"]["steps"] == 2 and record["audio"]["data_seed"] == 0
    assert record["audio"]["note"] == "stopped early" and "note" not in record["image"]
    assert "--steps" in record["image"]["commands"][0]["argv"]
    kind, net = load_module(tmp_path / "weights" / "image.safetensors")
    assert kind == "image" and next(net.parameters()).dtype == torch.float32
    models = load_pocket(tmp_path / "weights")
    assert models.record["audio"]["file"] == "audio.safetensors"
    assert main(["--model", "image", "--steps", "3", "--out", str(tmp_path / "image"), "--lr", "0.1"]) == 2
    assert "other settings" in capsys.readouterr().err
