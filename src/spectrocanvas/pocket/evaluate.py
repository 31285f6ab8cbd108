"""How often a pocket sample is both: the image judge sees the image class and the sound judge
hears the sound class (after the vocoder round trip), per method, with 95 % Wilson intervals;
and how that success moves with the settings that matter (audio weight, warm start, guidance).

The fast, in-memory twin of ``spectrocanvas compare --preset pocket`` (which writes every sample
folder and judges the files): the same methods, the same seeds, the same judges.
Methods: ``denoise`` (the paper's joint denoising), ``imprint`` (the image-only canvas carved
into the audio-only canvas of the same seed, as :func:`spectrocanvas.methods.imprint` does),
``image-only`` and ``audio-only``.

    python -m spectrocanvas.pocket.evaluate [--weights-dir W] [--n 4] [--sweep] --out result.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from spectrocanvas.pocket.compose import pair_seeds, pairs_canvases
from spectrocanvas.pocket.defaults import (AUDIO_GUIDANCE, AUDIO_START, AUDIO_WEIGHT, IMAGE_GUIDANCE, IMAGE_START,
                                          STEPS)
from spectrocanvas.pocket.judges import PocketJudges
from spectrocanvas.pocket.load import PocketModels, load_pocket
from spectrocanvas.pocket.vocab import IMAGE_CLASSES, SOUND_CLASSES
from spectrocanvas.stats import wilson_interval

METHODS = ("denoise", "imprint", "image-only", "audio-only")

SWEEP: dict[str, tuple[float, ...]] = {
    "audio_weight": (0.15, 0.2, 0.25, 0.3, 0.4, 0.5),
    "image_start": (0, 5, 10),
    "audio_start": (0, 3, 10),
    "image_guidance": (5.0, 7.5, 10.0, 15.0),
    "audio_guidance": (3.0, 5.0, 7.5),
}
"""Settings swept for ``denoise`` (one at a time, the others at the defaults). image_start is the
paper's warm start: the audio model alone for that many of the 50 steps; audio_start the reverse
(the image model lays out the canvas first)."""


def default_options() -> dict[str, Any]:
    """The pocket defaults as sampling options of :func:`spectrocanvas.pocket.compose.pairs_canvases`."""
    return {"steps": STEPS, "image_guidance": IMAGE_GUIDANCE, "audio_guidance": AUDIO_GUIDANCE,
            "audio_weight": AUDIO_WEIGHT, "image_start": IMAGE_START, "audio_start": AUDIO_START}


def heard(canvases: torch.Tensor) -> torch.Tensor:
    """Canvases (B, 32, 128) → what the sound judge hears of them (B, 32, 128): each canvas through
    Griffin-Lim as ``generate`` runs it (one canvas at a time, the same vocoder and seed), analysed
    again as ``evaluate`` analyses the float audio.wav it writes (unclipped, not quantised)."""
    from spectrocanvas.pocket.spec import POCKET
    from spectrocanvas.vocoder import GriffinLimVocoder

    vocoder = GriffinLimVocoder(spec=POCKET)
    return torch.stack([PocketJudges.hear(vocoder(canvas[None])[0], POCKET.sample_rate) for canvas in canvases])


def judge_pairs(models: PocketModels, canvases: torch.Tensor, image_words: Sequence[str],
                audio_words: Sequence[str]) -> dict[str, torch.Tensor]:
    """Per-sample booleans (N,): ``image`` right, ``sound`` right, ``both``."""
    verdicts = PocketJudges(models).judge(canvases, heard(canvases), image_words, audio_words)
    return {key: torch.tensor([v[f"{key}_right"] for v in verdicts]) for key in ("image", "sound", "both")}


def method_canvases(models: PocketModels, pairs: Sequence[tuple[str, str]],
                    seeds: Sequence[int] | Sequence[Sequence[int]], methods: Sequence[str] = METHODS,
                    **options: Any) -> dict[str, torch.Tensor]:
    """Canvases (P · N, 32, 128) of each method, pair-major; imprint reuses the single-model samples."""
    from spectrocanvas.imprint import imprint_canvas
    from spectrocanvas.methods import IMPRINT_STRENGTH

    needed = set(methods) | ({"image-only", "audio-only"} if "imprint" in methods else set())
    out = {m: pairs_canvases(models, pairs, seeds, method=m, **options)
           for m in ("denoise", "image-only", "audio-only") if m in needed}
    if "imprint" in methods:
        out["imprint"] = imprint_canvas(out["audio-only"], out["image-only"], strength=IMPRINT_STRENGTH, invert=True)
    return {m: out[m] for m in methods}


def rates(ok: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Rates of each verdict, the success interval and the number of trials."""
    trials = int(ok["both"].numel())
    row: dict[str, Any] = {k: float(v.float().mean()) for k, v in ok.items()}
    row["both_95ci"] = wilson_interval(int(ok["both"].sum()), trials)
    row["trials"] = trials
    return row


def success_table(models: PocketModels, pairs: Sequence[tuple[str, str]], *, n: int, seed: int = 0,
                  methods: Sequence[str] = METHODS, **options: Any) -> dict[str, Any]:
    """Per method: rates of image right, sound right and both, with the 95 % interval of both.
    Pair k's sample i uses seed ``seed + k·n + i`` (:func:`~spectrocanvas.pocket.compose.pair_seeds`),
    as `compare --preset pocket` does, so every sample is an independent trial."""
    seeds = pair_seeds(seed, n, len(pairs))
    image_words = [p[0] for p in pairs for _ in range(n)]
    audio_words = [p[1] for p in pairs for _ in range(n)]
    canvases = method_canvases(models, pairs, seeds, methods, **options)
    return {m: rates(judge_pairs(models, c, image_words, audio_words)) for m, c in canvases.items()}


def sweep(models: PocketModels, pairs: Sequence[tuple[str, str]], *, n: int, seed: int = 0,
          base: dict[str, Any] | None = None, values: dict[str, tuple[float, ...]] = SWEEP) -> list[dict[str, Any]]:
    """``denoise`` success for each value of each swept setting, the others at ``base``
    (default: :func:`default_options`); the value ``base`` has is measured once and reused."""
    base = dict(base or default_options())
    rows: list[dict[str, Any]] = []
    at_base: dict[str, Any] | None = None
    for setting, choices in values.items():
        for value in choices:
            options = {**base, setting: type(base[setting])(value)}
            if options == base and at_base is not None:
                row = at_base
            else:
                row = success_table(models, pairs, n=n, seed=seed, methods=("denoise",), **options)["denoise"]
                at_base = row if options == base else at_base
            rows.append({"setting": setting, "value": value, **row})
    return rows


def judge_accuracy(models: PocketModels, data_seed: int, n: int = 512) -> dict[str, float]:
    """Each judge's accuracy on ``n`` freshly synthesised samples of ``data_seed`` (use a seed no
    training run used): shapes in every style (with the noise the judge is trained to ignore), and
    sounds after the vocoder round trip, 60 % of them with a shape imprinted."""
    from spectrocanvas.pocket import data

    bank = data.SoundBank(data_seed, max(n, 64))
    shapes, shape_labels = data.image_batch(bank, data.stream_generator(data_seed, "image", 0), n)
    sounds, sound_labels = data.judged_sound_batch(data.JudgedSoundBank(bank),
                                                   data.stream_generator(data_seed, "audio", 0), n)
    return {"image": float((models.image_judge.predict(shapes) == shape_labels).float().mean()),
            "sound": float((models.audio_judge.predict(sounds) == sound_labels).float().mean()),
            "data_seed": data_seed, "n": n}


def result_markdown(result: dict[str, Any]) -> str:
    """The tables of a :func:`main` result: methods, then the judges and the sweep when measured."""
    def cells(row: dict[str, Any]) -> str:
        lo, hi = row["both_95ci"]
        return f"{row['both']:.1%} | [{lo:.1%}, {hi:.1%}] | {row['image']:.1%} | {row['sound']:.1%} | {row['trials']}"

    lines = ["| method | success (both right) | 95% CI | image right | sound right | n |",
             "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {method} | {cells(row)} |" for method, row in result["methods"].items()]
    if "judges" in result:
        j = result["judges"]
        lines += ["", f"Judges on fresh synthetic data (seed {j['data_seed']}, {j['n']} samples each): "
                      f"image {j['image']:.1%}, sound {j['sound']:.1%}."]
    if "sweep" in result:
        lines += ["", "| setting | value | success (both right) | 95% CI | image right | sound right | n |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        lines += [f"| {row['setting']} | {row['value']:g} | {cells(row)} |" for row in result["sweep"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m spectrocanvas.pocket.evaluate", description=__doc__.splitlines()[0])
    p.add_argument("--weights-dir")
    p.add_argument("--n", type=int, default=4, help="samples per class pair and method")
    p.add_argument("--steps", type=int, default=STEPS)
    p.add_argument("--image-guidance", type=float, default=IMAGE_GUIDANCE)
    p.add_argument("--audio-guidance", type=float, default=AUDIO_GUIDANCE)
    p.add_argument("--audio-weight", type=float, default=AUDIO_WEIGHT)
    p.add_argument("--image-start", type=int, default=IMAGE_START)
    p.add_argument("--audio-start", type=int, default=AUDIO_START)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sweep", action="store_true", help="also sweep audio weight, warm start and guidance")
    p.add_argument("--judge-seed", type=int, default=None,
                   help="also measure each judge on fresh synthetic data of this seed (one no run used)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", required=True, help="result JSON")
    p.add_argument("--markdown", help="also write the tables as markdown here")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    models = load_pocket(args.weights_dir, judges=True)
    pairs = list(itertools.product(IMAGE_CLASSES, SOUND_CLASSES))
    started = time.perf_counter()
    options = {"steps": args.steps, "image_guidance": args.image_guidance, "audio_guidance": args.audio_guidance,
               "audio_weight": args.audio_weight, "image_start": args.image_start,
               "audio_start": args.audio_start}
    table = success_table(models, pairs, n=args.n, seed=args.seed, **options)
    result: dict[str, Any] = {"pairs": len(pairs), "n": args.n, "seed": args.seed, **options, "methods": table}
    for method, row in table.items():
        lo, hi = row["both_95ci"]
        print(f"{method:11s} both {row['both']:.3f} [{lo:.3f}, {hi:.3f}]  image {row['image']:.3f}  "
              f"sound {row['sound']:.3f}  ({row['trials']} samples)", flush=True)
    if args.judge_seed is not None:
        result["judges"] = judge_accuracy(models, args.judge_seed)
        print(f"judges on fresh data (seed {args.judge_seed}, {result['judges']['n']} each): "
              f"image {result['judges']['image']:.3f}  sound {result['judges']['sound']:.3f}", flush=True)
    if args.sweep:
        result["sweep"] = sweep(models, pairs, n=args.n, seed=args.seed, base=options)
        for row in result["sweep"]:
            lo, hi = row["both_95ci"]
            print(f"{row['setting']:12s} {row['value']:>5g}  both {row['both']:.3f} [{lo:.3f}, {hi:.3f}]  "
                  f"image {row['image']:.3f}  sound {row['sound']:.3f}", flush=True)
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["record"] = models.record
    Path(args.out).write_text(json.dumps(result, indent=2))
    if args.markdown:
        Path(args.markdown).write_text(result_markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
