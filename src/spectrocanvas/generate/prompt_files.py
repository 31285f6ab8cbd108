"""Prompt-pair files for `generate --pairs` and `compare --pairs`: JSONL or CSV, one pair per line
(``image_prompt``, ``audio_prompt``), each with optional settings under their schema names
(``seed``, ``n``, ``steps``, ``audio_weight``, … — every setting the command line takes) and an
optional ``name`` for its folder."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.generate.resolve import settings_table
from spectrocanvas.pairs.interface import ROLES


@dataclass(frozen=True)
class PromptPair:
    """One row: where it is (``file:line``, for messages), its settings (flat names) and its folder name."""

    where: str
    options: Mapping[str, Any] = field(default_factory=dict)
    name: str | None = None


def columns() -> list[str]:
    """The columns a prompt-pair file may have."""
    return ["name", *(name for name, s in settings_table().items() if s.option.public)]


def _row(row: Mapping[str, Any], where: str) -> PromptPair:
    table = settings_table()
    allowed = set(columns())
    unknown = sorted(set(row) - allowed)
    if unknown:
        raise SpectrocanvasError(f"{where}: unknown column(s) {', '.join(unknown)}; "
                                 f"allowed: {', '.join(sorted(allowed))}")
    options: dict[str, Any] = {}
    for key, value in row.items():
        if key == "name" or value is None or (isinstance(value, str) and not value.strip()):
            continue
        try:
            options[key] = table[key].parse(value)
        except ValueError as error:
            raise SpectrocanvasError(f"{where}: {error}") from None
    for role in ROLES:  # a prompt may be left out for the side the row starts from (init_audio / init_image)
        if not str(options.get(f"{role}_prompt", "")).strip() and not options.get(f"init_{role}"):
            raise SpectrocanvasError(f"{where}: {role}_prompt is missing or empty")
    name = row.get("name")
    return PromptPair(where=where, options=options, name=str(name) if name not in (None, "") else None)


def read_prompt_pairs(path: str | Path) -> list[PromptPair]:
    """Read prompt pairs from ``.jsonl`` (one object a line, ``#`` comments) or ``.csv`` (a header row)."""
    path = Path(path)
    if not path.is_file():
        raise SpectrocanvasError(f"pairs file '{path}' does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SpectrocanvasError(f"pairs file '{path}' is not UTF-8 text") from None
    pairs: list[PromptPair] = []
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        if reader.fieldnames is None:
            raise SpectrocanvasError(f"pairs file '{path}' is empty")
        for number, row in enumerate(reader, start=2):
            if None in row:
                raise SpectrocanvasError(f"{path}:{number}: more values than columns")
            pairs.append(_row(row, f"{path}:{number}"))
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
            pairs.append(_row(row, f"{path}:{number}"))
    if not pairs:
        raise SpectrocanvasError(f"pairs file '{path}' holds no pairs")
    return pairs
