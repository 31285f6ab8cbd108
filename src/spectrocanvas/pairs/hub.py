"""Where model weights come from: a local folder, the Hugging Face cache, or the hub.

This is the one place that decides it, for every model the project loads (diffusion models,
vocoders, scorers). Offline mode (``offline=True`` or ``HF_HUB_OFFLINE=1``) never touches the
network. Missing weights end in :class:`ModelNotFoundError` with one line that says what is
missing and how to point at a local copy.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import snapshot_download

from spectrocanvas.errors import SpectrocanvasError


class ModelNotFoundError(SpectrocanvasError):
    """Weights are neither in a local folder nor in the cache, and cannot be fetched."""


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
        raise ModelNotFoundError(
            f"{what} '{source}' is not on this machine and {reason}; download it where there is a network "
            f"(huggingface-cli download {source} --local-dir DIR) and pass {option} DIR"
        ) from None
    snapshot_revision = path.name if path.parent.name == "snapshots" else revision
    return ResolvedModel(source=source, path=path, revision=snapshot_revision)
