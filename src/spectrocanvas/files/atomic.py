"""Writing so that nothing is ever half-written, and nothing of the user's is ever lost.

Every file spectrocanvas writes goes through :func:`atomic_path` (a temporary name in the same
folder, renamed over the target only once complete) or lives in a folder made by
:func:`output_folder` (a staging folder renamed into place on success; its meta.json then lists
every file in it). Temporary files and staging folders are locked (``flock``) while their writer
lives, so the next run into the same place can sweep those a killed process left, and only those.
``--overwrite`` replaces a folder only when every file in it is one spectrocanvas wrote.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from spectrocanvas.errors import OutputExistsError, SpectrocanvasError, write_failure

META_FILE = "meta.json"
GROWN_FILES = frozenset({"run.json", "scores.md", "scores.csv", "comparison.md", "comparison.csv", "top.json"})
"""Files a run folder gains over time (written by spectrocanvas wherever they are, never listed in a meta.json)."""
LEGACY_OUTPUTS = frozenset({"meta.json", "canvas.png", "image.png", "original.png", "audio.wav", "audio.flac",
                            "spectrogram.png", "video.mp4"})
"""What a folder whose meta.json predates file lists held (spectrocanvas 0.1 and 0.2)."""
STALE_AGE = 5.0
"""Seconds an *empty* temporary entry must have existed before a sweep considers it: its writer locks it
right after creating it and before writing anything, so only an empty one can be unlocked yet alive."""


def _umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _as_umask_allows(path: Path, *, folder: bool) -> None:
    """Give a temporary file or folder (created private by tempfile) the mode the user's umask asks for."""
    os.chmod(path, (0o777 if folder else 0o666) & ~_umask())


_INTERRUPTS = {signal.SIGINT, signal.SIGTERM}


def _hold_interrupts() -> set[int] | None:
    """Hold Ctrl-C and SIGTERM back while a temporary entry is created and locked, so that they land
    only once the code that removes it on the way out is running; returns the mask to put back."""
    if not hasattr(signal, "pthread_sigmask"):
        return None
    return set(signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPTS))


def _release_interrupts(previous: set[int] | None) -> None:
    """Let held interrupts through (a pending one is raised here, in the caller's cleanup scope)."""
    if previous is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix); rename it to ``path`` when the block ends.

    If the block raises, the temporary file is removed and ``path`` is left as it was. An OS error
    while creating or renaming (a full disk, a read-only folder) ends in one line.
    """
    path = Path(path)
    held = _hold_interrupts()
    try:
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.partial-", suffix=path.suffix, dir=path.parent)
    except OSError as error:
        _release_interrupts(held)
        raise write_failure(path, error) from None
    fcntl.flock(handle, fcntl.LOCK_EX)  # held while this process lives: a sweep leaves the file alone
    temporary = Path(name)
    try:
        _release_interrupts(held)
        yield temporary
        _as_umask_allows(temporary, folder=False)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise write_failure(path, error) from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    finally:
        os.close(handle)


def write_text(path: str | Path, text: str) -> None:
    """Write a text file atomically (UTF-8)."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def check_output_target(target: Path, *, overwrite: bool, inputs: Iterable[str | Path] = ()) -> None:
    """Refuse an existing target unless ``overwrite``; refuse a file where a folder should go, the
    current folder, a folder holding one of ``inputs``, and one holding anything spectrocanvas did not write."""
    if not (target.exists() or target.is_symlink()):
        return
    if not target.is_dir() or target.is_symlink():
        raise OutputExistsError(f"'{target}' exists and is not a folder; choose another output path")
    if not overwrite:
        raise OutputExistsError(f"output folder '{target}' exists; pass --overwrite to replace it "
                                "or choose another -o")
    here, resolved = Path.cwd().resolve(), target.resolve()
    if here == resolved or resolved in here.parents:
        raise OutputExistsError(f"'{target}' is the current folder (or holds it); --overwrite cannot replace "
                                "it: choose another -o")
    for given in inputs:
        source = Path(given).resolve()
        if source == resolved or resolved in source.parents:
            raise OutputExistsError(f"'{target}' holds the input '{given}'; --overwrite would delete it: "
                                    "choose another -o")
    foreign = foreign_files(target)
    if foreign:
        more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
        raise OutputExistsError(f"'{target}' holds '{foreign[0].relative_to(target)}'{more}, which spectrocanvas "
                                "did not write; --overwrite replaces only its own outputs: move them or choose "
                                "another -o")


def _listed_files(folder: Path) -> set[Path] | None:
    """The files a folder's meta.json says spectrocanvas wrote there (None: no meta.json of ours)."""
    meta = folder / META_FILE
    if not meta.is_file() or meta.is_symlink():
        return None
    try:
        record = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or "provenance" not in record:
        return None
    listed = record.get("files")
    names = listed if isinstance(listed, list) else sorted(LEGACY_OUTPUTS)
    return {folder / str(name) for name in names} | {meta}


def foreign_files(target: Path) -> list[Path]:
    """Every file (or link, or other entry) under ``target`` that spectrocanvas did not write, sorted.

    Ours: what a meta.json of ours lists (in its folder or below), the files runs gain over time
    (:data:`GROWN_FILES`), and temporary entries of ours (``.NAME.partial-…``, ``.NAME.old-…``).
    """
    foreign: list[Path] = []

    def walk(folder: Path, listed: set[Path]) -> None:
        listed = listed | (_listed_files(folder) or set())
        for entry in sorted(folder.iterdir()):
            if _is_temporary(entry.name):
                continue
            if entry.is_symlink():
                foreign.append(entry)
            elif entry.is_dir():
                walk(entry, listed)
            elif entry not in listed and entry.name not in GROWN_FILES:
                foreign.append(entry)

    walk(target, set())
    return foreign


def _is_temporary(name: str) -> bool:
    return name.startswith(".") and (".partial-" in name or ".old-" in name)


def _is_empty(path: Path) -> bool:
    """An empty folder or file (what a writer holds between creating and locking it)."""
    if path.is_dir():
        return next(path.iterdir(), None) is None
    return path.lstat().st_size == 0


def _owner_is_gone(path: Path) -> bool:
    """Whether no live process holds the lock of a temporary file or staging folder."""
    try:
        if _is_empty(path) and time.time() - path.lstat().st_mtime < STALE_AGE:
            return False
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(handle)


def sweep_stale(folder: Path, name: str = "*") -> list[Path]:
    """Remove what killed writers left in ``folder`` for ``name`` (``.NAME.partial-…`` files and staging
    folders, ``.NAME.old-…`` folders being retired) whose lock no live process holds; returns them."""
    swept = []
    if not folder.is_dir():
        return swept
    for pattern in (f".{name}.partial-*", f".{name}.old-*"):
        for stale in folder.glob(pattern):
            if stale.is_symlink() or not _owner_is_gone(stale):
                continue
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)
            swept.append(stale)
    return swept


def record_files(folder: Path) -> None:
    """List every file under ``folder`` in its meta.json (``files``, paths relative to it), if it has one."""
    meta = folder / META_FILE
    if not meta.is_file():
        return
    record = json.loads(meta.read_text(encoding="utf-8"))
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                   if p.is_file() and not _is_temporary(p.name))
    record["files"] = files
    meta.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


_RENAME_EXCHANGE = 2


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    done = renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), _RENAME_EXCHANGE)
    if done == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(second))


def replace_folder(staging: Path, target: Path) -> None:
    """Put the finished ``staging`` folder at ``target``; an existing target (already checked to hold
    only our outputs) is swapped out in one step where the system allows it, then removed."""
    if not target.exists():
        os.replace(staging, target)
        return
    if _exchange(staging, target):  # staging now holds the old outputs
        shutil.rmtree(staging, ignore_errors=True)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.replace(target, retired / target.name)
    os.replace(staging, target)
    shutil.rmtree(retired, ignore_errors=True)


@contextmanager
def output_folder(target: str | Path, *, overwrite: bool = False, inputs: Iterable[str | Path] = ()) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; rename it to ``target`` only on success.

    On any error the temporary folder is removed and an existing ``target`` is left untouched. An
    existing target is replaced only with ``overwrite`` and only if it holds nothing but our outputs
    and none of ``inputs``. Staging folders of killed runs for the same target are swept first. On
    success the folder's meta.json (if any) lists every file in it.
    """
    target = Path(target)
    check_output_target(target, overwrite=overwrite, inputs=inputs)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        sweep_stale(target.parent, target.name)
    except OSError as error:
        raise SpectrocanvasError(f"cannot create '{target}': {error.strerror or error}") from None
    held = _hold_interrupts()  # until the block that removes the staging folder on the way out runs
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    except OSError as error:
        _release_interrupts(held)
        raise SpectrocanvasError(f"cannot create '{target}': {error.strerror or error}") from None
    lock = os.open(staging, os.O_RDONLY)
    fcntl.flock(lock, fcntl.LOCK_EX)  # held while this process lives: a sweep leaves the folder alone
    try:
        try:
            _release_interrupts(held)
            _as_umask_allows(staging, folder=True)
            yield staging
            record_files(staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        try:
            replace_folder(staging, target)
        except OSError as error:
            shutil.rmtree(staging, ignore_errors=True)
            raise SpectrocanvasError(f"could not move the finished output into '{target}': "
                                     f"{error.strerror or error}") from None
    finally:
        os.close(lock)
