"""The pocket judges as the pocket pair's scorer: what `evaluate`, `compare` and `generate --score`
use for pocket samples, where the real pair uses CLIP and CLAP.

The image judge reads the canvas; the sound judge hears the sound: the waveform analysed again
with the pocket canvas convention, so it judges what the vocoder made, as CLAP judges the WAV.
Each sample gets

- ``image_judge_score`` / ``sound_judge_score``: the judge's probability of the prompt's class
  (in [0, 1]; the scores ``--keep-top`` ranks by),
- ``image_judged`` / ``sound_judged``: the word each judge picked,
- ``image_right`` / ``sound_right`` / ``both_right``: whether it picked the prompt's word.

A sample *succeeds* when both judges are right; the tables give the success rate with its 95 %
Wilson interval and each judge's rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from spectrocanvas.canvas.analysis import audio_to_canvas
from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.pairs.interface import ScoredSample, SummaryColumn
from spectrocanvas.pairs.pocket.spec import HEIGHT, POCKET, WIDTH
from spectrocanvas.pairs.pocket.vocab import class_index
from spectrocanvas.pairs.pocket.weights import PocketModels, load_pocket

JUDGE_KEYS = ("image_judge_score", "sound_judge_score")
"""The two per-sample scores (the judges' probabilities of the prompts' classes)."""
RIGHT_KEYS = ("image_right", "sound_right", "both_right")
"""The per-sample verdicts."""
COLUMNS = (SummaryColumn("both_right", "success (both judges right)", "rate"),
           SummaryColumn("image_right", "image judge right", "rate", interval=False),
           SummaryColumn("sound_right", "sound judge right", "rate", interval=False))


def fit_columns(canvas: torch.Tensor, width: int) -> torch.Tensor:
    """Crop or zero-pad the last dimension of ``canvas`` (..., w) to ``width``."""
    if canvas.shape[-1] >= width:
        return canvas[..., :width]
    return torch.nn.functional.pad(canvas, (0, width - canvas.shape[-1]))


class PocketJudges:
    """Both pocket judges, as a :class:`~spectrocanvas.pairs.interface.Scorer`."""

    def __init__(self, models: PocketModels) -> None:
        if models.image_judge is None or models.audio_judge is None:
            raise SpectrocanvasError("the pocket judges were not loaded (load_pocket(..., judges=True))")
        self.models = models

    @classmethod
    def load(cls, weights_dir: str | Path | None = None) -> "PocketJudges":
        """The shipped judges (or those in ``weights_dir`` / ``$SPECTROCANVAS_POCKET_WEIGHTS``)."""
        return cls(load_pocket(weights_dir, judges=True))

    def judge(self, canvases: torch.Tensor, heard: torch.Tensor, image_words: Sequence[str],
              audio_words: Sequence[str]) -> list[dict[str, Any]]:
        """Verdicts for canvases (B, 32, 128) and what was heard of them (B, 32, 128), both in [0, 1]."""
        image_p = torch.softmax(self.models.image_judge(canvases), dim=1)
        sound_p = torch.softmax(self.models.audio_judge(heard), dim=1)
        out = []
        for i, (image_word, audio_word) in enumerate(zip(image_words, audio_words)):
            picked_image, picked_sound = int(image_p[i].argmax()), int(sound_p[i].argmax())
            verdict: dict[str, Any] = {"image_judged": self.models.image_judge.classes[picked_image],
                                       "sound_judged": self.models.audio_judge.classes[picked_sound]}
            for side, word, kind, probabilities, picked in (("image", image_word, "image", image_p, picked_image),
                                                            ("sound", audio_word, "audio", sound_p, picked_sound)):
                wanted = class_index(word, kind) if word.strip() else None  # no word: nothing to judge against
                verdict[f"{side}_judge_score"] = None if wanted is None else float(probabilities[i, wanted])
                verdict[f"{side}_right"] = None if wanted is None else picked == wanted
            both = (verdict["image_right"], verdict["sound_right"])
            verdict["both_right"] = None if None in both else all(both)
            out.append(verdict)
        return out

    @staticmethod
    def hear(waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
        """A waveform (samples,) at the pocket rate → the canvas (32, 128) the sound judge hears."""
        if sample_rate != POCKET.sample_rate:
            raise SpectrocanvasError(f"pocket audio must be at {POCKET.sample_rate} Hz, not {sample_rate} Hz")
        return fit_columns(audio_to_canvas(waveform.float(), POCKET), WIDTH)

    def score(self, samples: Sequence[ScoredSample]) -> list[dict[str, Any]]:
        """The judges' fields for each sample (its canvas seen, its sound heard)."""
        for sample in samples:
            if sample.canvas.shape[0] != HEIGHT:
                raise SpectrocanvasError(f"not a pocket sample: its canvas has {sample.canvas.shape[0]} rows, "
                                         f"not {HEIGHT}")
        canvases = torch.stack([fit_columns(s.canvas.float(), WIDTH) for s in samples])
        heard = torch.stack([self.hear(s.waveform, s.sample_rate) for s in samples])
        return self.judge(canvases, heard, [s.prompts["image"] for s in samples],
                          [s.prompts["audio"] for s in samples])

    def describe(self) -> dict[str, Any]:
        record = self.models.record
        return {"judges": "pocket", **{kind: {"steps": record.get(kind, {}).get("steps"),
                                              "data_seed": record.get(kind, {}).get("data_seed")}
                                       for kind in ("image-classifier", "audio-classifier")}}
