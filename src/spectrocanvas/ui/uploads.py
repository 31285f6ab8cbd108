"""What a visitor may upload, checked before anything decodes it: the file's size, its type (by
suffix and by its first bytes), a picture's pixel count (read from its header) and a recording's
length. Every refusal is one line (:class:`UploadError`); the loaders then refuse corrupt files
the same way."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import soundfile
from PIL import Image, UnidentifiedImageError

from spectrocanvas.errors import SpectrocanvasError

PICTURE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff")
AUDIO_SUFFIXES: tuple[str, ...] = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff")


class UploadError(SpectrocanvasError):
    """An upload the page refuses (too big, wrong type, too many pixels, too long)."""


@dataclass(frozen=True)
class UploadLimits:
    """The limits the page states and enforces (``spectrocanvas ui --max-upload-mb/--max-pixels/--max-seconds``)."""

    max_mb: float = 25.0
    max_pixels: int = 16_000_000
    max_seconds: float = 120.0
    picture_suffixes: tuple[str, ...] = PICTURE_SUFFIXES
    audio_suffixes: tuple[str, ...] = AUDIO_SUFFIXES

    def __post_init__(self) -> None:
        if not (0 < self.max_mb <= 2048 and 0 < self.max_pixels <= 80_000_000 and 0 < self.max_seconds <= 600):
            raise SpectrocanvasError("upload limits: --max-upload-mb 0…2048, --max-pixels up to 80,000,000 "
                                     "and --max-seconds up to 600")

    def describe(self) -> str:
        """The limits as the page states them."""
        return (f"Uploads: at most {self.max_mb:g} MB; pictures up to {self.max_pixels:,} pixels "
                f"({', '.join(s.lstrip('.') for s in self.picture_suffixes)}); recordings up to "
                f"{self.max_seconds:g} s ({', '.join(s.lstrip('.') for s in self.audio_suffixes)}).")


def _shown(path: Path) -> str:
    return path.name[:80]


def _check_file(path: str | os.PathLike | None, what: str, suffixes: tuple[str, ...], limits: UploadLimits) -> Path:
    if path is None or str(path) == "":
        raise UploadError(f"upload a {what} first")
    path = Path(path)
    if not path.is_file():
        raise UploadError(f"the uploaded {what} is gone; upload it again")
    if path.suffix.lower() not in suffixes:
        raise UploadError(f"'{_shown(path)}' is not a {what} type the page takes "
                          f"({', '.join(s.lstrip('.') for s in suffixes)})")
    size = path.stat().st_size
    if size == 0:
        raise UploadError(f"'{_shown(path)}' is empty (0 bytes)")
    if size > limits.max_mb * 1024 * 1024:
        raise UploadError(f"'{_shown(path)}' is {size / 1024 / 1024:.1f} MB, more than the {limits.max_mb:g} MB "
                          "this page takes")
    return path


def check_picture(path: str | os.PathLike | None, limits: UploadLimits) -> Path:
    """An uploaded picture within the limits (its header read, nothing decoded), or one line."""
    checked = _check_file(path, "picture", limits.picture_suffixes, limits)
    try:
        with Image.open(checked) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
        raise UploadError(f"'{_shown(checked)}' is not a picture this page can read (corrupt or another "
                          "type)") from None
    if width * height > limits.max_pixels:
        raise UploadError(f"'{_shown(checked)}' is {width} × {height} pixels, more than the "
                          f"{limits.max_pixels:,} this page takes")
    return checked


def check_recording(path: str | os.PathLike | None, limits: UploadLimits) -> Path:
    """An uploaded recording within the limits (its header read), or one line."""
    checked = _check_file(path, "recording", limits.audio_suffixes, limits)
    try:
        info = soundfile.info(str(checked))
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError):
        raise UploadError(f"'{_shown(checked)}' is not a recording this page can read (corrupt or another "
                          "type)") from None
    if info.samplerate <= 0 or info.channels <= 0:
        raise UploadError(f"'{_shown(checked)}' has no usable sample rate or channels")
    seconds = info.frames / info.samplerate
    if seconds > limits.max_seconds:
        raise UploadError(f"'{_shown(checked)}' lasts {seconds:.0f} s, more than the {limits.max_seconds:g} s "
                          "this page takes")
    return checked
