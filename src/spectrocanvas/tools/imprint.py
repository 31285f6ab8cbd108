"""Imprint a picture into an existing sound (the paper's "imprint" baseline, from files)."""

from __future__ import annotations

from pathlib import Path

import torch

from spectrocanvas.canvas.carve import imprint_canvas
from spectrocanvas.canvas.levels import matched_gain, rms
from spectrocanvas.canvas.spec import AUFFUSION
from spectrocanvas.canvas.view_analysis import AnySpec, analyse
from spectrocanvas.canvas.views import describe_viewer
from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.files.atomic import check_output_target, output_folder
from spectrocanvas.files.audio import AudioOutput, fit_length, read_audio
from spectrocanvas.files.pictures import (FitMode, fit_picture, open_picture, picture_to_gray, picture_to_rgb,
                                         save_canvas_png)
from spectrocanvas.files.records import provenance, write_json
from spectrocanvas.files.render import write_sound_outputs
from spectrocanvas.support.timing import StageTimer
from spectrocanvas.tools.sonify import check_seconds, phase_method, render_sound, view_record


def imprint(
    *,
    image: str | Path,
    audio: str | Path,
    output: str | Path,
    strength: float = 0.5,
    invert: bool = True,
    seconds: float | None = None,
    fit: FitMode = "stretch",
    iterations: int | None = None,
    video: bool = True,
    overwrite: bool = False,
    seed: int = 0,
    spec: AnySpec = AUFFUSION,
    audio_output: AudioOutput = AudioOutput(),
    progress: bool = False,
    phase: str | None = None,
    stereo: bool = False,
) -> Path:
    """Carve a picture into a sound's spectrogram; returns the output folder.

    The canvas lasts ``seconds`` (default: the whole sound); the sound is cut or padded to it.
    The result keeps the recording's loudness (its RMS), its peak no higher than
    ``audio_output.peak_db`` (``audio_output.peak_db=None``: the canvas's level, as carved).
    ``spec``: the view to carve in (mel canvas, linear or log); ``phase``: the phase reconstruction
    (default: per scale). ``stereo``: the picture's red carves the recording's left channel and green its
    right (a mono recording is carved twice), and the sound is stereo. Writes the outputs of :func:`spectrocanvas.sonify.sonify` plus original.png.
    """
    if not 0.0 <= strength <= 1.0:
        raise SpectrocanvasError(f"--strength must be between 0 and 1, not {strength:g}")
    check_seconds(seconds)
    method = phase_method(spec, phase)
    if iterations is not None and not 0 <= iterations <= 10_000:
        raise SpectrocanvasError(f"--iterations must be between 0 and 10000, not {iterations}")
    output = Path(output)
    check_output_target(output, overwrite=overwrite, inputs=[image, audio])  # before any work (and at the end)
    timer = StageTimer()
    with timer.stage("load"):
        picture_file = open_picture(image)
        planes = picture_to_rgb(picture_file)[:2] if stereo else picture_to_gray(picture_file)[None]
        sound, source = read_audio(audio, sample_rate=spec.sample_rate, keep_channels=stereo)
        if stereo:
            sound = sound[[0, -1]]  # (2, samples): a mono recording in both
        frames = spec.frames_for_seconds(seconds) if seconds is not None else sound.shape[-1] // spec.hop_length
        if frames < 1:
            raise SpectrocanvasError(f"audio file '{audio}' is shorter than one canvas frame")
        sound, length_fit = fit_length(sound, spec.samples_for_frames(frames))
        original = analyse(sound, spec)
        picture = torch.stack([fit_picture(plane, height=spec.height, width=frames, fit=fit) for plane in planes])
        picture = picture if stereo else picture[0]
        target = imprint_canvas(original, picture, strength=strength, invert=invert)
    parameters = {"strength": strength, "invert": invert, "seconds": spec.seconds_for_frames(frames),
                  "fit": fit, "seed": seed, "video": video, "audio_length": length_fit}
    if stereo:
        parameters["stereo"] = True
    if method != "griffinlim" or "view" in view_record(spec):
        parameters["phase"] = method
    with output_folder(output, overwrite=overwrite, inputs=[image, audio]) as folder:
        with timer.stage("reconstruct"):
            waveform, vocoder_record = render_sound(target, spec=spec, method=method, iterations=iterations,
                                                    seed=seed, progress=progress)
        metadata = {"command": "imprint", "parameters": parameters, **view_record(spec)}
        save_canvas_png(folder / "original.png", original, spec=spec,
                        metadata={**metadata, "role": "canvas of the untouched audio"})
        gain, level = None, None
        if audio_output.peak_db is not None:
            gain = matched_gain(waveform, reference_rms=rms(sound), peak_db=audio_output.peak_db)
            level = f"the recording's RMS, peak at most {audio_output.peak_db:g} dBFS"
        del sound  # not needed past here: a long recording's memory goes back before the outputs are written
        record = write_sound_outputs(folder, canvas=target, waveform=waveform, spec=spec, metadata=metadata,
                                     timer=timer, video=video, audio_output=audio_output, gain=gain, level=level)
        write_json(folder / "meta.json", {
            "command": "imprint",
            "input": {"image": {"path": str(image), "mode": picture_file.mode, "width": picture_file.width,
                                "height": picture_file.height},
                      "audio": source.describe()},
            "parameters": parameters, **view_record(spec),
            "viewer": describe_viewer(spec, file_gain=record["audio"]["gain"]), "vocoder": vocoder_record, **record,
            "timings": timer.as_dict(), "provenance": provenance(),
        })
    return output
