"""Errors a user can cause. The CLI turns each into one line and a non-zero exit."""

import errno
import re
from pathlib import Path


class SpectrocanvasError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    exit_code = 2


class OutputExistsError(SpectrocanvasError):
    """The output folder exists and overwriting was not asked for."""


class WriteError(SpectrocanvasError):
    """The system refused a write: a full disk, a read-only or vanished folder, a quota."""

    exit_code = 3


_STAGING = re.compile(r"^\.(?P<name>.+)\.partial-[^/]*$")


def shown_path(path: str | Path) -> str:
    """``path`` as the user will find it: a staging folder or temporary file (``.out.partial-x1y2/a.wav``)
    named as the output it becomes (``out/a.wav``)."""
    parts = [(_STAGING.match(part).group("name") if _STAGING.match(part) else part) for part in Path(path).parts]
    return str(Path(*parts)) if parts else str(path)


def write_failure(path: str | Path, error: OSError) -> WriteError:
    """One line for an OS error while writing ``path`` (what is half-written is removed by the caller)."""
    if error.errno == errno.ENOSPC:
        return WriteError(f"no space left on the device while writing '{shown_path(path)}'; "
                          "nothing half-written was kept")
    return WriteError(f"cannot write '{shown_path(path)}': {error.strerror or error}")


def require_file(path: Path, what: str, error: type[SpectrocanvasError] = SpectrocanvasError) -> None:
    """Refuse a missing path, a folder or an empty file, naming it as ``what`` ("picture")."""
    if not path.exists():
        raise error(f"{what} '{path}' does not exist")
    if path.is_dir():
        raise error(f"{what} '{path}' is a folder, not a file")
    if path.stat().st_size == 0:
        raise error(f"{what} '{path}' is empty (0 bytes)")
