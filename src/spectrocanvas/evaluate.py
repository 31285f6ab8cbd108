"""`spectrocanvas evaluate`: CLIP and CLAP scores of generated samples, written into their meta.json,
and a table of mean ± 95 % CI per method (and per run, when there are several).

As the paper scores them: CLIP on the canvas (``canvas.png``, the picture the spectrogram shows)
against the sample's image prompt, CLAP on ``audio.wav`` (at the file's own sample rate) against
its audio prompt. See :mod:`spectrocanvas.scores` for the recipes.

Samples of the pocket pair (``--preset pocket``) are judged by the pocket classifiers instead
(:mod:`spectrocanvas.pocket.judges`), and their table is a success rate with a 95 % interval.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.outputs import read_json, write_json
from spectrocanvas.stats import SCORE_KEYS, summary_table

SCORES_MD, SCORES_CSV = "scores.md", "scores.csv"
SAMPLE_FILES = ("meta.json", "canvas.png", "audio.wav")


@dataclass(frozen=True)
class Scorers:
    """The CLIP and CLAP scorers of one evaluation."""

    clip: Any
    clap: Any
    keys = SCORE_KEYS

    @classmethod
    def load(cls, *, clip_model: str | None = None, clap_model: str | None = None, device: str | None = None,
             offline: bool | None = None) -> "Scorers":
        """Both scorers, loaded once per process (``None``: the paper's models)."""
        from spectrocanvas.scores import CLAP_PRESET, CLIP_PRESET, ClapScorer, ClipScorer

        return cls(clip=ClipScorer.shared(clip_model or CLIP_PRESET, device=device, offline=offline),
                   clap=ClapScorer.shared(clap_model or CLAP_PRESET, device=device, offline=offline))

    def describe(self) -> dict[str, Any]:
        return {"clip": self.clip.describe(), "clap": self.clap.describe()}

    def score_batch(self, folders: Sequence[Path], metas: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """``clip_score`` and ``clap_score`` of each sample folder (canvas.png, audio.wav)."""
        clip = self.clip.score([read_canvas(f / "canvas.png") for f in folders], [prompt_of(m, "image") for m in metas])
        clap: list[float] = [0.0] * len(folders)
        sounds = [read_waveform(f / "audio.wav") for f in folders]
        for rate in dict.fromkeys(r for _, r in sounds):  # one call per sample rate
            rows = [i for i, (_, r) in enumerate(sounds) if r == rate]
            values = self.clap.score([sounds[i][0] for i in rows], [prompt_of(metas[i], "audio") for i in rows],
                                     sample_rate=rate)
            for i, value in zip(rows, values.tolist()):
                clap[i] = value
        return [{"clip_score": c, "clap_score": a} for c, a in zip(clip.tolist(), clap)]


def is_pocket(meta: dict[str, Any]) -> bool:
    """Whether a sample's meta.json says the pocket pair made it."""
    models = meta.get("models")
    return isinstance(models, dict) and models.get("preset") == "pocket"


def samples_preset(folders: Sequence[Path]) -> str | None:
    """``"pocket"`` when every sample is a pocket sample, None when none is; mixed folders are refused."""
    kinds = {is_pocket(read_json(f / "meta.json")) for f in folders}
    if kinds == {True, False}:
        raise SpectrocanvasError("these samples mix the pocket pair with the real pair, which are judged "
                                 "differently; evaluate their folders separately")
    return "pocket" if kinds == {True} else None


def load_scorers(preset: str | None, *, clip_model: str | None = None, clap_model: str | None = None,
                 device: str | None = None, offline: bool | None = None) -> Any:
    """The scorers for samples of ``preset``: the pocket judges, or CLIP and CLAP."""
    if preset == "pocket":
        from spectrocanvas.pocket.judges import PocketJudges

        return PocketJudges.load()
    return Scorers.load(clip_model=clip_model, clap_model=clap_model, device=device, offline=offline)


# ---- finding and reading samples -------------------------------------------------------------------------
def find_samples(root: str | Path) -> list[Path]:
    """Every sample folder that `generate` wrote under ``root`` (itself included), sorted.

    A sample folder holds meta.json (with ``"command": "generate"``), canvas.png and audio.wav;
    hidden folders (staging folders of a killed run) are skipped.
    """
    root = Path(root)
    if not root.is_dir():
        raise SpectrocanvasError(f"'{root}' is not a folder")
    found = []
    for meta in root.rglob("meta.json"):
        folder = meta.parent
        relative = folder.relative_to(root).parts
        if any(part.startswith(".") for part in relative):
            continue
        if all((folder / name).is_file() for name in SAMPLE_FILES) and _is_generated(meta):
            found.append(folder)
    return sorted(found)


def _is_generated(meta: Path) -> bool:
    try:
        return read_json(meta).get("command") == "generate"
    except (ValueError, OSError):
        return False


def read_canvas(path: str | Path) -> torch.Tensor:
    """canvas.png → (H, W) in [0, 1]."""
    from spectrocanvas.pictures import open_picture, picture_to_gray

    return picture_to_gray(open_picture(path))


def read_waveform(path: str | Path) -> tuple[np.ndarray, int]:
    """audio.wav → (mono float64 samples (N,), the file's sample rate)."""
    import soundfile

    try:
        samples, rate = soundfile.read(str(path), dtype="float64", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as error:
        raise SpectrocanvasError(f"cannot read '{path}' ({error})") from None
    return samples.mean(axis=1), int(rate)


def is_scored(meta: dict[str, Any], keys: Sequence[str] = SCORE_KEYS) -> bool:
    return all(meta.get(key) is not None for key in keys)


def prompt_of(meta: dict[str, Any], which: str) -> str:
    prompt = meta.get(f"{which}_prompt") or meta.get("prompts", {}).get(which)
    if not prompt:
        raise SpectrocanvasError(f"meta.json has no {which} prompt to score against")
    return prompt


# ---- scoring ------------------------------------------------------------------------------------------------
def score_samples(folders: Iterable[str | Path], scorers: Any, *, rescore: bool = False,
                  batch_size: int = 8, progress: bool = False) -> list[Path]:
    """Score the sample folders that lack scores (all of them with ``rescore``); returns those scored.

    ``scorers``: :class:`Scorers` (each meta.json gets ``clip_score`` and ``clap_score``) or
    :class:`spectrocanvas.pocket.judges.PocketJudges` (the judges' fields); also ``scorers``,
    what made them. meta.json is rewritten atomically.
    """
    from spectrocanvas.progress import progress_bar
    from spectrocanvas.sampler import batched

    keys = scorers.keys
    todo = [Path(f) for f in folders if rescore or not is_scored(read_json(Path(f) / "meta.json"), keys)]
    bar = progress_bar(total=len(todo), desc="scoring", enabled=progress and bool(todo), unit="sample")
    described = scorers.describe()
    for batch in batched(todo, batch_size):
        metas = [read_json(f / "meta.json") for f in batch]
        for folder, meta, fields in zip(batch, metas, scorers.score_batch(batch, metas)):
            write_json(folder / "meta.json", {**meta, **fields, "scorers": described})
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    return todo


# ---- tables -------------------------------------------------------------------------------------------------
def sample_records(folders: Sequence[str | Path], root: str | Path,
                   keys: Sequence[str] = SCORE_KEYS) -> list[dict[str, Any]]:
    """One record per sample: folder and run (relative to ``root``), method, its scores ``keys``
    (and the judges' verdicts for pocket samples)."""
    from spectrocanvas.pocket.judges import RIGHT_KEYS

    root = Path(root)
    records = []
    for folder in folders:
        folder = Path(folder)
        meta = read_json(folder / "meta.json")
        run = folder.parent.relative_to(root).as_posix() if folder != root else "."
        records.append({"folder": folder.relative_to(root).as_posix(), "run": run,
                        "method": meta.get("method", "denoise"),
                        **{key: meta.get(key) for key in keys},
                        **({key: meta.get(key) for key in RIGHT_KEYS} if is_pocket(meta) else {})})
    return records


def score_tables(records: Sequence[dict[str, Any]], preset: str | None = None) -> tuple[str, str]:
    """(markdown, csv) of mean ± 95 % CI per method, and per run when the samples span several runs.

    CSV columns: ``by`` (method or run), ``group``, ``n``, then mean, CI half width and count of
    each score. Pocket samples (``preset="pocket"``): success rate with its 95 % Wilson interval
    and each judge's rate instead.
    """
    from spectrocanvas.pocket.judges import success_table

    levels = ["method"] + (["run"] if len({r["run"] for r in records}) > 1 else [])
    markdown, rows = [], []
    header: list[str] | None = None
    for level in levels:
        table, table_csv = (success_table(records, group_key=level) if preset == "pocket"
                            else summary_table(records, group_key=level))
        markdown.append(f"## By {level}\n\n{table}")
        parsed = list(csv.reader(io.StringIO(table_csv)))
        header = ["by", "group"] + parsed[0][1:]
        rows += [[level] + row for row in parsed[1:]]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return "\n".join(markdown), out.getvalue()


def write_text(path: str | Path, text: str) -> None:
    """Write a text file through a temporary file, so a reader never sees half of it."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


@dataclass(frozen=True)
class Evaluation:
    """What :func:`evaluate` did: every sample's record, the samples newly scored, and the tables."""

    records: list[dict[str, Any]]
    scored: list[Path]
    markdown: str
    csv: str
    preset: str | None = None


def _keys(preset: str | None) -> tuple[str, ...]:
    from spectrocanvas.pocket.judges import JUDGE_KEYS

    return JUDGE_KEYS if preset == "pocket" else SCORE_KEYS


def evaluate(root: str | Path, *, clip_model: str | None = None, clap_model: str | None = None,
             device: str | None = None, offline: bool | None = None, rescore: bool = False,
             scorers: Any = None, progress: bool = False) -> Evaluation:
    """Score every sample under ``root`` (skipping scored ones unless ``rescore``); write
    ``root/scores.md`` and ``root/scores.csv`` (replaced on each call).

    The scorers follow the samples: the pocket judges for pocket samples, else CLIP and CLAP
    (``scorers`` overrides the choice)."""
    root = Path(root)
    folders = find_samples(root)
    if not folders:
        raise SpectrocanvasError(f"no generated samples under '{root}' (folders with {', '.join(SAMPLE_FILES)})")
    preset = samples_preset(folders)
    keys = scorers.keys if scorers is not None else _keys(preset)
    needed = rescore or any(not is_scored(read_json(f / "meta.json"), keys) for f in folders)
    if needed and scorers is None:
        scorers = load_scorers(preset, clip_model=clip_model, clap_model=clap_model, device=device, offline=offline)
    scored = score_samples(folders, scorers, rescore=rescore, progress=progress) if needed else []
    records = sample_records(folders, root, keys)
    markdown, table_csv = score_tables(records, preset)
    write_text(root / SCORES_MD, markdown)
    write_text(root / SCORES_CSV, table_csv)
    return Evaluation(records=records, scored=scored, markdown=markdown, csv=table_csv, preset=preset)
