"""`spectrocanvas compare`: the paper's comparison of its method with the baselines.

Every method makes samples of every prompt pair (``OUT/<method>/pair_…/sample_…``, resumable like
`generate --pairs`), everything is scored (:mod:`spectrocanvas.evaluate`), and a table in the
paper's form is written: one row per method, CLIP and CLAP as mean ± 95 % CI, the single-model
references last.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.evaluate import Evaluation, evaluate, write_text
from spectrocanvas.methods import METHODS, method_settings, parse_methods
from spectrocanvas.stats import SCORE_KEYS, mean_ci

PAIRS_FILE = Path(__file__).parent / "data" / "paper_pairs.jsonl"
"""The paper's example prompt pairs (its figures and the official example configs)."""

DEFAULT_METHODS = ("denoise", "imprint", "sds", "image-only", "audio-only")
POCKET_METHODS = ("denoise", "imprint", "image-only", "audio-only")
"""The pocket comparison's rows (SDS runs with the pocket pair too, when asked for)."""
REFERENCES = ("image-only", "audio-only")
"""Rows that are single-model references, not ways to make images that sound."""
COMPARISON_MD, COMPARISON_CSV = "comparison.md", "comparison.csv"


@dataclass(frozen=True)
class Comparison:
    """The comparison table (markdown, csv) and the evaluation under it."""

    markdown: str
    csv: str
    evaluation: Evaluation


def comparison_table(records: Sequence[Mapping[str, Any]], methods: Sequence[str], *,
                     confidence: float = 0.95, decimals: int = 2) -> tuple[str, str]:
    """(markdown, csv): a row per method in ``methods`` (references last), CLIP and CLAP mean ± CI, n."""
    order = reference_last(methods)
    lines = ["| Method | CLIP ↑ | CLAP ↑ | n |", "|---|---:|---:|---:|"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["method", "label", "n"] + [f"{k}_{p}" for k in SCORE_KEYS for p in ("mean", "ci")])
    for name in order:
        rows = [r for r in records if r.get("method") == name]
        label = METHODS[name].label + (" — reference" if name in REFERENCES else "")
        cells, fields = [], []
        for key in SCORE_KEYS:
            values = [float(r[key]) for r in rows if r.get(key) is not None]
            if not values:
                cells.append("–")
                fields += ["", ""]
                continue
            mean, half, _ = mean_ci(values, confidence)
            cells.append(f"{mean:.{decimals}f}" + ("" if math.isnan(half) else f" ± {half:.{decimals}f}"))
            fields += [f"{mean:.6f}", "" if math.isnan(half) else f"{half:.6f}"]
        lines.append(f"| {label} (`{name}`) | {cells[0]} | {cells[1]} | {len(rows)} |")
        writer.writerow([name, label, len(rows)] + fields)
    note = f"\nMean ± {confidence * 100:g}% confidence interval (t) over all samples of all prompt pairs.\n"
    return "\n".join(lines) + "\n" + note, out.getvalue()


def default_methods(preset: str | None) -> tuple[str, ...]:
    """The rows a comparison has when none are asked for."""
    return POCKET_METHODS if preset == "pocket" else DEFAULT_METHODS


def method_labels(methods: Sequence[str], preset: str | None = None) -> dict[str, str]:
    """Row labels: the method's name, and its key, with references marked (the real models'
    names left out of the labels for another pair)."""
    def label(m: str) -> str:
        text = METHODS[m].label
        return text.replace(" (SD)", "").replace(" (Auffusion)", "") if preset is not None else text

    return {m: f"{label(m)}{' — reference' if m in REFERENCES else ''} (`{m}`)" for m in methods}


def reference_last(methods: Sequence[str]) -> list[str]:
    return [m for m in methods if m not in REFERENCES] + [m for m in methods if m in REFERENCES]


POCKET_SAMPLES_PER_PAIR = 4
"""compare --preset pocket's default -n: 64 pairs × 4 = 256 samples per method (about ±6 points
of 95 % interval on a success rate; 10 minutes on the 2-core CPU), as measured in BENCHMARKS.md."""


def pocket_pairs(options: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every pocket class pair, pair k with its own seeds (``seed + k·n + i``, as
    :func:`spectrocanvas.pocket.compose.pair_seeds`), so that no two samples share their noise."""
    from spectrocanvas.pocket.vocab import class_pairs

    seed, n = int(options.get("seed") or 0), int(options.get("n") or 1)
    return [{**pair, "seed": seed + k * n} for k, pair in enumerate(class_pairs())]


def compare(*, output: str | Path, pairs_file: str | Path | None = None,
            methods: Sequence[str] | str | None = None, options: Mapping[str, Any] | None = None,
            runtime: Any = None, overwrite: bool = False, clip_model: str | None = None,
            clap_model: str | None = None, scorers: Any = None, rescore: bool = False) -> Comparison:
    """Generate with each method over the pairs, score everything, write OUT/comparison.md and .csv.

    ``options``: generate settings for every method, ``None`` where not set, so each method's own
    defaults apply (see :func:`spectrocanvas.methods.method_settings`; options a method fixes or
    does not read are ignored for it). ``runtime``: a :class:`spectrocanvas.generate.Runtime`.
    """
    from spectrocanvas.generate import GenerateSettings, Runtime, generate_pairs

    runtime = runtime or Runtime()
    preset = getattr(runtime, "preset", None)
    methods = default_methods(preset) if methods is None else methods
    names = parse_methods(methods) if isinstance(methods, str) else list(methods)
    for name in names:
        if name not in METHODS:
            raise SpectrocanvasError(f"unknown method '{name}'; choose from {', '.join(METHODS)}")
    if pairs_file is not None:
        source: dict[str, Any] = {"pairs_file": Path(pairs_file)}
    elif preset == "pocket":
        source = {"pairs": pocket_pairs(options or {})}
    else:
        source = {"pairs_file": PAIRS_FILE}
    output = Path(output)
    planned = [(name, method_settings(name, dict(options or {}), strict=False, preset=preset)) for name in names]
    for name, settings in planned:  # refuse bad settings before any method runs
        GenerateSettings(image_prompt="-", audio_prompt="-", **settings).validate()
    for name, settings in planned:
        generate_pairs(**source, output=output / name, runtime=runtime, overwrite=overwrite, **settings)
    evaluation = evaluate(output, clip_model=clip_model, clap_model=clap_model, device=runtime.device,
                          offline=runtime.offline, rescore=rescore, scorers=scorers, progress=runtime.progress)
    records = [r for r in evaluation.records if r["folder"].split("/", 1)[0] in names]
    if evaluation.preset == "pocket":
        from spectrocanvas.pocket.judges import success_table

        markdown, table_csv = success_table(records, order=reference_last(names), labels=method_labels(names, preset),
                                            heading="Method")
    else:
        markdown, table_csv = comparison_table(records, names)
    write_text(output / COMPARISON_MD, markdown)
    write_text(output / COMPARISON_CSV, table_csv)
    return Comparison(markdown=markdown, csv=table_csv, evaluation=evaluation)
