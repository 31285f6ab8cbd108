"""`spectrocanvas compare`: the paper's comparison of its method with the baselines, for any pair.

Every method makes samples of every prompt pair (``OUT/<method>/pair_…/sample_…``, resumable like
`generate --pairs`; batched across prompt pairs; split across the processes of an accelerate launch),
everything is scored by the pair's scorer (:mod:`spectrocanvas.measure.evaluate`),
and a table in the paper's form is written: a row per method, the single-model references last.
The prompt pairs, methods and samples per pair default to the pair's own comparison (the paper's
examples for SD 1.5 + Auffusion; every class pair of the pocket pair, each with its own seeds).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spectrocanvas.files.atomic import write_text
from spectrocanvas.generate.methods import METHODS, get_method, reference_last
from spectrocanvas.generate.prompt_files import PromptPair, read_prompt_pairs
from spectrocanvas.generate.runs import add_videos, make_runs, pair_runs
from spectrocanvas.measure.evaluate import Evaluation, evaluate
from spectrocanvas.measure.tables import summary_table
from spectrocanvas.pairs.interface import PairEntry, Runtime, Scorer, ScorerRequest
from spectrocanvas.pairs.registry import get_pair
from spectrocanvas.support.processes import current_processes

COMPARISON_MD, COMPARISON_CSV = "comparison.md", "comparison.csv"


@dataclass(frozen=True)
class ComparisonResult:
    """The comparison table (markdown, csv), the evaluation under it, and the samples given a video."""

    markdown: str
    csv: str
    evaluation: Evaluation
    videos: tuple[Path, ...] = ()


def method_labels(methods: Sequence[str], entry: PairEntry) -> dict[str, str]:
    """Row labels: the method's label (single models named after the pair's model), references marked, and its key."""
    return {m: f"{METHODS[m].label_for(entry)}{' — reference' if METHODS[m].reference else ''} (`{m}`)"
            for m in methods}


def comparison_pairs(entry: PairEntry, *, pairs_file: str | Path | None, seed: int, n: int) -> list[PromptPair]:
    """The prompt pairs to compare on: the file's, else the pair's own."""
    comparison = entry.comparison
    if pairs_file is not None or comparison.prompt_file is not None:
        return read_prompt_pairs(pairs_file if pairs_file is not None else comparison.prompt_file)
    rows = comparison.prompt_pairs(seed, n) if comparison.prompt_pairs is not None else []
    return [PromptPair(where=f"{entry.name} pair {k}", options=row) for k, row in enumerate(rows)]


def compare(*, output: str | Path, pairs_file: str | Path | None = None, methods: Sequence[str] | None = None,
            options: Mapping[str, Any] | None = None, runtime: Runtime | None = None, overwrite: bool = False,
            scorer_models: Mapping[str, str] | None = None, scorer: Scorer | None = None,
            rescore: bool = False, on_table: Callable[[ComparisonResult], None] | None = None) -> ComparisonResult:
    """Generate with each method over the prompt pairs, score everything, write OUT/comparison.md and .csv.

    What the table needs comes first: the samples without their videos, the scores, the table
    (``on_table(result)`` is called once it is written); then, with ``runtime.video``, the videos.
    ``options``: settings for every method (flat names, ``None`` where not set), so each method's
    own defaults apply; options a method fixes or does not read are ignored for it. ``-n`` unset:
    the pair's samples per prompt pair.
    """
    runtime = runtime or Runtime()
    entry = get_pair(runtime.pair)
    entry.check_runtime(runtime)
    names = list(methods) if methods is not None else list(entry.comparison.methods)
    for name in names:
        get_method(name)
    options = dict(options or {})
    if options.get("n") is None:
        options["n"] = entry.comparison.samples_per_pair
    rows = comparison_pairs(entry, pairs_file=pairs_file, seed=int(options.get("seed") or 0), n=int(options["n"]))
    output = Path(output)
    runs = [run for name in names  # bad settings are refused before any method runs
            for run in pair_runs(output / name, rows, options=options, method=name, entry=entry, strict=False)]
    wanted = None if scorer is not None else ScorerRequest(models=dict(scorer_models or {}), device=runtime.device,
                                                            offline=runtime.offline)
    samples = make_runs(runs, dataclasses.replace(runtime, video=False), overwrite=overwrite, scorer=wanted)
    evaluation = evaluate(output, scorer_models=scorer_models, device=runtime.device, offline=runtime.offline,
                          rescore=rescore, scorer=scorer, progress=runtime.progress)
    records = [r for r in evaluation.records if r["folder"].split("/", 1)[0] in names]
    markdown, table_csv = summary_table(records, entry.scoring.columns, order=reference_last(names),
                                        labels=method_labels(names, entry), heading="Method")
    result = ComparisonResult(markdown=markdown, csv=table_csv, evaluation=evaluation)
    if current_processes().is_main:
        write_text(output / COMPARISON_MD, markdown)
        write_text(output / COMPARISON_CSV, table_csv)
        if on_table is not None:
            on_table(result)
    if runtime.video:
        result = dataclasses.replace(result, videos=tuple(add_videos(samples, progress=runtime.progress)))
    return result
