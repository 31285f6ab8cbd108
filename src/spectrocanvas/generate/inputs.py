"""What a run starts from: the canvas's length (seconds ⇄ latent columns, windows), and a
recording or a picture to start from (SDEdit).

A recording becomes a canvas in the pair's own convention: resampled to its rate, mono,
peak-normalised as its audio model's training audio was (Auffusion: 0.95), analysed with its
canvas spec. A picture is stretched to the canvas. Either is encoded into the latent space by the
pair's encoder (the audio model's for a recording, the image model's for a picture).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

from spectrocanvas.canvas.analysis import audio_to_canvas
from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.files.audio import read_audio
from spectrocanvas.files.pictures import fit_picture, open_picture, picture_to_rgb
from spectrocanvas.files.records import file_digest
from spectrocanvas.generate.settings import GenerateSettings
from spectrocanvas.pairs.interface import ModelPair, PairEntry

MAX_SECONDS = 600.0
"""The longest canvas: ten minutes."""
DEFAULT_STRENGTH = 0.8
"""SDEdit strength when an init file is given and --strength is not: on the pocket pair the shape
appears (image judge right 69 %) while the recording is still heard (96 %); BENCHMARKS.md."""


def recording_canvas(path: str, entry: PairEntry) -> torch.Tensor:
    """A recording's canvas (H, frames) in the pair's convention (see the module notes)."""
    spec = entry.spec
    waveform, _ = read_audio(path, sample_rate=spec.sample_rate)
    if waveform.shape[-1] <= spec.padding or waveform.shape[-1] < spec.hop_length:
        raise SpectrocanvasError(f"recording '{path}' is too short for one canvas column")
    peak = float(waveform.abs().max())
    if entry.recording_peak is not None and peak > 0:
        waveform = waveform * (entry.recording_peak / peak)
    return audio_to_canvas(waveform, spec)


def fit_columns(canvas: torch.Tensor, columns: int) -> torch.Tensor:
    """Cut or pad (with silence, 0) the last axis to ``columns``."""
    if canvas.shape[-1] >= columns:
        return canvas[..., :columns]
    return torch.nn.functional.pad(canvas, (0, columns - canvas.shape[-1]))


def resolve_length(values: Mapping[str, Any], entry: PairEntry) -> dict[str, Any]:
    """The length settings a run's flat ``values`` imply for ``entry``: latent size, the crop that
    leaves exactly the asked frames, window stride, SDEdit strength and the init file's digest.

    ``seconds`` (or, unset, an init recording's length) sets the canvas's frames F; the latent is
    ⌈(F + crop) / scale⌉ columns and the crop grows to leave F. A loop has no tail to crop. A
    ``latent_width`` given directly (the library's small test canvases) is used as it is.
    """
    native_height, native_width = entry.native_latent
    scale, spec = entry.latent_scale, entry.spec
    if values.get("init_audio") and values.get("init_image"):
        raise SpectrocanvasError("give --init-audio or --init-image, not both")
    init = values.get("init_audio") or values.get("init_image")
    seconds, loop, crop = values.get("seconds"), bool(values.get("loop")), int(values["crop_columns"])
    frames = None
    if seconds is not None:
        if not (math.isfinite(seconds) and 0 < seconds <= MAX_SECONDS):
            raise SpectrocanvasError(f"--seconds must be between 0 and {MAX_SECONDS:g}, not {seconds:g}")
        frames = int(round(seconds * spec.frames_per_second))
    if values.get("init_audio"):  # read now: a missing or broken recording is refused before anything loads
        recorded = recording_canvas(values["init_audio"], entry).shape[-1]
        frames = recorded if frames is None else frames
    if values.get("init_image"):
        open_picture(values["init_image"])
    width = values.get("latent_width")
    if width is None and frames is None:
        width = native_width
    if loop:
        crop = 0
        width = width if frames is None else max(1, int(round(frames / scale)))
    elif frames is not None:
        width = math.ceil((frames + crop) / scale)
        crop = width * scale - frames
    if frames is not None and width < native_width:
        raise SpectrocanvasError(f"a canvas of {frames / spec.frames_per_second:.2f} s is shorter than the models' "
                                 f"window of {native_width * scale / spec.frames_per_second:.2f} s; ask for at least "
                                 "that (--seconds), or pad the recording")
    windowed = loop or width > native_width
    stride = values.get("window_stride")
    if windowed and stride is None:
        stride = max(1, native_width // 2)
    if (windowed or stride is not None) and not 1 <= stride <= native_width:  # refused even where unused
        raise SpectrocanvasError(f"--window-stride must be between 1 and the window ({native_width}), not {stride}")
    strength = values.get("strength")
    if strength is not None and not init:
        raise SpectrocanvasError("--strength applies with --init-audio or --init-image")
    return {"latent_height": values.get("latent_height") or native_height, "latent_width": width,
            "crop_columns": crop, "window_stride": stride if windowed else None,
            "strength": (DEFAULT_STRENGTH if strength is None else strength) if init else None,
            "init_digest": _digest(init) if init else None}


def _digest(path: str) -> str:
    try:
        return file_digest(path)
    except OSError as error:
        raise SpectrocanvasError(f"cannot read '{path}': {error.strerror or error}") from None


def init_latents(pair: ModelPair, settings: GenerateSettings) -> torch.Tensor | None:
    """The clean latent (1, C, h, w) a run starts from, or None without an init file."""
    scale = pair.entry.latent_scale
    height, width = settings.latent_height * scale, settings.latent_width * scale
    if settings.init_audio:
        canvas = fit_columns(recording_canvas(settings.init_audio, pair.entry), width)
        if canvas.shape[0] != height:
            raise SpectrocanvasError(f"the recording's canvas has {canvas.shape[0]} rows, the latent {height}")
        return pair.encode_canvas(canvas[None])
    if settings.init_image:
        return pair.encode_image(given_picture(settings.init_image, height=height, width=width)[None])
    return None


def given_picture(path: str, *, height: int, width: int) -> torch.Tensor:
    """A picture file as RGB pixels (3, height, width) in [0, 1], stretched to the canvas."""
    rgb = picture_to_rgb(open_picture(path))
    return torch.stack([fit_picture(channel, height=height, width=width) for channel in rgb])
