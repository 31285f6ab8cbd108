"""`spectrocanvas demo`: everything that runs offline, on assets the project draws itself, and the
paper's method on the pocket model pair that ships with the package."""

from __future__ import annotations

import json
from pathlib import Path

from spectrocanvas.files.atomic import output_folder
from spectrocanvas.files.audio import write_wav
from spectrocanvas.files.records import provenance, read_json, write_json
from spectrocanvas.generate.resolve import resolve_settings
from spectrocanvas.generate.runs import make_runs
from spectrocanvas.pairs.interface import Runtime
from spectrocanvas.pairs.registry import get_pair
from spectrocanvas.tools.analyze import analyze
from spectrocanvas.tools.demo_assets import draw_demo_picture, synthesise_demo_sound
from spectrocanvas.tools.imprint import imprint
from spectrocanvas.tools.sonify import sonify

DEMO_PAIR = "pocket"
"""The model pair the demo composes with: it ships with the package and runs offline on a CPU."""
DEMO_PROMPTS = (("triangle", "bell"), ("circle", "chirps"))
"""Prompt pairs the demo composes (any words of the pocket vocabulary work)."""
DEMO_SAMPLES = 4


def compose_demo(folder: Path, *, progress: bool = False) -> list[Path]:
    """`generate` with :data:`DEMO_PAIR` for :data:`DEMO_PROMPTS` into ``folder/<image>-<audio>/``,
    when the pair's weights are on this machine; returns the sample folders."""
    entry = get_pair(DEMO_PAIR)
    if not entry.available():
        return []
    runtime = Runtime(pair=DEMO_PAIR, progress=progress)
    runs = [(folder / f"{image}-{audio}",
             resolve_settings({"image_prompt": image, "audio_prompt": audio, "n": DEMO_SAMPLES}, pair=entry))
            for image, audio in DEMO_PROMPTS]
    return make_runs(runs, runtime)


def run_demo(*, output: str | Path = "demo-output", overwrite: bool = False, progress: bool = False) -> dict[str, Path]:
    """Draw a picture and a sound, then sonify, imprint and analyze them, and compose images that
    sound with the pocket pair. Returns the paths made."""
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
        composed = compose_demo(folder / DEMO_PAIR, progress=progress)
        _point_records_at(folder, output)
        write_json(folder / "meta.json", {"command": "demo", "provenance": provenance()})  # lists the files: --overwrite
    made = {"folder": output, "sonify": output / "sonify", "imprint": output / "imprint",
            "analyze": output / "imprint-analyzed.png", "assets": output / "assets"}
    if composed:
        made["composed"] = output / DEMO_PAIR
    return made


def _point_records_at(staging: Path, final: Path) -> None:
    """The demo's inputs live in its own staging folder: record them where they will end up."""
    for meta in staging.glob("*/meta.json"):
        text = json.dumps(read_json(meta)).replace(json.dumps(str(staging))[1:-1], json.dumps(str(final))[1:-1])
        write_json(meta, json.loads(text))
