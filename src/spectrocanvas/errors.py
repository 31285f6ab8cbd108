"""Errors a user can cause. The CLI turns each into one line and a non-zero exit."""

from pathlib import Path


class SpectrocanvasError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    exit_code = 2


class OutputExistsError(SpectrocanvasError):
    """The output folder exists and overwriting was not asked for."""


def require_file(path: Path, what: str, error: type[SpectrocanvasError] = SpectrocanvasError) -> None:
    """Refuse a missing path, a folder or an empty file, naming it as ``what`` ("picture")."""
    if not path.exists():
        raise error(f"{what} '{path}' does not exist")
    if path.is_dir():
        raise error(f"{what} '{path}' is a folder, not a file")
    if path.stat().st_size == 0:
        raise error(f"{what} '{path}' is empty (0 bytes)")
