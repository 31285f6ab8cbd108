"""In-memory studies of a model pair: every method on many prompt pairs, scored by the pair's
scorer without writing a file, and a sweep of the settings that matter.

The twin of `spectrocanvas compare` (the same prompt pairs, settings, seeds and samples, drawn in
large batches that span prompt pairs; each canvas played through the pair's vocoder as `generate`
plays it), fast enough to sweep settings:

    python -m spectrocanvas.measure.study --pair pocket [--n 4] [--set steps=20 …] [--sweep] \\
        --out result.json [--markdown result.md]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.files.atomic import write_text
from spectrocanvas.files.records import write_json
from spectrocanvas.generate.drawing import draw, play
from spectrocanvas.generate.methods import parse_methods, reference_last
from spectrocanvas.generate.prompt_files import PromptPair
from spectrocanvas.generate.resolve import resolve_settings, settings_table
from spectrocanvas.generate.runs import load_pair, plan_pairs
from spectrocanvas.measure.compare import comparison_pairs, method_labels
from spectrocanvas.measure.tables import markdown_table, summary_rows, summary_table
from spectrocanvas.pairs.interface import ModelPair, Runtime, ScoredSample, Scorer, ScorerRequest

SWEEP: dict[str, tuple[float, ...]] = {
    "audio_weight": (0.15, 0.2, 0.25, 0.3, 0.4, 0.5),
    "image_start": (0, 5, 10),
    "audio_start": (0, 3, 10),
    "image_guidance": (5.0, 7.5, 10.0, 15.0),
    "audio_guidance": (3.0, 5.0, 7.5),
}
"""Settings swept for ``denoise`` (one at a time, the others as given): the audio model's share, the
paper's warm start (the audio model alone for that many steps), its reverse, and each guidance."""


def study_records(pair: ModelPair, scorer: Scorer, rows: Sequence[PromptPair], *, method: str,
                  options: Mapping[str, Any], batch_size: int = 128,
                  judged_as: Sequence[Mapping[str, str]] | None = None) -> list[dict[str, Any]]:
    """One record per sample of ``method`` on every row (the row's settings over ``options``): its
    method, prompts, seed and the scorer's fields; in row order, sample order within a row.

    ``judged_as``: per row, the prompts its samples are scored against, where they differ from
    those it is drawn with (a recording composed without an audio prompt, scored against its class)."""
    planned = plan_pairs(rows, options=options, method=method, entry=pair.entry, strict=False)
    jobs = [(settings, settings.seed + i) for settings in planned for i in range(settings.n)]
    scored_prompts = [prompts for k, settings in enumerate(planned) for prompts in
                      [dict(judged_as[k]) if judged_as is not None else settings.prompts()] * settings.n]
    records: list[dict[str, Any] | None] = [None] * len(jobs)
    for drawn in draw([s for s, _ in jobs], [seed for _, seed in jobs], pair, batch_size=batch_size):
        samples = []
        for row, position in enumerate(drawn.positions):
            waveform = play(pair, drawn.canvases[row], loop=jobs[position][0].loop)
            samples.append(ScoredSample(canvas=drawn.canvases[row], waveform=waveform,
                                        sample_rate=pair.spec.sample_rate, prompts=scored_prompts[position]))
        for position, sample, fields in zip(drawn.positions, samples, scorer.score(samples)):
            records[position] = {"method": method, "seed": jobs[position][1],
                                 **{f"{role}_prompt": p for role, p in sample.prompts.items()}, **fields}
    return [r for r in records if r is not None]


def methods_table(pair: ModelPair, scorer: Scorer, rows: Sequence[PromptPair], *, methods: Sequence[str],
                  options: Mapping[str, Any], batch_size: int = 128) -> list[dict[str, Any]]:
    """Records of every method (see :func:`study_records`)."""
    return [r for m in methods for r in study_records(pair, scorer, rows, method=m, options=options,
                                                      batch_size=batch_size)]


def sweep(pair: ModelPair, scorer: Scorer, rows: Sequence[PromptPair], *, options: Mapping[str, Any],
          values: Mapping[str, Sequence[Any]] = SWEEP, batch_size: int = 128) -> list[dict[str, Any]]:
    """``denoise`` over ``rows`` for each value of each swept setting, the others as ``options`` have
    them (unset: the pair's defaults); the value the base already has is measured once and reused.
    Returns one summary row per (setting, value)."""
    base = resolve_settings({**options, **rows[0].options}, pair=pair.entry).options()
    at_base: list[dict[str, Any]] | None = None
    out = []
    for setting, choices in values.items():
        for value in choices:
            if value == base[setting] and at_base is not None:
                records = at_base
            else:
                records = study_records(pair, scorer, rows, method="denoise", options={**options, setting: value},
                                        batch_size=batch_size)
                at_base = records if value == base[setting] else at_base
            summary = summary_rows(records, pair.entry.scoring.columns)[0]
            out.append({**summary, "group": f"{setting} = {value:g}", "setting": setting, "value": value})
    return out


def _parse_sets(pairs: Sequence[str]) -> dict[str, Any]:
    """``["steps=20", "audio_weight=0.3"]`` → typed settings, by the schema."""
    table = settings_table()
    options: dict[str, Any] = {}
    for item in pairs:
        name, _, text = item.partition("=")
        if name not in table or not _:
            raise SpectrocanvasError(f"--set takes NAME=VALUE with a setting's name ({', '.join(table)}), not {item!r}")
        try:
            options[name] = table[name].parse(text)
        except ValueError as error:
            raise SpectrocanvasError(str(error)) from None
    return options


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m spectrocanvas.measure.study", description=__doc__.splitlines()[0])
    p.add_argument("--pair", default=None, help="a model pair of the registry (default: the paper's)")
    p.add_argument("--pairs", default=None, metavar="FILE", help="prompt pairs (default: the pair's comparison)")
    p.add_argument("--methods", default=None, help="comma-separated (default: the pair's comparison)")
    p.add_argument("--n", type=int, default=None, help="samples per prompt pair (default: the pair's comparison)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a setting, by its schema name")
    p.add_argument("--sweep", action="store_true", help="also sweep audio weight, warm starts and guidance")
    p.add_argument("--batch", type=int, default=128, help="samples per batch")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", required=True, help="result JSON")
    p.add_argument("--markdown", help="also write the tables as markdown here")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        pair = load_pair(Runtime(pair=args.pair))
        entry = pair.entry
        scorer = entry.scoring.load(ScorerRequest())
        n = args.n or entry.comparison.samples_per_pair
        options = {**_parse_sets(args.set), "n": n, "seed": args.seed}
        rows = comparison_pairs(entry, pairs_file=args.pairs, seed=args.seed, n=n)
        methods = parse_methods(args.methods) if args.methods else list(entry.comparison.methods)
        started = time.perf_counter()
        records = methods_table(pair, scorer, rows, methods=methods, options=options, batch_size=args.batch)
        order = reference_last(methods)
        result: dict[str, Any] = {"pair": entry.name, "prompt_pairs": len(rows), "options": options,
                                  "methods": {row["group"]: row for row in summary_rows(records, entry.scoring.columns,
                                                                                       order=order)}}
        markdown = summary_table(records, entry.scoring.columns, order=order, labels=method_labels(methods, entry),
                                 heading="Method")[0]
        if args.sweep:
            result["sweep"] = sweep(pair, scorer, rows, options=options, batch_size=args.batch)
            markdown += "\n" + markdown_table(result["sweep"], entry.scoring.columns, heading="Setting")
        result["seconds"] = round(time.perf_counter() - started, 1)
    except SpectrocanvasError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    print(markdown)
    write_json(Path(args.out), result)
    if args.markdown:
        write_text(args.markdown, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
