"""How often a pocket sample is both: the image judge sees the image class and the sound judge
hears the sound class (after the vocoder round trip), per method, with 95 % Wilson intervals.

Methods: ``denoise`` (the paper's joint denoising), ``imprint`` (the audio-only canvas
multiplied by the image-only canvas of the same seed), ``image-only`` and ``audio-only``.

    python -m spectrocanvas.pocket.evaluate [--weights-dir W] [--n 8] [--steps 50] --out result.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from spectrocanvas.pocket.compose import sample_canvases
from spectrocanvas.pocket.defaults import GUIDANCE, STEPS
from spectrocanvas.pocket.data import vocoder_round_trip
from spectrocanvas.pocket.load import PocketModels, load_pocket
from spectrocanvas.pocket.vocab import IMAGE_CLASSES, SOUND_CLASSES, class_index

METHODS = ("denoise", "imprint", "image-only", "audio-only")


def wilson_interval(successes: int, trials: int, z: float = 1.959964) -> tuple[float, float]:
    """95 % Wilson score interval for a proportion."""
    if trials == 0:
        return (0.0, 1.0)
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return (max(0.0, centre - half), min(1.0, centre + half))


def judge(models: PocketModels, canvases: torch.Tensor, image_word: str, audio_word: str) -> dict[str, torch.Tensor]:
    """Per-sample booleans (N,): image right, sound right (heard after the round trip), both."""
    image_ok = models.image_judge.predict(canvases) == class_index(image_word, "image")
    heard = vocoder_round_trip(canvases[:, None])
    sound_ok = models.audio_judge.predict(heard) == class_index(audio_word, "audio")
    return {"image": image_ok, "sound": sound_ok, "both": image_ok & sound_ok}


def method_canvases(models: PocketModels, image_word: str, audio_word: str, seeds: Sequence[int],
                    **options: Any) -> dict[str, torch.Tensor]:
    """Canvases (N, 32, 128) of every method for one pair (imprint reuses the single-model samples)."""
    out = {m: sample_canvases(models, image_word, audio_word, seeds, method=m, **options)
           for m in ("denoise", "image-only", "audio-only")}
    out["imprint"] = out["audio-only"] * out["image-only"]
    return out


def success_table(models: PocketModels, pairs: Sequence[tuple[str, str]], *, n: int, seed: int = 0,
                  **options: Any) -> dict[str, Any]:
    """Success counts and intervals per method over ``pairs``, ``n`` seeds each."""
    counts = {m: {"image": 0, "sound": 0, "both": 0} for m in METHODS}
    seeds = list(range(seed, seed + n))
    for image_word, audio_word in pairs:
        for method, canvases in method_canvases(models, image_word, audio_word, seeds, **options).items():
            for key, ok in judge(models, canvases, image_word, audio_word).items():
                counts[method][key] += int(ok.sum())
    trials = n * len(pairs)
    table = {}
    for method, c in counts.items():
        table[method] = {k: v / trials for k, v in c.items()}
        table[method]["both_95ci"] = wilson_interval(c["both"], trials)
        table[method]["trials"] = trials
    return table


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m spectrocanvas.pocket.evaluate", description=__doc__.splitlines()[0])
    p.add_argument("--weights-dir")
    p.add_argument("--n", type=int, default=8, help="samples per class pair and method")
    p.add_argument("--steps", type=int, default=STEPS)
    p.add_argument("--guidance", type=float, default=GUIDANCE)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    models = load_pocket(args.weights_dir, judges=True)
    pairs = list(itertools.product(IMAGE_CLASSES, SOUND_CLASSES))
    started = time.perf_counter()
    table = success_table(models, pairs, n=args.n, seed=args.seed, steps=args.steps,
                          image_guidance=args.guidance, audio_guidance=args.guidance)
    result = {"pairs": len(pairs), "n": args.n, "steps": args.steps, "guidance": args.guidance,
              "seconds": round(time.perf_counter() - started, 1), "methods": table, "record": models.record}
    Path(args.out).write_text(json.dumps(result, indent=2))
    for method, row in table.items():
        lo, hi = row["both_95ci"]
        print(f"{method:11s} both {row['both']:.3f} [{lo:.3f}, {hi:.3f}]  image {row['image']:.3f}  "
              f"sound {row['sound']:.3f}  ({row['trials']} samples)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
