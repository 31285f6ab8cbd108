"""The pocket judges as scorers: what `evaluate`, `compare` and `generate --score` use for pocket
samples, where the real pair uses CLIP and CLAP.

The image judge reads the canvas (``canvas.png``); the sound judge hears the sound: ``audio.wav``
analysed again with the pocket canvas convention, so it judges what the vocoder made, as CLAP
judges the WAV. Each sample gets

- ``image_judge_score`` / ``sound_judge_score``: the judge's probability of the prompt's class
  (in [0, 1]; the scores ``--keep-top`` ranks by),
- ``image_judged`` / ``sound_judged``: the word each judge picked,
- ``image_right`` / ``sound_right`` / ``both_right``: whether it picked the prompt's word.

A sample *succeeds* when both judges are right; tables give success rates with 95 % Wilson
intervals (:func:`success_table`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.stats import wilson_interval

JUDGE_KEYS = ("image_judge_score", "sound_judge_score")
"""The two per-sample scores (the judges' probabilities of the prompts' classes)."""
RIGHT_KEYS = ("image_right", "sound_right", "both_right")
"""The per-sample verdicts."""
WORD_KEYS = ("image_judged", "sound_judged")


def fit_columns(canvas: torch.Tensor, width: int) -> torch.Tensor:
    """Crop or zero-pad the last dimension of ``canvas`` (..., w) to ``width``."""
    if canvas.shape[-1] >= width:
        return canvas[..., :width]
    return torch.nn.functional.pad(canvas, (0, width - canvas.shape[-1]))


class PocketJudges:
    """Both pocket judges, scoring canvases and heard canvases against prompt words."""

    keys = JUDGE_KEYS

    def __init__(self, models: Any) -> None:
        if models.image_judge is None or models.audio_judge is None:
            raise SpectrocanvasError("the pocket judges were not loaded (load_pocket(..., judges=True))")
        self.models = models

    @classmethod
    def load(cls, weights_dir: str | Path | None = None) -> "PocketJudges":
        """The shipped judges (or those in ``weights_dir`` / ``$SPECTROCANVAS_POCKET_WEIGHTS``)."""
        from spectrocanvas.pocket.load import load_pocket

        return cls(load_pocket(weights_dir, judges=True))

    def judge(self, canvases: torch.Tensor, heard: torch.Tensor, image_words: Sequence[str],
              audio_words: Sequence[str]) -> list[dict[str, Any]]:
        """Verdicts for canvases (B, 32, 128) and what was heard of them (B, 32, 128), both in [0, 1].

        One dict per sample with the :data:`JUDGE_KEYS`, :data:`WORD_KEYS` and :data:`RIGHT_KEYS` fields.
        """
        from spectrocanvas.pocket.vocab import class_index

        image_p = torch.softmax(self.models.image_judge(canvases), dim=1)
        sound_p = torch.softmax(self.models.audio_judge(heard), dim=1)
        out = []
        for i, (image_word, audio_word) in enumerate(zip(image_words, audio_words)):
            wanted_image, wanted_sound = class_index(image_word, "image"), class_index(audio_word, "audio")
            picked_image, picked_sound = int(image_p[i].argmax()), int(sound_p[i].argmax())
            image_right, sound_right = picked_image == wanted_image, picked_sound == wanted_sound
            out.append({"image_judge_score": float(image_p[i, wanted_image]),
                        "sound_judge_score": float(sound_p[i, wanted_sound]),
                        "image_judged": self.models.image_judge.classes[picked_image],
                        "sound_judged": self.models.audio_judge.classes[picked_sound],
                        "image_right": image_right, "sound_right": sound_right,
                        "both_right": image_right and sound_right})
        return out

    @staticmethod
    def hear(waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
        """A waveform (samples,) at the pocket rate → the canvas (32, 128) the sound judge hears."""
        from spectrocanvas.pocket.spec import POCKET, WIDTH
        from spectrocanvas.spectral import audio_to_canvas

        if sample_rate != POCKET.sample_rate:
            raise SpectrocanvasError(f"pocket audio must be at {POCKET.sample_rate} Hz, not {sample_rate} Hz")
        return fit_columns(audio_to_canvas(waveform.float(), POCKET), WIDTH)

    def score_batch(self, folders: Sequence[Path], metas: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The fields to add to each sample folder's meta.json (canvas.png and audio.wav judged)."""
        from spectrocanvas.evaluate import prompt_of, read_canvas, read_waveform
        from spectrocanvas.pocket.spec import HEIGHT, WIDTH

        canvases, heard = [], []
        for folder in folders:
            canvas = read_canvas(folder / "canvas.png")
            if canvas.shape[0] != HEIGHT:
                raise SpectrocanvasError(f"'{folder}' is not a pocket sample (canvas has {canvas.shape[0]} rows)")
            canvases.append(fit_columns(canvas, WIDTH))
            samples, rate = read_waveform(folder / "audio.wav")
            heard.append(self.hear(torch.from_numpy(samples), rate))
        return self.judge(torch.stack(canvases), torch.stack(heard), [prompt_of(m, "image") for m in metas],
                          [prompt_of(m, "audio") for m in metas])

    def describe(self) -> dict[str, Any]:
        record = self.models.record
        return {"judges": "pocket", **{kind: {"steps": record.get(kind, {}).get("steps"),
                                              "data_seed": record.get(kind, {}).get("data_seed")}
                                       for kind in ("image-classifier", "audio-classifier")}}


def success_counts(records: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Counts of ``trials`` and of each verdict in :data:`RIGHT_KEYS` over judged records."""
    judged = [r for r in records if r.get("both_right") is not None]
    return {"trials": len(judged), **{key: sum(bool(r[key]) for r in judged) for key in RIGHT_KEYS}}


def success_table(records: Sequence[Mapping[str, Any]], *, group_key: str = "method",
                  order: Sequence[str] | None = None, labels: Mapping[str, str] | None = None,
                  heading: str | None = None) -> tuple[str, str]:
    """(markdown, csv): per group, success (both judges right) with its 95 % Wilson interval,
    each judge's rate, and the number of samples."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        groups.setdefault(str(record.get(group_key, "")), []).append(record)
    names = [g for g in (order or groups) if g in groups]
    lines = [f"| {heading or group_key} | success (both right) | 95% CI | image right | sound right | n |",
             "|---|---:|---:|---:|---:|---:|"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([group_key, "success", "ci_low", "ci_high", "image_right", "sound_right", "n"])
    for name in names:
        counts = success_counts(groups[name])
        n = counts["trials"]
        if n == 0:
            continue
        low, high = wilson_interval(counts["both_right"], n)
        rates = [counts[k] / n for k in ("both_right", "image_right", "sound_right")]
        label = (labels or {}).get(name, name)
        lines.append(f"| {label} | {rates[0]:.1%} | [{low:.1%}, {high:.1%}] | {rates[1]:.1%} | {rates[2]:.1%} | {n} |")
        writer.writerow([name, f"{rates[0]:.6f}", f"{low:.6f}", f"{high:.6f}", f"{rates[1]:.6f}",
                         f"{rates[2]:.6f}", n])
    note = ("\nSuccess: the image judge sees the image prompt's class in canvas.png and the sound judge "
            "hears the audio prompt's class in audio.wav; 95% Wilson score interval.\n")
    return "\n".join(lines) + "\n" + note, out.getvalue()
