"""`spectrocanvas demo`: everything that runs offline, on assets the project draws itself."""

from __future__ import annotations

import json
from pathlib import Path

from spectrocanvas.analyze import analyze
from spectrocanvas.audio_files import write_wav
from spectrocanvas.demo_assets import draw_demo_picture, synthesise_demo_sound
from spectrocanvas.imprint import imprint
from spectrocanvas.outputs import output_folder, read_json, write_json
from spectrocanvas.sonify import sonify


def run_demo(*, output: str | Path = "demo-output", overwrite: bool = False, progress: bool = False) -> dict[str, Path]:
    """Draw a picture and a sound, then sonify, imprint and analyze them. Returns the paths made."""
    output = Path(output)
    with output_folder(output, overwrite=overwrite) as folder:
        picture = folder / "assets" / "night.png"
        sound = folder / "assets" / "bells.wav"
        picture.parent.mkdir()
        draw_demo_picture().save(picture)
        write_wav(sound, synthesise_demo_sound(), sample_rate=16000)
        sonify(image=picture, output=folder / "sonify", progress=progress)
        imprint(image=picture, audio=sound, output=folder / "imprint", progress=progress)
        analyze(audio=folder / "imprint" / "audio.wav", output=folder / "imprint-analyzed.png")
        _point_records_at(folder, output)
    return {"folder": output, "sonify": output / "sonify", "imprint": output / "imprint",
            "analyze": output / "imprint-analyzed.png", "assets": output / "assets"}


def _point_records_at(staging: Path, final: Path) -> None:
    """The demo's inputs live in its own staging folder: record them where they will end up."""
    for meta in staging.glob("*/meta.json"):
        text = json.dumps(read_json(meta)).replace(json.dumps(str(staging))[1:-1], json.dumps(str(final))[1:-1])
        write_json(meta, json.loads(text))
