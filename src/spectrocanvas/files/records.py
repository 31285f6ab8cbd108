"""JSON records (meta.json, run.json, …) and the provenance every output carries."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import platform
import shlex
import sys
from pathlib import Path
from typing import Any

import numpy
import torch

from spectrocanvas.files.atomic import write_text
from spectrocanvas.version import __version__


def provenance() -> dict[str, Any]:
    """Versions and time: what made an output."""
    return {
        "spectrocanvas": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": command_line(),
    }


def command_line() -> str | None:
    """The command that is running, as a user would type it again: ``spectrocanvas …`` however it
    was started (console script, ``python -m``, or each process of ``accelerate launch -m``)."""
    if not sys.argv or not sys.argv[0]:
        return None
    program = Path(sys.argv[0])
    ours = program.name == "spectrocanvas" or (program.name == "__main__.py" and program.parent.name == "spectrocanvas")
    return shlex.join(["spectrocanvas" if ours else sys.argv[0], *sys.argv[1:]])


def jsonable(value: Any) -> Any:
    """``value`` with tuples as lists, paths as strings, tensors and numpy scalars as numbers and
    non-finite floats as null (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        try:
            return value.item()
        except (ValueError, RuntimeError):
            pass
    return value


def write_json(path: str | Path, data: dict[str, Any]) -> None:
    """Write JSON atomically, so a reader never sees half of it."""
    write_text(path, json.dumps(jsonable(data), indent=2, sort_keys=False) + "\n")


def read_json(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes, hex (what a run started from, so a changed file is another run)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
