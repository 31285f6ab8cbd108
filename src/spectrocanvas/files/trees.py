"""Comparing two output folders file by file: is a run the same as another (split across processes,
resumed, made on another day)?"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

WHEN_AND_HOW = ("timings", "provenance")
"""meta.json / run.json fields that say how long a stage took and when and by which command a file
was made: they differ from run to run by nature."""


def _without(value: Any, keys: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        return {k: _without(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [_without(v, keys) for v in value]
    return value


def tree_differences(a: Path, b: Path) -> list[str]:
    """The files of two output trees that differ: byte for byte, except JSON records, compared
    without their timings and provenance. Empty when the trees are the same."""
    files_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file()}
    files_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    differences = [f"only in {a}: {p}" for p in sorted(files_a - files_b)]
    differences += [f"only in {b}: {p}" for p in sorted(files_b - files_a)]
    for name in sorted(files_a & files_b):
        if name.suffix == ".json":
            same = (_without(json.loads((a / name).read_text()), WHEN_AND_HOW)
                    == _without(json.loads((b / name).read_text()), WHEN_AND_HOW))
        else:
            same = (a / name).read_bytes() == (b / name).read_bytes()
        if not same:
            differences.append(f"differs: {name}")
    return differences
