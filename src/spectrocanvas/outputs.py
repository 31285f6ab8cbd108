"""Output folders that are never half-written, and the provenance every output carries."""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from spectrocanvas.errors import OutputExistsError, SpectrocanvasError


def provenance() -> dict[str, Any]:
    """Versions and time: what made an output."""
    import numpy
    import torch

    from spectrocanvas import __version__

    return {
        "spectrocanvas": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv) if sys.argv and sys.argv[0] else None,
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        try:
            return value.item()
        except (ValueError, RuntimeError):
            pass
    return value


def write_json(path: str | Path, data: dict[str, Any]) -> None:
    """Write JSON through a temporary file, so a reader never sees half of it."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(_jsonable(data), indent=2, sort_keys=False) + "\n")
    os.replace(temporary, path)


def read_json(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def check_output_target(target: Path, *, overwrite: bool) -> None:
    """Refuse an existing target unless ``overwrite``; refuse a file where a folder should go."""
    if target.exists() or target.is_symlink():
        if not target.is_dir():
            raise OutputExistsError(f"'{target}' exists and is not a folder; choose another output path")
        if not overwrite:
            raise OutputExistsError(f"output folder '{target}' exists; pass --overwrite to replace it "
                                    "or choose another -o")


@contextmanager
def output_folder(target: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; rename it to ``target`` only on success.

    On any error the temporary folder is removed and an existing ``target`` is left untouched.
    """
    target = Path(target)
    check_output_target(target, overwrite=overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    try:
        if target.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            os.replace(target, retired / target.name)
            os.replace(staging, target)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, target)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise SpectrocanvasError(f"could not move the finished output into '{target}': {error.strerror}") from None
