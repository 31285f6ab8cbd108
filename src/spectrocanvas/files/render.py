"""From a target canvas to the files a user keeps: canvas.png, audio.wav, spectrogram.png, video.mp4.

Shared by every command that ends in a canvas (sonify, imprint, generate).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from spectrocanvas.canvas.analysis import audio_to_canvas
from spectrocanvas.canvas.metrics import fidelity
from spectrocanvas.canvas.spec import CanvasSpec
from spectrocanvas.canvas.view_analysis import AnySpec, analyse
from spectrocanvas.files.audio import AudioOutput, read_canvas_level, write_sound
from spectrocanvas.files.pictures import canvas_to_pixels, save_canvas_png
from spectrocanvas.files.video import write_spectrogram_video
from spectrocanvas.support.timing import StageTimer

LOOP_COMMENT = "a loop: the sound's end runs on into its start (made by spectrocanvas)"


def write_sound_outputs(
    folder: Path,
    *,
    canvas: torch.Tensor,
    waveform: torch.Tensor,
    spec: AnySpec,
    metadata: dict[str, Any],
    timer: StageTimer,
    video: bool = True,
    video_progress=None,
    loop: bool = False,
    audio_output: AudioOutput = AudioOutput(),
    gain: float | None = None,
    level: str | None = None,
) -> dict[str, Any]:
    """Write canvas.png, audio.wav (or .flac), spectrogram.png and (optionally) video.mp4 for one canvas.

    canvas: (n_mels, frames) target; waveform: (frames * hop,) its sound at the canvas's level. ``spec``
    may be a linear or log view (then canvas is (height, frames)); a stereo canvas (2, height, frames)
    with a waveform (2, frames * hop) is drawn red = left, green = right.
    ``audio_output`` says how the sound is written (level, format, rate; ``gain``/``level``: a gain of the
    caller's instead, see :func:`write_sound`). spectrogram.png is the file read back at the
    canvas's rate and level. Returns what to record in meta.json: audio facts (with the gain),
    fidelity of spectrogram.png against canvas.png, video facts. ``loop``: the sound loops (its
    end runs on into its start); the video says so in its comment.
    """
    with timer.stage("write_canvas"):
        save_canvas_png(folder / "canvas.png", canvas, spec=spec, metadata={**metadata, "role": "target canvas"})
    with timer.stage("write_audio"):
        written = write_sound(folder, waveform, sample_rate=spec.sample_rate, output=audio_output, gain=gain, level=level)
    with timer.stage("analyze"):
        stereo = canvas.dim() == 3
        heard_waveform, canvas_level = read_canvas_level(folder, written, sample_rate=spec.sample_rate,
                                                         keep_channels=stereo)
        heard = analyse(canvas_level, spec)
        del canvas_level  # a long sound: keep no more copies than needed (the video wants heard_waveform)
        if not video:
            del heard_waveform
        save_canvas_png(folder / "spectrogram.png", heard, spec=spec,
                        metadata={**metadata, "role": f"canvas re-analysed from {written['file']}"})
    if stereo:
        channels = [fidelity(canvas[c], heard[c]) for c in range(canvas.shape[0])]
        score = {key: sum(c[key] for c in channels) / len(channels) for key in channels[0]}
        score["channels"] = channels
    else:
        score = fidelity(canvas, heard)
    record: dict[str, Any] = {"audio": {**written, "loop": loop}, "fidelity": score}
    if video:
        record["video"] = write_video(folder, heard=heard, heard_waveform=heard_waveform, spec=spec, timer=timer,
                                      progress=video_progress, loop=loop)
    return record


def write_video(folder: Path, *, heard: torch.Tensor, heard_waveform: torch.Tensor, spec: AnySpec,
                timer: StageTimer, progress=None, loop: bool = False) -> dict[str, Any]:
    """Write folder/video.mp4: what the audio file shows (heard: (n_mels, frames)) with a playhead, and
    the sound as the file holds it, at its level (heard_waveform: (samples,) at the canvas's rate).
    Returns its record for meta.json."""
    with timer.stage("video"):
        written = write_spectrogram_video(
            folder / "video.mp4", picture=_pixels(heard), waveform=heard_waveform.numpy(),
            sample_rate=spec.sample_rate, progress=progress, comment=LOOP_COMMENT if loop else None)
    # a staging folder's path means nothing once it is renamed: keep the file name only
    return {"file": "video.mp4", **{k: v for k, v in written.items() if k != "path"}}


def _pixels(heard: torch.Tensor) -> np.ndarray:
    """(H, W) → uint8 gray; stereo (2, H, W) → uint8 (H, W, 3), red left, green right."""
    if heard.dim() == 2:
        return canvas_to_pixels(heard)
    pixels = np.zeros((*heard.shape[-2:], 3), dtype=np.uint8)
    pixels[..., 0], pixels[..., 1] = canvas_to_pixels(heard[0]), canvas_to_pixels(heard[-1])
    return pixels


def add_video(folder: Path, *, spec: CanvasSpec, audio: dict[str, Any], loop: bool,
              timer: StageTimer) -> dict[str, Any]:
    """Write video.mp4 into a finished output folder from its audio file (``audio``: its meta.json
    record), the same file as one made with the other outputs; returns its record."""
    heard_waveform, canvas_level = read_canvas_level(folder, audio, sample_rate=spec.sample_rate)
    return write_video(folder, heard=audio_to_canvas(canvas_level, spec), heard_waveform=heard_waveform, spec=spec,
                       timer=timer, loop=loop)
