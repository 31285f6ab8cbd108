"""Adding a model pair is one module and one registry line: a third pair, defined here as a new
module would define it (its own defaults, vocoder, scorer and comparison), generates, resumes,
is scored and compared through the same commands, with nothing else changed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
import tiny_models

from spectrocanvas.canvas.spec import AUFFUSION
from spectrocanvas.canvas.vocoders import GriffinLimVocoder
from spectrocanvas.cli import main
from spectrocanvas.pairs import registry
from spectrocanvas.pairs.interface import (
    Comparison,
    ModelSlot,
    PairEntry,
    Runtime,
    ScoredSample,
    Scoring,
    SummaryColumn,
)
from spectrocanvas.pairs.sd_auffusion import SdAuffusionPair
from spectrocanvas.pairs.sd_models import load_diffusion_model

MODELS: dict[str, str] = {}


class Loudness:
    """A scorer of the third pair: the canvas's mean brightness and the sound's RMS."""

    def score(self, samples: Sequence[ScoredSample]) -> list[dict[str, Any]]:
        return [{"brightness": float(s.canvas.mean()), "rms": float(s.waveform.pow(2).mean().sqrt())} for s in samples]

    def describe(self) -> dict[str, Any]:
        return {"scorer": "loudness"}


def load(runtime: Runtime) -> SdAuffusionPair:
    image, audio = (load_diffusion_model(MODELS[role], what=f"{role} model") for role in ("image", "audio"))
    return SdAuffusionPair(entry=THIRD, image=image, audio=audio, vocoder=GriffinLimVocoder(spec=AUFFUSION))


THIRD = PairEntry(
    name="tiny-third",
    description="a third pair for the tests",
    models=(ModelSlot("image", "image model"), ModelSlot("audio", "audio model")),
    load=load,
    scoring=Scoring(keys=("brightness", "rms"), columns=(SummaryColumn("brightness", "brightness", "mean"),
                                                          SummaryColumn("rms", "RMS", "mean")),
                    load=lambda request: Loudness()),
    comparison=Comparison(methods=("denoise", "audio-only"), samples_per_pair=2,
                          prompt_pairs=lambda seed, n: [{"image_prompt": "a castle", "audio_prompt": "bells"}]),
    spec=AUFFUSION,
    defaults=({"steps": 2}, {"image_guidance": 3.0}, {"audio_guidance": 4.0}, {"audio_weight": 0.7},
              {"crop_columns": 0}),
    native_latent=(32, 8),
    vocoders=("griffinlim",),
    devices=("cpu",),
)


@pytest.fixture
def third(tmp_path_factory, monkeypatch):
    root = tmp_path_factory.mktemp("third")
    MODELS.update(image=str(tiny_models.save_tiny_sd(root / "sd")),
                  audio=str(tiny_models.save_tiny_auffusion(root / "auffusion")))
    monkeypatch.setitem(registry.PAIRS, THIRD.name, THIRD)  # the one registry line
    return THIRD


def test_a_third_pair_runs_through_every_command(third, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["generate", "--preset", "tiny-third", "--image-prompt", "a castle", "--audio-prompt", "bells", "-o",
            str(out), "-n", "2", "--no-video", "--quiet", "--score"]
    assert main(args) == 0
    meta = json.loads((out / "sample_001" / "meta.json").read_text())
    assert meta["models"]["pair"] == "tiny-third" and meta["vocoder"]["name"] == "griffinlim"
    settings = meta["settings"]
    assert (settings["steps"], settings["image_guidance"], settings["audio_guidance"]) == (2, 3.0, 4.0)
    assert (settings["audio_weight"], settings["image_weight"]) == (0.7, 0.3)  # its defaults, the rest to the image
    assert meta["brightness"] is not None and meta["scorers"] == {"scorer": "loudness"}
    assert main(args) == 0  # resumes: nothing to make
    assert main(["evaluate", str(out), "--quiet"]) == 0
    assert "| brightness | RMS |" in (out / "scores.md").read_text()
    assert main(["compare", "--preset", "tiny-third", "-o", str(tmp_path / "cmp"), "--no-video", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "Audio model only — reference (`audio-only`) | 2 |" in printed  # its methods, its samples per pair
    assert main([*args[:-1], "--vocoder", "hifigan"]) == 2  # its vocoders only, said in one line
    assert "plays its canvases with griffinlim" in capsys.readouterr().err
