"""Writing so that nothing is ever half-written: one helper for files, one for whole folders.

Every file spectrocanvas writes goes through :func:`atomic_path` (a temporary name in the same
folder, renamed over the target only once complete) or lives in a folder made by
:func:`output_folder` (a staging folder renamed into place on success).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from spectrocanvas.errors import OutputExistsError, SpectrocanvasError


def _umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _as_umask_allows(path: Path, *, folder: bool) -> None:
    """Give a temporary file or folder (created private by tempfile) the mode the user's umask asks for."""
    os.chmod(path, (0o777 if folder else 0o666) & ~_umask())


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix); rename it to ``path`` when the block ends.

    If the block raises, the temporary file is removed and ``path`` is left as it was. An OS error
    while creating or renaming (a full disk, a read-only folder) ends in one line.
    """
    path = Path(path)
    try:
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.partial-", suffix=path.suffix, dir=path.parent)
    except OSError as error:
        raise SpectrocanvasError(f"cannot write '{path}': {error.strerror or error}") from None
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        _as_umask_allows(temporary, folder=False)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise SpectrocanvasError(f"cannot write '{path}': {error.strerror or error}") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> None:
    """Write a text file atomically (UTF-8)."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


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
        _as_umask_allows(staging, folder=True)
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
