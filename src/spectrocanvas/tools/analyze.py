"""Any audio file → its canvas PNG (what a spectrogram viewer shows, in the canvas convention)."""

from __future__ import annotations

from pathlib import Path

from spectrocanvas.canvas.analysis import audio_to_canvas
from spectrocanvas.canvas.spec import AUFFUSION, CanvasSpec
from spectrocanvas.errors import OutputExistsError, SpectrocanvasError
from spectrocanvas.files.atomic import atomic_path
from spectrocanvas.files.audio import read_audio
from spectrocanvas.files.pictures import save_canvas_png
from spectrocanvas.files.records import provenance


def analyze(*, audio: str | Path, output: str | Path, overwrite: bool = False,
            spec: CanvasSpec = AUFFUSION) -> Path:
    """Write the canvas of ``audio`` as a 16-bit PNG carrying its spec; returns the PNG path."""
    output = Path(output)
    if output.suffix.lower() != ".png":
        raise SpectrocanvasError(f"analyze writes a 16-bit PNG carrying the canvas's settings; name the output "
                                 f"FILE.png, not '{output.name}'")
    if output.exists() and not overwrite:
        raise OutputExistsError(f"'{output}' exists; pass --overwrite to replace it")
    if output.is_dir():
        raise OutputExistsError(f"'{output}' is a folder; name a .png file")
    waveform, source = read_audio(audio, sample_rate=spec.sample_rate)
    if waveform.shape[-1] < spec.hop_length or waveform.shape[-1] <= spec.padding:
        raise SpectrocanvasError(f"audio file '{audio}' is too short for one canvas frame")
    canvas = audio_to_canvas(waveform, spec)
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(output) as temporary:
        save_canvas_png(temporary, canvas, spec=spec, metadata={
            "command": "analyze", "input": source.describe(), "canvas": spec.to_dict(), "provenance": provenance()})
    return output
