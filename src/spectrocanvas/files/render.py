"""From a target canvas to the files a user keeps: canvas.png, audio.wav, spectrogram.png, video.mp4.

Shared by every command that ends in a canvas (sonify, imprint, generate).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from spectrocanvas.canvas.analysis import audio_to_canvas
from spectrocanvas.canvas.metrics import fidelity
from spectrocanvas.canvas.spec import CanvasSpec
from spectrocanvas.files.audio import WAV_SUBTYPE, read_audio, write_wav
from spectrocanvas.files.pictures import canvas_to_pixels, save_canvas_png
from spectrocanvas.files.video import write_spectrogram_video
from spectrocanvas.support.timing import StageTimer

LOOP_COMMENT = "a loop: the sound's end runs on into its start (made by spectrocanvas)"


def write_sound_outputs(
    folder: Path,
    *,
    canvas: torch.Tensor,
    waveform: torch.Tensor,
    spec: CanvasSpec,
    metadata: dict[str, Any],
    timer: StageTimer,
    video: bool = True,
    video_progress=None,
    loop: bool = False,
) -> dict[str, Any]:
    """Write canvas.png, audio.wav, spectrogram.png and (optionally) video.mp4 for one canvas.

    canvas: (n_mels, frames) target; waveform: (frames * hop,) its sound. Returns what to
    record in meta.json: audio facts, fidelity of spectrogram.png against canvas.png, video facts.
    ``loop``: the sound loops (its end runs on into its start); the video says so in its comment.
    """
    with timer.stage("write_canvas"):
        save_canvas_png(folder / "canvas.png", canvas, spec=spec, metadata={**metadata, "role": "target canvas"})
    with timer.stage("write_audio"):
        write_wav(folder / "audio.wav", waveform, sample_rate=spec.sample_rate)
    with timer.stage("analyze"):
        heard_waveform, _ = read_audio(folder / "audio.wav", sample_rate=spec.sample_rate)
        heard = audio_to_canvas(heard_waveform, spec)
        save_canvas_png(folder / "spectrogram.png", heard, spec=spec,
                        metadata={**metadata, "role": "canvas re-analysed from audio.wav"})
    peak = float(waveform.abs().max()) if waveform.numel() else 0.0
    record: dict[str, Any] = {
        "audio": {"file": "audio.wav", "sample_rate": spec.sample_rate, "samples": int(waveform.shape[-1]),
                  "seconds": waveform.shape[-1] / spec.sample_rate, "subtype": WAV_SUBTYPE, "peak": peak,
                  "loop": loop},
        "fidelity": fidelity(canvas, heard),
    }
    if video:
        record["video"] = write_video(folder, heard=heard, heard_waveform=heard_waveform, spec=spec, timer=timer,
                                      progress=video_progress, loop=loop)
    return record


def write_video(folder: Path, *, heard: torch.Tensor, heard_waveform: torch.Tensor, spec: CanvasSpec,
                timer: StageTimer, progress=None, loop: bool = False) -> dict[str, Any]:
    """Write folder/video.mp4: what audio.wav shows (heard: (n_mels, frames)) with a playhead, and the
    sound as audio.wav holds it (heard_waveform: (samples,)). Returns its record for meta.json."""
    with timer.stage("video"):
        written = write_spectrogram_video(
            folder / "video.mp4", picture=canvas_to_pixels(heard), waveform=heard_waveform.numpy(),
            sample_rate=spec.sample_rate, progress=progress, comment=LOOP_COMMENT if loop else None)
    # a staging folder's path means nothing once it is renamed: keep the file name only
    return {"file": "video.mp4", **{k: v for k, v in written.items() if k != "path"}}


def add_video(folder: Path, *, spec: CanvasSpec, loop: bool, timer: StageTimer) -> dict[str, Any]:
    """Write video.mp4 into a finished output folder from its audio.wav, the same file as one made
    with the other outputs (the video is made from what audio.wav holds); returns its record."""
    heard_waveform, _ = read_audio(folder / "audio.wav", sample_rate=spec.sample_rate)
    return write_video(folder, heard=audio_to_canvas(heard_waveform, spec), heard_waveform=heard_waveform, spec=spec,
                       timer=timer, loop=loop)
