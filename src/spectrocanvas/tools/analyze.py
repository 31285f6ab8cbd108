"""Any audio file → its canvas PNG (what a spectrogram viewer shows, in the canvas convention)."""

from __future__ import annotations

from pathlib import Path

from spectrocanvas.canvas.spec import AUFFUSION, CanvasSpec
from spectrocanvas.canvas.view_analysis import AnySpec, analyse
from spectrocanvas.canvas.views import describe_viewer
from spectrocanvas.errors import OutputExistsError, SpectrocanvasError
from spectrocanvas.files.atomic import atomic_path
from spectrocanvas.files.audio import read_audio
from spectrocanvas.files.pictures import save_canvas_png
from spectrocanvas.files.records import provenance
from spectrocanvas.tools.sonify import view_record


def analyze(*, audio: str | Path, output: str | Path, overwrite: bool = False,
            spec: AnySpec = AUFFUSION, stereo: bool = False, seconds: float | None = None) -> Path:
    """Write the canvas of ``audio`` in the view ``spec`` (mel canvas, linear or log) as a 16-bit PNG
    carrying the view; ``stereo``: an RGB PNG, red the left channel, green the right (a mono file
    shows in both); ``seconds``: only the first S seconds. Returns the PNG path."""
    output = Path(output)
    if output.suffix.lower() != ".png":
        raise SpectrocanvasError(f"analyze writes a 16-bit PNG carrying the canvas's settings; name the output "
                                 f"FILE.png, not '{output.name}'")
    if output.exists() and not overwrite:
        raise OutputExistsError(f"'{output}' exists; pass --overwrite to replace it")
    if output.is_dir():
        raise OutputExistsError(f"'{output}' is a folder; name a .png file")
    if seconds is not None and not 0.01 <= seconds <= 3600:
        raise SpectrocanvasError(f"--seconds must be between 0.01 and 3600, not {seconds:g}")
    waveform, source = read_audio(audio, sample_rate=spec.sample_rate, keep_channels=stereo)
    if stereo:
        waveform = waveform[[0, -1]]  # mono: the one channel in red and green
    if seconds is not None:
        waveform = waveform[..., : spec.samples_for_frames(spec.frames_for_seconds(seconds))]
    if waveform.shape[-1] < spec.hop_length or waveform.shape[-1] <= spec.padding:
        raise SpectrocanvasError(f"audio file '{audio}' is too short for one canvas frame")
    canvas = analyse(waveform, spec)
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(output) as temporary:
        save_canvas_png(temporary, canvas, spec=spec, metadata={
            "command": "analyze", "input": source.describe(), **view_record(spec),
            **({} if isinstance(spec, CanvasSpec) else {"viewer": describe_viewer(spec)}), "provenance": provenance()})
    return output
