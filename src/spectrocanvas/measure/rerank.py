"""`generate --keep-top F`: keep the samples in the top fraction F of every score of their pair's
scorer (CLIP and CLAP for SD 1.5 + Auffusion, both judges' scores for the pocket pair).

The official re-ranking (:func:`spectrocanvas.measure.stats.keep_top_indices`), applied per run folder —
per prompt pair — since the scores of different prompts are not comparable. Nothing is
deleted: the kept sample folders are listed in ``OUT/top.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from spectrocanvas.files.records import read_json, write_json
from spectrocanvas.measure.stats import keep_top_indices, top_count

TOP_FILE = "top.json"


def keep_top_samples(folders: Sequence[str | Path], fraction: float, keys: Sequence[str]) -> dict[Path, list[Path]]:
    """Run folder → its kept sample folders (in order), for scored sample folders grouped by parent."""
    runs: dict[Path, list[Path]] = {}
    for folder in folders:
        runs.setdefault(Path(folder).parent, []).append(Path(folder))
    kept = {}
    for run, samples in runs.items():
        samples = sorted(samples)
        records = [read_json(s / "meta.json") for s in samples]
        kept[run] = [samples[i] for i in keep_top_indices(records, fraction, keys)]
    return kept


def write_top_list(output: str | Path, kept: dict[Path, list[Path]], fraction: float,
                   totals: dict[Path, int], keys: Sequence[str]) -> Path:
    """Write ``output/top.json``: the rule and, per run, how many samples it had and which were kept."""
    output = Path(output)

    def name(path: Path) -> str:
        return path.relative_to(output).as_posix() if path != output else "."

    runs: list[dict[str, Any]] = []
    for run, samples in kept.items():
        records = [read_json(s / "meta.json") for s in samples]
        runs.append({"run": name(run), "samples": totals[run], "top_count": top_count(totals[run], fraction),
                     "kept": [{"folder": name(s), **{k: r.get(k) for k in keys}}
                              for s, r in zip(samples, records)]})
    path = output / TOP_FILE
    write_json(path, {"fraction": fraction, "rule": "in the top ⌊F·N⌋ of every score of its run "
                                                    f"({', '.join(keys)})",
                      "kept": [entry["folder"] for run in runs for entry in run["kept"]], "runs": runs})
    return path


def keep_top_runs(output: str | Path, folders: Sequence[str | Path], fraction: float,
                  keys: Sequence[str]) -> tuple[Path, dict[Path, list[Path]]]:
    """Keep the top ``fraction`` of every run among scored ``folders`` and list them in ``output/top.json``:
    returns the list's path and, per run, the kept sample folders."""
    kept = keep_top_samples(folders, fraction, keys)
    totals: dict[Path, int] = {}
    for folder in folders:
        totals[Path(folder).parent] = totals.get(Path(folder).parent, 0) + 1
    return write_top_list(output, kept, fraction, totals, keys), kept
