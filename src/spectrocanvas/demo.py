"""`spectrocanvas demo`: everything that runs offline, on assets the project draws itself, and the
paper's method on the pocket model pair that ships with the package."""

from __future__ import annotations

import json
from pathlib import Path

from spectrocanvas.analyze import analyze
from spectrocanvas.audio_files import write_wav
from spectrocanvas.demo_assets import draw_demo_picture, synthesise_demo_sound
from spectrocanvas.imprint import imprint
from spectrocanvas.outputs import output_folder, read_json, write_json
from spectrocanvas.sonify import sonify


DEMO_POCKET_PAIRS = (("triangle", "bell"), ("circle", "chirps"))
"""Prompt pairs the demo composes with the pocket pair (any words of its vocabulary work)."""
DEMO_POCKET_SAMPLES = 4


def pocket_demo(folder: Path, *, progress: bool = False) -> list[Path]:
    """`generate --preset pocket` for :data:`DEMO_POCKET_PAIRS` into ``folder/<image>-<audio>/``,
    when the pocket weights are there (they ship with the package); returns the sample folders."""
    from spectrocanvas.generate import GenerateSettings, Runtime, generate_run
    from spectrocanvas.methods import method_settings
    from spectrocanvas.pocket.load import KINDS, default_weights_dir, weights_file

    if not all(weights_file(kind, default_weights_dir()).is_file() for kind in KINDS[:2]):
        return []
    runtime = Runtime(preset="pocket", progress=progress)
    samples: list[Path] = []
    for image_word, audio_word in DEMO_POCKET_PAIRS:
        settings = GenerateSettings(image_prompt=image_word, audio_prompt=audio_word, n=DEMO_POCKET_SAMPLES,
                                    **method_settings("denoise", {}, preset="pocket"))
        samples += generate_run(folder / f"{image_word}-{audio_word}", settings, runtime)
    return samples


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
        pocket = pocket_demo(folder / "pocket", progress=progress)
        _point_records_at(folder, output)
    made = {"folder": output, "sonify": output / "sonify", "imprint": output / "imprint",
            "analyze": output / "imprint-analyzed.png", "assets": output / "assets"}
    if pocket:
        made["pocket"] = output / "pocket"
    return made


def _point_records_at(staging: Path, final: Path) -> None:
    """The demo's inputs live in its own staging folder: record them where they will end up."""
    for meta in staging.glob("*/meta.json"):
        text = json.dumps(read_json(meta)).replace(json.dumps(str(staging))[1:-1], json.dumps(str(final))[1:-1])
        write_json(meta, json.loads(text))
