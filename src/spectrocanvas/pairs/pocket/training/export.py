"""Ship a trained run: ``python -m spectrocanvas.pairs.pocket.training.export --run DIR [--weights-dir W]``.

Writes the run's EMA weights as fp16 safetensors (``W/<model>.safetensors``, config in the
metadata) and records in ``W/record.json`` how they were made: commands, steps, training time,
seeds and settings.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import torch

from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.files.records import read_json, write_json
from spectrocanvas.pairs.pocket.networks import build_model
from spectrocanvas.pairs.pocket.training.train import CHECKPOINT, RUN_FILE
from spectrocanvas.pairs.pocket.weights import RECORD, WEIGHTS_DIR, save_module, weights_file


def export_run(run_dir: Path | str, weights_dir: Path | str = WEIGHTS_DIR, note: str | None = None) -> dict[str, Any]:
    """Export the EMA weights of the run in ``run_dir``; returns its record entry (with ``note``,
    e.g. why a run was exported before the steps its command asked for)."""
    run_dir, weights_dir = Path(run_dir), Path(weights_dir)
    if not (run_dir / CHECKPOINT).is_file():
        raise SpectrocanvasError(f"'{run_dir}' holds no {CHECKPOINT}; is it a pocket training run?")
    state = torch.load(run_dir / CHECKPOINT, map_location="cpu", weights_only=True)
    run = read_json(run_dir / RUN_FILE)
    kind = state["settings"]["model"]
    module = build_model(kind, state["config"])
    module.load_state_dict(state["ema"])
    path = save_module(module, kind, state["config"], weights_file(kind, weights_dir))
    entry = {"file": path.name, "steps": state["step"], "training_seconds": round(state["elapsed"], 1),
             "data_seed": state["settings"]["data_seed"], "seed": state["settings"]["seed"],
             "settings": state["settings"], "commands": run["commands"],
             "parameters": sum(p.numel() for p in module.parameters()),
             "bytes": path.stat().st_size, "exported": time.strftime("%Y-%m-%dT%H:%M:%S")}
    if note:
        entry["note"] = note
    record_path = weights_dir / RECORD
    record = read_json(record_path) if record_path.is_file() else {}
    record[kind] = entry
    write_json(record_path, record)
    return entry


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m spectrocanvas.pairs.pocket.training.export",
                                description=__doc__.splitlines()[0])
    p.add_argument("--run", required=True, action="append", help="training run folder (repeatable)")
    p.add_argument("--weights-dir", default=str(WEIGHTS_DIR))
    p.add_argument("--note", help="a remark kept in each exported run's record entry")
    args = p.parse_args(argv)
    try:
        for run in args.run:
            entry = export_run(run, args.weights_dir, note=args.note)
            print(f"{entry['file']}: {entry['steps']} steps, {entry['bytes'] / 1e6:.1f} MB")
    except SpectrocanvasError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
