"""Prompt-pair files for `generate --pairs`: JSONL or CSV, one pair per line with optional settings."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from spectrocanvas.errors import SpectrocanvasError

REQUIRED = ("image_prompt", "audio_prompt")
NUMERIC = {"n": int, "seed": int, "steps": int, "image_start": int, "audio_start": int,
           "image_guidance": float, "audio_guidance": float, "audio_weight": float}
TEXT = ("image_prompt", "audio_prompt", "image_negative", "audio_negative", "scheduler", "name")
ALLOWED = set(NUMERIC) | set(TEXT)


def _clean(row: dict[str, Any], where: str) -> dict[str, Any]:
    unknown = set(row) - ALLOWED
    if unknown:
        raise SpectrocanvasError(f"{where}: unknown column(s) {', '.join(sorted(unknown))}; "
                                 f"allowed: {', '.join(sorted(ALLOWED))}")
    pair: dict[str, Any] = {}
    for key, value in row.items():
        if value is None or (isinstance(value, str) and value.strip() == "" and key not in REQUIRED):
            continue
        if key in NUMERIC:
            try:
                pair[key] = NUMERIC[key](value)
            except (TypeError, ValueError):
                raise SpectrocanvasError(f"{where}: {key} must be a number, not {value!r}") from None
        else:
            pair[key] = str(value)
    for key in REQUIRED:
        if not str(pair.get(key, "")).strip():
            raise SpectrocanvasError(f"{where}: {key} is missing or empty")
    return pair


def read_pairs(path: str | Path) -> list[dict[str, Any]]:
    """Read prompt pairs from ``.jsonl`` (one object a line) or ``.csv`` (a header row)."""
    path = Path(path)
    if not path.is_file():
        raise SpectrocanvasError(f"pairs file '{path}' does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SpectrocanvasError(f"pairs file '{path}' is not UTF-8 text") from None
    pairs: list[dict[str, Any]] = []
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        if reader.fieldnames is None:
            raise SpectrocanvasError(f"pairs file '{path}' is empty")
        for number, row in enumerate(reader, start=2):
            if None in row:
                raise SpectrocanvasError(f"{path}:{number}: more values than columns")
            pairs.append(_clean(row, f"{path}:{number}"))
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise SpectrocanvasError(f"{path}:{number}: not valid JSON ({error.msg})") from None
            if not isinstance(row, dict):
                raise SpectrocanvasError(f"{path}:{number}: each line must be a JSON object")
            pairs.append(_clean(row, f"{path}:{number}"))
    if not pairs:
        raise SpectrocanvasError(f"pairs file '{path}' holds no pairs")
    return pairs
