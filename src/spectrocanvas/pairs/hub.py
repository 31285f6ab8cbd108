"""Where model weights come from: a local folder, the Hugging Face cache, or the hub.

This is the one place that decides it, for every model the project loads (diffusion models,
vocoders, scorers). Offline mode (``offline=True`` or ``HF_HUB_OFFLINE=1``) never touches the
network. Missing weights end in :class:`ModelNotFoundError` with one line that says what is
missing and how to point at a local copy; :func:`require_models` checks every model a run needs
before it starts (and before anything heavy is imported), so that line names all the missing
ones at once, each with the download command of the installed hub (``hf download``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import snapshot_download

from spectrocanvas.errors import SpectrocanvasError


class ModelNotFoundError(SpectrocanvasError):
    """Weights are neither in a local folder nor in the cache, and cannot be fetched."""

    cause: str | None = None
    """What the hub raised when it was asked (its exception's name), if it was."""


_TRUE = {"1", "true", "yes", "on"}


def offline_mode(offline: bool | None = None) -> bool:
    """True when asked for, or when ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) is set."""
    if offline:
        return True
    return any(os.environ.get(name, "").strip().lower() in _TRUE
               for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


@dataclass(frozen=True)
class ResolvedModel:
    """A model found on disk: its folder, where it came from, and the revision if known."""

    source: str
    path: Path
    revision: str | None

    def describe(self) -> dict[str, str | None]:
        return {"source": self.source, "path": str(self.path), "revision": self.revision}


def resolve_model(
    source: str,
    *,
    what: str,
    option: str,
    offline: bool | None = None,
    revision: str | None = None,
    allow_patterns: list[str] | None = None,
) -> ResolvedModel:
    """Find ``source`` (a folder or a hub id) on disk, downloading only when allowed.

    ``what`` names the model in messages ("image model"); ``option`` is the CLI flag that takes
    a local folder instead ("--image-model").
    """
    if not source or not source.strip():
        raise ModelNotFoundError(f"no {what} given: pass {option} with a hub id or a folder")
    folder = Path(source).expanduser()
    if folder.is_dir():
        return ResolvedModel(source=source, path=folder.resolve(), revision=None)
    if source.startswith((".", "/", "~")) or source.count("/") != 1:
        raise ModelNotFoundError(f"{what} folder '{source}' does not exist "
                                 f"(pass {option} with an existing folder or a hub id such as owner/name)")

    is_offline = offline_mode(offline)
    try:
        path = Path(snapshot_download(repo_id=source, revision=revision, allow_patterns=allow_patterns,
                                      local_files_only=is_offline))
    except Exception as error:  # huggingface_hub raises many kinds: offline, HTTP, missing repo
        reason = "offline mode is on" if is_offline else f"it could not be downloaded ({type(error).__name__})"
        missing = ModelNotFoundError(
            f"{what} '{source}' is not on this machine and {reason}; download it where there is a network "
            f"({download_command(source)}) or pass {option} with a local copy")
        missing.cause = type(error).__name__
        raise missing from None
    snapshot_revision = path.name if path.parent.name == "snapshots" else revision
    return ResolvedModel(source=source, path=path, revision=snapshot_revision)


def download_command(source: str) -> str:
    """The command of the installed hub that puts ``source`` into the Hugging Face cache."""
    return f"hf download {source}"


@dataclass(frozen=True)
class ModelNeed:
    """A model a run will load: its source (hub id or folder), how messages name it, the option that
    takes a local copy, and the files a download fetches (None: all)."""

    source: str
    what: str
    option: str
    allow_patterns: tuple[str, ...] | None = None


def merge_needs(needs: Iterable[ModelNeed]) -> list[ModelNeed]:
    """One need per source (the vocoder lives in the audio model's repository): the first one's
    name and option, the union of the files (all, where any need takes all)."""
    merged: dict[str, ModelNeed] = {}
    for need in needs:
        known = merged.get(need.source)
        if known is None:
            merged[need.source] = need
        elif known.allow_patterns is not None:
            patterns = None if need.allow_patterns is None else tuple(
                dict.fromkeys((*known.allow_patterns, *need.allow_patterns)))
            merged[need.source] = ModelNeed(known.source, known.what, known.option, patterns)
    return list(merged.values())


def require_models(needs: Sequence[ModelNeed], *, offline: bool | None = None) -> None:
    """Find (or, online, download) every model in ``needs``; one :class:`ModelNotFoundError` names
    all the missing ones. Offline this only looks into folders and the cache: it takes milliseconds,
    so a run checks it before creating any folder or importing diffusers."""
    missing: list[tuple[ModelNeed, ModelNotFoundError]] = []
    for need in merge_needs(needs):
        try:
            resolve_model(need.source, what=need.what, option=need.option, offline=offline,
                          allow_patterns=list(need.allow_patterns) if need.allow_patterns is not None else None)
        except ModelNotFoundError as error:
            missing.append((need, error))
    if not missing:
        return
    if len(missing) == 1:
        raise missing[0][1]
    hub = [need for need, _ in missing if _is_hub_id(need.source)]
    others = [str(error) for need, error in missing if not _is_hub_id(need.source)]
    causes = ", ".join(dict.fromkeys(error.cause for need, error in missing if error.cause))
    reason = "offline mode is on" if offline_mode(offline) else f"they could not be downloaded ({causes})"
    parts = []
    if hub:
        names = ", ".join(f"{need.what} '{need.source}' ({download_command(need.source)})" for need in hub)
        online = " (or run this command there without offline mode: it fetches only the files it needs)"
        parts.append(f"{len(hub)} model(s) are not on this machine and {reason}: {names}; download them "
                     f"where there is a network with the commands given{online if offline_mode(offline) else ''}, "
                     "or pass " + ", ".join(f"{need.option} DIR" for need in hub) + " with local copies")
    parts += others
    raise ModelNotFoundError("; ".join(parts))


def _is_hub_id(source: str) -> bool:
    return not source.startswith((".", "/", "~")) and source.count("/") == 1 and not Path(source).expanduser().is_dir()
