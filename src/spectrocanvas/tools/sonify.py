"""Picture → sound whose spectrogram shows it (what Photosounder, Coagula and ARSS do)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from spectrocanvas.canvas.spec import AUFFUSION, CanvasSpec
from spectrocanvas.canvas.vocoders import GriffinLimVocoder
from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.files.atomic import check_output_target, output_folder
from spectrocanvas.files.audio import AudioOutput
from spectrocanvas.files.pictures import FitMode, canvas_spec_of, fit_picture, open_picture, picture_to_gray
from spectrocanvas.files.records import provenance, write_json
from spectrocanvas.files.render import write_sound_outputs
from spectrocanvas.generate.settings import MAX_SEED
from spectrocanvas.support.progress import progress_bar
from spectrocanvas.support.timing import StageTimer

DEFAULT_SECONDS = 10.24
"""The paper's canvas: 1024 frames of Auffusion's 10.24 s training clips."""
MAX_SECONDS = 600.0


def check_seconds(seconds: float | None) -> None:
    if seconds is not None and not 0.01 <= seconds <= MAX_SECONDS:
        raise SpectrocanvasError(f"--seconds must be between 0.01 and {MAX_SECONDS:g}, not {seconds:g}")


def picture_canvas(
    image_path: str | Path, *, spec: CanvasSpec = AUFFUSION, seconds: float | None = None, fit: FitMode = "stretch",
) -> tuple[torch.Tensor, CanvasSpec, dict[str, Any]]:
    """Read a picture as a canvas (n_mels, frames) in [0, 1].

    A PNG written by spectrocanvas is taken as it is, with the CanvasSpec it carries (unless
    ``seconds`` asks for another width); any other picture is fitted to ``spec.height`` ×
    ``seconds * frames_per_second`` (10.24 s by default).
    """
    check_seconds(seconds)
    image = open_picture(image_path)
    carried = canvas_spec_of(image)
    gray = picture_to_gray(image)
    source = {"path": str(image_path), "mode": image.mode, "width": image.width, "height": image.height}
    if carried is not None and seconds is None and gray.shape[0] == carried.height:
        return gray, carried, {**source, "canvas_png": True, "fit": None}
    use_spec = carried or spec
    width = use_spec.frames_for_seconds(seconds if seconds is not None else DEFAULT_SECONDS)
    canvas = fit_picture(gray, height=use_spec.height, width=width, fit=fit)
    return canvas, use_spec, {**source, "canvas_png": carried is not None, "fit": fit}


def griffin_lim_vocoder(*, spec: CanvasSpec, iterations: int | None, seed: int,
                        progress: bool) -> tuple[GriffinLimVocoder, Any]:
    """A Griffin-Lim vocoder, with a progress bar over its iterations when asked."""
    if not 0 <= seed <= MAX_SEED:  # torch takes 64-bit seeds; a bigger one was a traceback
        raise SpectrocanvasError(f"--seed must be between 0 and {MAX_SEED} (2^63 - 1), not {seed}")
    vocoder = GriffinLimVocoder(spec=spec, seed=seed)
    if iterations is not None:
        if iterations < 0 or iterations > 10_000:
            raise SpectrocanvasError(f"--iterations must be between 0 and 10000, not {iterations}")
        vocoder.iterations = iterations
    bar = progress_bar(total=vocoder.iterations, desc="phase reconstruction", enabled=progress)
    vocoder.progress = (lambda _step: bar.update()) if bar is not None else None
    return vocoder, bar


def sonify(
    *,
    image: str | Path,
    output: str | Path,
    seconds: float | None = None,
    fit: FitMode = "stretch",
    iterations: int | None = None,
    video: bool = True,
    overwrite: bool = False,
    seed: int = 0,
    spec: CanvasSpec = AUFFUSION,
    audio_output: AudioOutput = AudioOutput(),
    progress: bool = False,
) -> Path:
    """Turn a picture into a sound whose spectrogram shows it; returns the output folder.

    Writes canvas.png, audio.wav (level, format and rate as ``audio_output`` says: by default float WAV
    peaking at −1 dBFS), spectrogram.png, video.mp4 (unless ``video=False``) and meta.json.
    """
    output = Path(output)
    check_output_target(output, overwrite=overwrite, inputs=[image])  # before any work (checked again at the end)
    timer = StageTimer()
    with timer.stage("load"):
        canvas, spec, source = picture_canvas(image, spec=spec, seconds=seconds, fit=fit)
    vocoder, bar = griffin_lim_vocoder(spec=spec, iterations=iterations, seed=seed, progress=progress)
    parameters = {"seconds": spec.seconds_for_frames(canvas.shape[-1]), "fit": source["fit"], "seed": seed,
                  "video": video}
    with output_folder(output, overwrite=overwrite, inputs=[image]) as folder:
        with timer.stage("reconstruct"):
            waveform = vocoder(canvas[None])[0]
        if bar is not None:
            bar.close()
        metadata = {"command": "sonify", "parameters": parameters, "canvas": spec.to_dict()}
        record = write_sound_outputs(folder, canvas=canvas, waveform=waveform, spec=spec, metadata=metadata,
                                     timer=timer, video=video, audio_output=audio_output)
        write_json(folder / "meta.json", {
            "command": "sonify", "input": {"image": source}, "parameters": parameters,
            "canvas": spec.to_dict(), "vocoder": vocoder.describe(), **record,
            "timings": timer.as_dict(), "provenance": provenance(),
        })
    return output
