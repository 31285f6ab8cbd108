"""Pictures ⇄ canvases at file level (PIL), and the torch maths that fits a picture to a canvas.

Any PIL mode is read as gray in [0, 1]: RGB and palette through ITU-R 601 luma, 16-bit by its
full range, transparency composited over black (transparent = silent). Canvas PNGs are 16-bit
grayscale and carry their ``CanvasSpec`` in a text chunk, so they turn back into sound with the
right settings.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from spectrocanvas.canvas.spec import CanvasSpec
from spectrocanvas.canvas.views import ViewSpec
from spectrocanvas.errors import SpectrocanvasError, require_file, write_failure
from spectrocanvas.version import __version__

FitMode = Literal["stretch", "crop", "pad"]
FIT_MODES: tuple[str, ...] = ("stretch", "crop", "pad")
MAX_PICTURE_PIXELS = 80_000_000
"""Larger pictures are refused before decoding (decompression-bomb guard)."""

CANVAS_CHUNK = "spectrocanvas:canvas"
META_CHUNK = "spectrocanvas:meta"
VIEW_CHUNK = "spectrocanvas:view"
"""Linear and log views (:class:`ViewSpec`) are carried here; mel canvases in CANVAS_CHUNK."""


class PictureError(SpectrocanvasError):
    """A picture file that cannot be used."""


def open_picture(path: str | Path) -> Image.Image:
    """Open and fully decode a picture, refusing missing, empty, corrupt and oversized files."""
    path = Path(path)
    require_file(path, "picture", PictureError)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(path)
            width, height = image.size
            if width * height > MAX_PICTURE_PIXELS:
                raise PictureError(f"picture '{path}' is {width} × {height} pixels, more than the "
                                   f"{MAX_PICTURE_PIXELS:,} this tool decodes; shrink it first")
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PictureError(f"picture '{path}' is too large to decode safely") from None
        except UnidentifiedImageError:
            raise PictureError(f"'{path}' is not a picture this tool can read "
                               "(PNG, JPEG, WebP, TIFF, BMP, GIF, … are)") from None
        except (OSError, SyntaxError, ValueError, EOFError, TypeError) as error:  # TypeError: PIL on bad TIFF tags
            raise PictureError(f"picture '{path}' is corrupt or truncated ({error})") from None
    if width == 0 or height == 0:
        raise PictureError(f"picture '{path}' has no pixels")
    return image


def picture_to_gray(image: Image.Image) -> torch.Tensor:
    """Any PIL image → gray float tensor (H, W) in [0, 1]."""
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # broken EXIF must not stop a picture that decodes
        pass
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return torch.from_numpy(np.asarray(image, dtype=np.float32) / 65535.0)
    if mode == "I":
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if values.max(initial=0) <= 65535 else float(values.max())
        return torch.from_numpy(np.clip(values / top, 0, 1).astype(np.float32))
    if mode == "F":
        values = np.asarray(image, dtype=np.float32)
        low, high = float(np.nanmin(values)), float(np.nanmax(values))
        if low < 0 or high > 1:
            values = (values - low) / max(high - low, 1e-12)
        return torch.from_numpy(np.nan_to_num(values).clip(0, 1))
    if mode == "1":
        image = image.convert("L")  # numpy reads bilevel pictures as booleans
    elif mode in ("P", "PA"):
        image = image.convert("RGBA")
    elif mode in ("LA", "La", "RGBa"):
        image = image.convert("RGBA")
    elif mode not in ("L", "RGB", "RGBA"):
        image = image.convert("RGB")
    values = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0)
    if values.ndim == 2:
        return values
    luma = values[..., 0] * 0.299 + values[..., 1] * 0.587 + values[..., 2] * 0.114
    if values.shape[-1] == 4:
        luma = luma * values[..., 3]  # composite over black: transparent is silent
    return luma.clamp(0, 1)


def picture_to_rgb(image: Image.Image) -> torch.Tensor:
    """Any PIL image → RGB float tensor (3, H, W) in [0, 1] (transparency over black)."""
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # broken EXIF must not stop a picture that decodes
        pass
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return picture_to_gray(image)[None].expand(3, -1, -1).contiguous()
    rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
    return torch.from_numpy(rgba[..., :3] * rgba[..., 3:]).permute(2, 0, 1).contiguous()


def _resize(gray: torch.Tensor, height: int, width: int) -> torch.Tensor:
    resized = F.interpolate(gray[None, None], size=(height, width), mode="bicubic", antialias=True,
                            align_corners=False)
    return resized[0, 0].clamp(0, 1)


def fit_picture(gray: torch.Tensor, *, height: int, width: int, fit: FitMode = "stretch") -> torch.Tensor:
    """Fit a gray picture (h, w) to (height, width).

    ``stretch`` ignores the aspect ratio; ``crop`` scales to cover and cuts the middle;
    ``pad`` scales to fit inside and fills the rest with 0 (silence).
    """
    if fit not in FIT_MODES:
        raise SpectrocanvasError(f"unknown fit mode '{fit}'; choose one of {', '.join(FIT_MODES)}")
    h, w = gray.shape
    if fit == "stretch":
        return _resize(gray, height, width)
    scale = max(height / h, width / w) if fit == "crop" else min(height / h, width / w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    resized = _resize(gray, new_h, new_w)
    if fit == "crop":
        top, left = (new_h - height) // 2, (new_w - width) // 2
        return resized[top: top + height, left: left + width]
    top, left = (height - new_h) // 2, (width - new_w) // 2
    return F.pad(resized, (left, width - new_w - left, top, height - new_h - top))


def _png_info(spec: CanvasSpec | ViewSpec | None, metadata: dict[str, Any] | None) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", f"spectrocanvas {__version__}")
    if isinstance(spec, ViewSpec):
        info.add_text(VIEW_CHUNK, spec.to_json())
    elif spec is not None:
        info.add_text(CANVAS_CHUNK, spec.to_json())
    if metadata:
        info.add_itxt(META_CHUNK, json.dumps(metadata, sort_keys=True, default=str))
    return info


def save_canvas_png(path: str | Path, canvas: torch.Tensor, *, spec: CanvasSpec | ViewSpec,
                    metadata: dict[str, Any] | None = None) -> None:
    """Write a canvas (H, W) in [0, 1] as a 16-bit grayscale PNG carrying its spec and metadata;
    a stereo canvas (2, H, W) as 8-bit RGB, red the left channel and green the right (Coagula)."""
    if canvas.dim() == 3:
        pixels = np.zeros((*canvas.shape[-2:], 3), dtype=np.uint8)
        pixels[..., 0] = canvas_to_pixels(canvas[0])
        pixels[..., 1] = canvas_to_pixels(canvas[-1])
        _save_png(path, Image.fromarray(pixels), _png_info(spec, metadata))
        return
    values = canvas.detach().float().cpu().clamp(0, 1).numpy()
    pixels = np.round(values * 65535.0).astype(np.uint16)
    _save_png(path, Image.fromarray(pixels), _png_info(spec, metadata))


def save_rgb_png(path: str | Path, pixels: np.ndarray, *, metadata: dict[str, Any] | None = None) -> None:
    """Write an (H, W, 3) uint8 picture as PNG with the metadata in a text chunk."""
    _save_png(path, Image.fromarray(pixels), _png_info(None, metadata))


def _save_png(path: str | Path, image: Image.Image, info: PngImagePlugin.PngInfo) -> None:
    """Save as PNG; a full disk or another OS error ends in one line (the caller's staging removes the rest)."""
    try:
        image.save(path, format="PNG", pnginfo=info)
    except OSError as error:
        raise write_failure(path, error) from None


def read_png_text(image: Image.Image) -> dict[str, str]:
    text = getattr(image, "text", None)
    return dict(text) if text else {}


def canvas_spec_of(image: Image.Image) -> CanvasSpec | None:
    """The CanvasSpec a spectrocanvas PNG carries, or None for any other picture."""
    raw = read_png_text(image).get(CANVAS_CHUNK)
    if raw is None:
        return None
    try:
        return CanvasSpec.from_json(raw)
    except (ValueError, TypeError):
        return None


def view_spec_of(image: Image.Image) -> CanvasSpec | ViewSpec | None:
    """The view (linear/log ViewSpec, or mel CanvasSpec) a spectrocanvas PNG carries, or None."""
    raw = read_png_text(image).get(VIEW_CHUNK)
    if raw is None:
        return canvas_spec_of(image)
    try:
        return ViewSpec.from_json(raw)
    except (ValueError, TypeError):
        return None


def canvas_to_pixels(canvas: torch.Tensor) -> np.ndarray:
    """Canvas (H, W) in [0, 1] → uint8 (H, W) for display and video."""
    return np.round(canvas.detach().float().cpu().clamp(0, 1).numpy() * 255.0).astype(np.uint8)
