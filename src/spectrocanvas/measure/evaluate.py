"""`spectrocanvas evaluate`: score generated samples with their pair's scorer, write the scores into
each meta.json, and tabulate them per method (and per run, when there are several).

The scorer follows the samples (their meta.json names the pair): for SD 1.5 + Auffusion, CLIP on
``canvas.png`` against the image prompt and CLAP on ``audio.wav`` against the audio prompt, as the
paper scores them (:mod:`spectrocanvas.pairs.clip_clap`); for the pocket pair, its judges
(:mod:`spectrocanvas.pairs.pocket.judges`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.files.atomic import write_text
from spectrocanvas.files.records import read_json, write_json
from spectrocanvas.files.samples import SAMPLE_FILES, find_samples, prompt_of, read_canvas, read_sample_sound
from spectrocanvas.measure.tables import summary_table
from spectrocanvas.pairs.interface import ROLES, PairEntry, ScoredSample, Scorer, ScorerRequest
from spectrocanvas.pairs.registry import get_pair, pair_of_sample
from spectrocanvas.support.batching import batched
from spectrocanvas.support.processes import current_processes
from spectrocanvas.support.progress import progress_bar

SCORES_MD, SCORES_CSV = "scores.md", "scores.csv"


def samples_pair(folders: Sequence[Path]) -> PairEntry:
    """The pair that made every one of these samples; samples of several pairs are refused (they are
    scored differently)."""
    names = {pair_of_sample(read_json(f / "meta.json")) for f in folders}
    if len(names) > 1:
        raise SpectrocanvasError(f"these samples were made by different model pairs ({', '.join(sorted(names))}), "
                                 "which are scored differently; evaluate their folders separately")
    return get_pair(names.pop())


def is_scored(meta: Mapping[str, Any], keys: Sequence[str]) -> bool:
    """Whether the scorer ran on the sample (a score may be None: a sample composed without a
    prompt for one side has nothing to be scored against there)."""
    return "scorers" in meta and all(key in meta for key in keys)


def read_scored_sample(folder: Path, meta: Mapping[str, Any]) -> ScoredSample:
    """What a scorer judges of a sample folder: canvas.png, its sound at its own rate and at the canvas's
    level (as drawn: a file brought to a peak is divided by the gain), the prompts."""
    waveform, rate = read_sample_sound(folder, meta)
    return ScoredSample(canvas=read_canvas(folder / "canvas.png"), waveform=waveform, sample_rate=rate,
                        prompts={role: prompt_of(meta, role) for role in ROLES})


def score_samples(folders: Iterable[str | Path], scorer: Scorer, keys: Sequence[str], *, rescore: bool = False,
                  batch_size: int = 8, progress: bool = False) -> list[Path]:
    """Score the sample folders that lack the scores ``keys`` (all of them with ``rescore``); returns those scored.

    Each meta.json gets the scorer's fields and ``scorers`` (what made them), rewritten atomically.
    """
    todo = [Path(f) for f in folders if rescore or not is_scored(read_json(Path(f) / "meta.json"), keys)]
    bar = progress_bar(total=len(todo), desc="scoring", enabled=progress and bool(todo), unit="sample")
    described = scorer.describe()
    for batch in batched(todo, batch_size):
        metas = [read_json(f / "meta.json") for f in batch]
        fields = scorer.score([read_scored_sample(f, m) for f, m in zip(batch, metas)])
        for folder, meta, scores in zip(batch, metas, fields):
            write_json(folder / "meta.json", {**meta, **scores, "scorers": described})
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    return todo


def sample_records(folders: Sequence[str | Path], root: str | Path, scorer_keys: Sequence[str]) -> list[dict[str, Any]]:
    """One record per sample: folder and run (relative to ``root``), method, and the given keys of its meta.json."""
    root = Path(root)
    records = []
    for folder in folders:
        folder = Path(folder)
        meta = read_json(folder / "meta.json")
        run = folder.parent.relative_to(root).as_posix() if folder != root else "."
        records.append({"folder": folder.relative_to(root).as_posix(), "run": run,
                        "method": meta.get("method", "denoise"), **{key: meta.get(key) for key in scorer_keys}})
    return records


def record_keys(entry: PairEntry) -> list[str]:
    """The meta.json fields a table of the pair's samples reads."""
    return list(dict.fromkeys([*entry.scoring.keys, *(c.key for c in entry.scoring.columns)]))


def score_tables(records: Sequence[dict[str, Any]], entry: PairEntry) -> tuple[str, str]:
    """(markdown, csv): the pair's score columns per method, and per run when the samples span several runs.

    CSV columns: ``by`` (method or run), ``group``, ``n``, then the columns of
    :func:`~spectrocanvas.measure.tables.summary_table`.
    """
    levels = ["method"] + (["run"] if len({r["run"] for r in records}) > 1 else [])
    markdown, rows = [], []
    header: list[str] = []
    for level in levels:
        table, table_csv = summary_table(records, entry.scoring.columns, group_key=level)
        markdown.append(f"## By {level}\n\n{table}")
        parsed = list(csv.reader(io.StringIO(table_csv)))
        header = ["by", "group"] + parsed[0][1:]
        rows += [[level] + row for row in parsed[1:]]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return "\n".join(markdown), out.getvalue()


@dataclass(frozen=True)
class Evaluation:
    """What :func:`evaluate` did: every sample's record, the samples newly scored, the tables, the pair."""

    records: list[dict[str, Any]]
    scored: list[Path]
    markdown: str
    csv: str
    pair: str


def load_scorer(entry: PairEntry, *, scorer_models: Mapping[str, str] | None = None, device: str | None = None,
                offline: bool | None = None) -> Scorer:
    """The pair's scorer (loaded once per process), with other sources for its models where named."""
    return entry.scoring.load(ScorerRequest(models=dict(scorer_models or {}), device=device, offline=offline))


def evaluate(root: str | Path, *, scorer_models: Mapping[str, str] | None = None, device: str | None = None,
             offline: bool | None = None, rescore: bool = False, scorer: Scorer | None = None,
             progress: bool = False) -> Evaluation:
    """Score every sample under ``root`` (skipping scored ones unless ``rescore``); write
    ``root/scores.md`` and ``root/scores.csv`` (replaced on each call).

    The scorer is the samples' pair's (``scorer`` overrides it), loaded only when a sample needs
    scoring; ``scorer_models`` names other sources for its models (``{"clip": DIR}``). Under an
    accelerate launch each process scores its share of the samples and the main one writes the tables.
    """
    root = Path(root)
    folders = find_samples(root)
    if not folders:
        raise SpectrocanvasError(f"no generated samples under '{root}' (folders with {', '.join(SAMPLE_FILES)})")
    entry = samples_pair(folders)
    keys = entry.scoring.keys
    todo = [f for f in folders if rescore or not is_scored(read_json(f / "meta.json"), keys)]
    processes = current_processes()
    processes.wait()  # every process has listed what is left before any writes a score
    mine = processes.mine(todo)
    if mine:
        scorer = scorer or load_scorer(entry, scorer_models=scorer_models, device=processes.device_for(device),
                                       offline=offline)
        score_samples(mine, scorer, keys, rescore=True, progress=progress and processes.is_main)
    processes.wait()
    records = sample_records(folders, root, record_keys(entry))
    markdown, table_csv = score_tables(records, entry)
    if processes.is_main:
        write_text(root / SCORES_MD, markdown)
        write_text(root / SCORES_CSV, table_csv)
    return Evaluation(records=records, scored=todo, markdown=markdown, csv=table_csv, pair=entry.name)
