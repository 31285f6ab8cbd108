"""Picture → sound whose spectrogram shows it (what Photosounder, Coagula and ARSS do)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from spectrocanvas.canvas.spec import AUFFUSION, CanvasSpec
from spectrocanvas.canvas.view_analysis import AnySpec
from spectrocanvas.canvas.view_synthesis import (DEFAULT_ITERATIONS, DEFAULT_METHOD, METHODS, block_count,
                                                 reconstruct, scale_of)
from spectrocanvas.canvas.views import describe_viewer
from spectrocanvas.canvas.vocoders import GriffinLimVocoder
from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.files.atomic import check_output_target, output_folder
from spectrocanvas.files.audio import AudioOutput
from spectrocanvas.files.pictures import (FitMode, fit_picture, open_picture, picture_to_gray, picture_to_rgb,
                                          view_spec_of)
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
    image_path: str | Path, *, spec: AnySpec = AUFFUSION, seconds: float | None = None, fit: FitMode = "stretch",
    stereo: bool = False, keep_carried: bool = True,
) -> tuple[torch.Tensor, AnySpec, dict[str, Any]]:
    """Read a picture as a canvas (height, frames) in [0, 1]; ``stereo``: (2, height, frames), red and green.

    A PNG written by spectrocanvas is taken as it is, with the view it carries (unless ``seconds``
    asks for another width, or ``keep_carried`` is False because the user named a view); any
    other picture is fitted to ``spec.height`` × ``seconds * frames_per_second`` (10.24 s by default).
    """
    check_seconds(seconds)
    image = open_picture(image_path)
    carried = view_spec_of(image) if keep_carried else None
    if stereo:
        rgb = picture_to_rgb(image)
        planes = rgb[:2]
    else:
        planes = picture_to_gray(image)[None]
    source = {"path": str(image_path), "mode": image.mode, "width": image.width, "height": image.height,
              "stereo": stereo}
    if carried is not None and seconds is None and planes.shape[-2] == carried.height:
        canvas = planes if stereo else planes[0]
        return canvas, carried, {**source, "canvas_png": True, "fit": None}
    use_spec = carried or spec
    width = use_spec.frames_for_seconds(seconds if seconds is not None else DEFAULT_SECONDS)
    fitted = torch.stack([fit_picture(plane, height=use_spec.height, width=width, fit=fit) for plane in planes])
    return (fitted if stereo else fitted[0]), use_spec, {**source, "canvas_png": carried is not None, "fit": fit}


def phase_method(spec: AnySpec, phase: str | None) -> str:
    """The phase reconstruction for a view: the user's, or the one measured best for its scale."""
    if phase is not None and phase not in METHODS:
        raise SpectrocanvasError(f"--phase must be one of {', '.join(METHODS)}, not '{phase}'")
    return phase or DEFAULT_METHOD[scale_of(spec)]


def render_sound(canvas: torch.Tensor, *, spec: AnySpec, method: str, iterations: int | None, seed: int,
                 progress: bool) -> tuple[torch.Tensor, dict[str, Any]]:
    """Canvas (height, frames) or stereo (2, height, frames) → waveform (samples,) or (2, samples) and
    the vocoder's record for meta.json. The mel canvas with Griffin-Lim is the vocoder it always was."""
    vocoder, _ = griffin_lim_vocoder(spec=spec, iterations=iterations, seed=seed, progress=False) \
        if isinstance(spec, CanvasSpec) else (None, None)
    steps = iterations if iterations is not None else DEFAULT_ITERATIONS[scale_of(spec)]
    if iterations is not None and not 0 <= iterations <= 10_000:
        raise SpectrocanvasError(f"--iterations must be between 0 and 10000, not {iterations}")
    blocks = block_count(canvas.shape[-1], spec, method)
    bar = progress_bar(total=steps * blocks, desc="phase reconstruction", enabled=progress and method != "additive")
    batch = canvas if canvas.dim() == 3 else canvas[None]
    waveform = reconstruct(batch, spec, method=method, iterations=steps, seed=seed,
                           callback=(lambda _step: bar.update()) if bar is not None else None)
    if bar is not None:
        bar.close()
    record = vocoder.describe() if (vocoder is not None and method == "griffinlim") else {
        "name": method, "iterations": steps if method != "additive" else 0, "seed": seed}
    record["blocks"] = blocks
    return (waveform if canvas.dim() == 3 else waveform[0]), record


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
    spec: AnySpec = AUFFUSION,
    audio_output: AudioOutput = AudioOutput(),
    progress: bool = False,
    stereo: bool = False,
    phase: str | None = None,
    view_named: bool = False,
) -> Path:
    """Turn a picture into a sound whose spectrogram shows it; returns the output folder.

    ``spec``: the view the picture is drawn in (the mel canvas, or a linear/log :class:`ViewSpec`;
    ``view_named``: the user chose it, so a PNG's carried view gives way). ``stereo``: red is the
    left channel, green the right. ``phase``: the phase reconstruction (default: per scale).
    Writes canvas.png, audio.wav (level, format and rate as ``audio_output`` says: by default float WAV
    peaking at −1 dBFS), spectrogram.png, video.mp4 (unless ``video=False``) and meta.json.
    """
    output = Path(output)
    check_output_target(output, overwrite=overwrite, inputs=[image])  # before any work (checked again at the end)
    timer = StageTimer()
    with timer.stage("load"):
        canvas, spec, source = picture_canvas(image, spec=spec, seconds=seconds, fit=fit, stereo=stereo,
                                              keep_carried=not view_named)
    method = phase_method(spec, phase)
    if iterations is not None and not 0 <= iterations <= 10_000:
        raise SpectrocanvasError(f"--iterations must be between 0 and 10000, not {iterations}")
    parameters = {"seconds": spec.seconds_for_frames(canvas.shape[-1]), "fit": source["fit"], "seed": seed,
                  "video": video}
    if not isinstance(spec, CanvasSpec) or stereo or phase is not None:
        parameters.update(stereo=stereo, phase=method)
    with output_folder(output, overwrite=overwrite, inputs=[image]) as folder:
        with timer.stage("reconstruct"):
            waveform, vocoder_record = render_sound(canvas, spec=spec, method=method, iterations=iterations,
                                                    seed=seed, progress=progress)
        metadata = {"command": "sonify", "parameters": parameters, **view_record(spec)}
        record = write_sound_outputs(folder, canvas=canvas, waveform=waveform, spec=spec, metadata=metadata,
                                     timer=timer, video=video, audio_output=audio_output)
        write_json(folder / "meta.json", {
            "command": "sonify", "input": {"image": source}, "parameters": parameters,
            **view_record(spec), "viewer": describe_viewer(spec, file_gain=record["audio"]["gain"]),
            "vocoder": vocoder_record, **record, "timings": timer.as_dict(), "provenance": provenance(),
        })
    return output


def view_record(spec: AnySpec) -> dict[str, Any]:
    """meta.json's record of the view: ``canvas`` for the mel canvas (as always), ``view`` for linear/log."""
    return {"canvas": spec.to_dict()} if isinstance(spec, CanvasSpec) else {"view": spec.to_dict()}
