"""Run folders of the page under one outputs directory, as the CLI writes them: a new folder per
result (``OUTPUTS/<tool>/<time>-<what>``), the history of past runs, zips to download, and every
path a request names resolved and kept inside the outputs directory (no traversal, no symlink out).

Torch-free: the page lists and serves runs before the tools have loaded."""

from __future__ import annotations

import json
import os
import re
import secrets
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from spectrocanvas.errors import SpectrocanvasError

RUN_KINDS: tuple[str, ...] = ("compose", "sonify", "imprint", "analyze")
ZIPS = ".zips"
"""Where zips of runs are built (inside the outputs directory, so only it is ever served)."""
HISTORY_LIMIT = 100


class PathRefused(SpectrocanvasError):
    """A path a request named that is not a run of this page's outputs directory."""


@dataclass(frozen=True)
class RunRow:
    """One past run as the history lists it."""

    name: str
    """Its path relative to the outputs directory: ``sonify/20261207-001500-photo-ab12``."""
    kind: str
    when: str
    files: int


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "run"


class RunStore:
    """The outputs directory: where results go and the only place files are served from."""

    def __init__(self, outputs: str | os.PathLike) -> None:
        self.root = Path(outputs).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def new_run(self, kind: str, label: str) -> Path:
        """A fresh folder path for a result (not created: the library writes it whole or not at all)."""
        if kind not in RUN_KINDS:
            raise PathRefused(f"unknown kind of run '{kind}'")
        (self.root / kind).mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return self.root / kind / f"{stamp}-{_slug(label)}-{secrets.token_hex(2)}"

    def inside(self, name: str | os.PathLike | None, *, must_exist: bool = True) -> Path:
        """``name`` (relative to the outputs directory, or absolute) resolved, if it lies inside it;
        anything else (``..``, an absolute path elsewhere, a symlink out, a NUL byte) is one line."""
        text = "" if name is None else os.fspath(name)
        if not text or "\x00" in text or len(text) > 1024:
            raise PathRefused("no such run on this page")
        candidate = Path(text)
        if not candidate.is_absolute():
            candidate = self.root / candidate
        try:
            resolved = candidate.resolve(strict=must_exist)
        except (OSError, RuntimeError):
            raise PathRefused(f"no such run on this page: '{text[:80]}'") from None
        if resolved != self.root and self.root not in resolved.parents:
            raise PathRefused(f"'{text[:80]}' is outside this page's outputs; only its runs are served")
        return resolved

    def run(self, name: str | os.PathLike | None) -> Path:
        """A run folder (or a sample folder in a compose run) named by a request, checked."""
        folder = self.inside(name)
        relative = folder.relative_to(self.root).parts
        if not folder.is_dir() or len(relative) < 2 or relative[0] not in RUN_KINDS:
            raise PathRefused(f"'{str(name)[:80]}' is not a run of this page")
        return folder

    def name_of(self, folder: Path) -> str:
        """The name a request uses for ``folder`` (its path relative to the outputs directory)."""
        return folder.resolve().relative_to(self.root).as_posix()

    def history(self, limit: int = HISTORY_LIMIT) -> list[RunRow]:
        """Past runs, newest first (folders the page or the CLI wrote under ``<kind>/``)."""
        rows = []
        for kind in RUN_KINDS:
            base = self.root / kind
            if not base.is_dir():
                continue
            for folder in base.iterdir():
                if folder.name.startswith(".") or not folder.is_dir() or folder.is_symlink():
                    continue
                files = sum(1 for p in folder.rglob("*") if p.is_file())
                when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(folder.stat().st_mtime))
                rows.append(RunRow(name=f"{kind}/{folder.name}", kind=kind, when=when, files=files))
        rows.sort(key=lambda r: (r.when, r.name), reverse=True)
        return rows[:limit]

    def zip_of(self, name: str | os.PathLike) -> Path:
        """A zip of a run or sample folder (its regular files, no links), built inside the outputs
        directory; rebuilt when the folder changed since."""
        folder = self.run(name)
        relative = self.name_of(folder)
        target = self.root / ZIPS / (relative.replace("/", "__") + ".zip")
        target.parent.mkdir(exist_ok=True)
        files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()
                       and not any(part.startswith(".") for part in p.relative_to(folder).parts))
        newest = max((p.stat().st_mtime for p in files), default=0.0)
        if target.is_file() and target.stat().st_mtime >= newest:
            return target
        staging = target.with_name(f".{target.name}.{secrets.token_hex(4)}")
        with zipfile.ZipFile(staging, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                archive.write(path, arcname=f"{folder.name}/{path.relative_to(folder).as_posix()}")
        os.replace(staging, target)
        return target


def read_meta(folder: Path) -> dict:
    """A run's meta.json (empty when it has none or it does not parse)."""
    try:
        return json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
