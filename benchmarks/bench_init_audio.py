"""Start from a recording, and canvases longer than the models' window, measured on the pocket pair.

1. **Recordings**: for each sound class, recordings the models never saw (synthesised from a data
   seed no training run used, written as WAV files), each composed with every image class:
   success = the sound judge still hears the recording's class and the image judge sees the
   prompt's shape, against --strength, with `imprint` of the same shape into the same recording
   as the baseline row (the audio prompt names the recording's class; a row without it too).
2. **Lengths**: every class pair at 2, 8 and 16 s; the judges applied to each native window
   (128 columns) of the canvas and of what the sound judge hears; the seams (mean column-to-column
   change at window joins against inside windows); seconds per second of sound.

    .venv/bin/python benchmarks/bench_init_audio.py [--recordings 2] [--out init.json] [--markdown init.md]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import soundfile
import torch

from spectrocanvas.canvas.analysis import audio_to_canvas
from spectrocanvas.generate.drawing import draw_canvases, play
from spectrocanvas.generate.prompt_files import PromptPair
from spectrocanvas.generate.resolve import resolve_settings
from spectrocanvas.generate.runs import load_pair
from spectrocanvas.measure.seams import chance_ratios, column_change, join_columns, seam_ratio
from spectrocanvas.measure.stats import wilson_interval
from spectrocanvas.measure.study import study_records
from spectrocanvas.pairs.interface import Runtime, ScorerRequest
from spectrocanvas.pairs.pocket.spec import POCKET, WIDTH
from spectrocanvas.pairs.pocket.training.sounds import synthesise
from spectrocanvas.pairs.pocket.vocab import IMAGE_CLASSES, SOUND_CLASSES

FRESH_SEED = 777_001
"""Data seed of the recordings: no training run used it."""


def rate(records: list[dict], key: str = "both_right") -> dict:
    hits, n = sum(bool(r[key]) for r in records), len(records)
    low, high = wilson_interval(hits, n)
    return {"rate": hits / n, "low": low, "high": high, "n": n,
            "image": sum(r["image_right"] for r in records) / n, "sound": sum(r["sound_right"] for r in records) / n}


def recordings(folder: Path, per_class: int) -> list[tuple[str, Path]]:
    """(sound class, WAV path) of ``per_class`` fresh recordings of every sound class."""
    made = []
    for label, word in enumerate(SOUND_CLASSES):
        for k in range(per_class):
            wave = synthesise(label, torch.Generator().manual_seed(FRESH_SEED * 1000 + label * 100 + k))
            path = folder / f"{word}-{k}.wav"
            soundfile.write(str(path), wave.numpy(), POCKET.sample_rate, subtype="FLOAT")
            made.append((word, path))
    return made


def per_window(pair, judges, rows, *, seconds: float) -> tuple[list[dict], dict, float]:
    """Each native window of each sample judged; the seam ratio; seconds of compute per second of sound."""
    settings = [resolve_settings({**row.options, "seconds": seconds}, pair=pair.entry) for row in rows]
    started = time.perf_counter()
    canvases = draw_canvases(settings, [s.seed for s in settings], pair, batch_size=8)[1]
    waves = [play(pair, canvas) for canvas in canvases]
    elapsed = time.perf_counter() - started
    verdicts = []
    for s, canvas, wave in zip(settings, canvases, waves):
        heard = audio_to_canvas(wave, POCKET)  # what the sound judge hears, window by window
        tiles = canvas.shape[-1] // WIDTH
        prompts = s.prompts()
        verdicts += judges.judge(torch.stack([canvas[:, i * WIDTH:(i + 1) * WIDTH] for i in range(tiles)]),
                                 torch.stack([heard[:, i * WIDTH:(i + 1) * WIDTH] for i in range(tiles)]),
                                 [prompts["image"]] * tiles, [prompts["audio"]] * tiles)
    seams = {}
    if settings[0].window_stride:
        change, joins = column_change(canvases), join_columns(settings[0], pair)
        chance = chance_ratios(change, joins)
        seams = {"seam_ratio_mean_over_steps": seam_ratio(change, joins),
                 "chance_mean": float(chance.mean()), "chance_std": float(chance.std())}
    return verdicts, seams, elapsed / (len(rows) * seconds)


def time_per_second(pair, lengths: list[float], repeats: int = 2) -> dict[str, float]:
    """Seconds of sampling and of the vocoder per second of sound, one sample at a time (best of ``repeats``)."""
    out = {}
    for seconds in lengths:
        settings = resolve_settings({"image_prompt": "star", "audio_prompt": "drone", "seconds": seconds}, pair=pair.entry)
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            canvas = draw_canvases([settings], [0], pair, batch_size=1)[1][0]
            play(pair, canvas)
            best = min(best, time.perf_counter() - started)
        out[f"{seconds:g} s"] = best / seconds
    return out


def measure_recordings(pair, judges, per_class: int, strengths: list[float]) -> dict:
    """The strength table (and imprint's row, and the best strength without the audio prompt)."""
    with tempfile.TemporaryDirectory() as folder:
        made = recordings(Path(folder), per_class)
        rows = [PromptPair(where=f"{word}/{path.name}/{shape}", options={
            "image_prompt": shape, "audio_prompt": word, "init_audio": str(path), "seed": k})
            for k, ((word, path), shape) in enumerate((r, s) for r in made for s in IMAGE_CLASSES)]
        table = {"imprint (the shape carved into the recording)": rate(
            study_records(pair, judges, rows, method="imprint", options={"n": 1}, batch_size=8))}
        for strength in strengths:
            table[f"denoise, strength {strength:g}"] = rate(
                study_records(pair, judges, rows, method="denoise", options={"n": 1, "strength": strength},
                              batch_size=8))
            print(f"strength {strength:g}: {table[f'denoise, strength {strength:g}']}", flush=True)
        best = max((k for k in table if k.startswith("denoise")), key=lambda k: table[k]["rate"])
        strength = float(best.rsplit(" ", 1)[1])
        silent = [PromptPair(where=r.where, options={**r.options, "audio_prompt": ""}) for r in rows]
        table[f"denoise, strength {strength:g}, no audio prompt"] = rate(
            study_records(pair, judges, silent, method="denoise", options={"n": 1, "strength": strength},
                          batch_size=8, judged_as=[{"image": r.options["image_prompt"],
                                                    "audio": r.options["audio_prompt"]} for r in rows]))
    return {"table": table, "best": best,
            "ratio_to_imprint": table[best]["rate"] / max(table[next(iter(table))]["rate"], 1e-9)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recordings", type=int, default=2, help="recordings per sound class")
    p.add_argument("--strengths", default="0.3,0.4,0.5,0.6,0.7,0.8,0.9,1.0")
    p.add_argument("--lengths", default="2,8,16")
    p.add_argument("--skip-lengths", action="store_true")
    p.add_argument("--skip-recordings", action="store_true")
    p.add_argument("--length-rows", type=int, default=64, help="class pairs for the lengths (64: all)")
    p.add_argument("--out", default="init.json")
    p.add_argument("--markdown", default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    pair = load_pair(Runtime(pair="pocket"))
    judges = pair.entry.scoring.load(ScorerRequest())
    result: dict = {"fresh_seed": FRESH_SEED, "recordings_per_class": args.recordings}
    lines = []
    if not args.skip_recordings:
        started = time.perf_counter()
        result["recordings"] = measure_recordings(pair, judges, args.recordings,
                                                  [float(x) for x in args.strengths.split(",")])
        result["recordings_seconds"] = round(time.perf_counter() - started, 1)
        lines += ["| start from a recording | success (both judges right) | 95% interval | image right | "
                  "sound right | n |", "|---|---:|---:|---:|---:|---:|"]
        lines += [f"| {k} | {v['rate']:.1%} | {v['low']:.1%}–{v['high']:.1%} | {v['image']:.1%} | "
                  f"{v['sound']:.1%} | {v['n']} |" for k, v in result["recordings"]["table"].items()]
        lines += ["", f"Best: {result['recordings']['best']}, "
                      f"{result['recordings']['ratio_to_imprint']:.2f}× imprint's success."]
    if not args.skip_lengths:
        class_rows = [PromptPair(where=f"{i}+{s}", options={"image_prompt": i, "audio_prompt": s, "seed": k})
                      for k, (i, s) in enumerate((i, s) for i in IMAGE_CLASSES for s in SOUND_CLASSES)]
        class_rows = class_rows[:: max(1, len(class_rows) // args.length_rows)][: args.length_rows]
        lengths = {}
        for seconds in (float(x) for x in args.lengths.split(",")):
            verdicts, seams, cost = per_window(pair, judges, class_rows, seconds=seconds)
            lengths[f"{seconds:g} s"] = {**rate(verdicts), **seams, "compute_seconds_per_second": cost}
            print(f"{seconds:g} s: {lengths[f'{seconds:g} s']}", flush=True)
        result["lengths"] = lengths
        result["seconds_per_second"] = time_per_second(pair, [float(x) for x in args.lengths.split(",")])
        lines += ["", "| canvas | success per 2 s window | 95% interval | windows judged | seam: join / elsewhere | "
                      "s per s of sound, one sample |", "|---|---:|---:|---:|---:|---:|"]
        for k, v in lengths.items():
            seam = f"{v['seam_ratio_mean_over_steps']:.3f}" if "seam_ratio_mean_over_steps" in v else "–"
            lines.append(f"| {k} | {v['rate']:.1%} | {v['low']:.1%}–{v['high']:.1%} | {v['n']} | {seam} | "
                         f"{result['seconds_per_second'][k]:.2f} |")
    markdown = "\n".join(lines) + "\n"
    print(markdown)
    Path(args.out).write_text(json.dumps(result, indent=2))
    if args.markdown:
        Path(args.markdown).write_text(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
