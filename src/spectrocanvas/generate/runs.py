"""`spectrocanvas generate`: run folders of images that sound.

One run folder holds ``run.json`` (what defines its samples) and ``sample_000/``, ``sample_001/``, …
Each sample folder is written in a staging folder and renamed, so a folder that exists is
complete: a run started again with the same settings skips those and finishes the rest.
``generate_pairs`` runs many prompt pairs (one sub-folder each) with the models loaded once.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from spectrocanvas.errors import OutputExistsError, SpectrocanvasError
from spectrocanvas.files.atomic import output_folder
from spectrocanvas.files.pictures import save_rgb_png
from spectrocanvas.files.records import provenance, read_json, write_json
from spectrocanvas.files.render import write_sound_outputs
from spectrocanvas.files.samples import RUN_FILE, SAMPLE_PREFIX, run_samples, sample_name
from spectrocanvas.generate.drawing import draw, play
from spectrocanvas.generate.legacy import upgrade_identity
from spectrocanvas.generate.methods import get_method
from spectrocanvas.generate.prompt_files import PromptPair, read_prompt_pairs
from spectrocanvas.generate.resolve import check_settings, resolve_settings
from spectrocanvas.generate.settings import GenerateSettings
from spectrocanvas.pairs.interface import ModelPair, PairEntry, Runtime
from spectrocanvas.pairs.registry import get_pair
from spectrocanvas.support.progress import progress_bar
from spectrocanvas.support.timing import StageTimer

RUN_FORMAT = 2
"""run.json layout: 2 names the model pair and stores the settings' schema names (1: before pairs)."""

OnSample = Callable[[Path], None]


def load_pair(runtime: Runtime) -> ModelPair:
    """The runtime's model pair, loaded (once per process per model), after its options are checked."""
    entry = get_pair(runtime.pair)
    entry.check_runtime(runtime)
    return entry.load(runtime)


def run_identity(settings: GenerateSettings, runtime: Runtime, entry: PairEntry) -> dict[str, Any]:
    """What decides a run's samples: the pair and its models, the settings, dtype, vocoder and video."""
    return {"pair": entry.name, "models": entry.sources(runtime), "settings": settings.identity(),
            "dtype": runtime.dtype, "vocoder": entry.vocoder_for(runtime), "video": runtime.video}


def identity_difference(previous: Mapping[str, Any], identity: Mapping[str, Any], *, limit: int = 3) -> str:
    """The first settings in which two run identities differ: "audio_weight 0.4 there, 0.0 here"."""
    def flat(record: Mapping[str, Any]) -> dict[str, Any]:
        return {**{k: v for k, v in record.items() if k != "settings"}, **record.get("settings", {})}

    old, new = flat(previous), flat(identity)
    keys = [k for k in dict.fromkeys([*new, *old]) if old.get(k) != new.get(k)]
    shown = ", ".join(f"{k} {old.get(k)!r} there, {new.get(k)!r} here" for k in keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def _recorded_identity(run_file: Path) -> dict[str, Any] | None:
    record = read_json(run_file)
    identity = record.get("identity")
    if identity is None or record.get("format", 1) >= RUN_FORMAT:
        return identity
    return upgrade_identity(identity)


def prepare_run_folder(folder: Path, settings: GenerateSettings, runtime: Runtime, *, overwrite: bool) -> list[int]:
    """Create or reopen a run folder; returns the sample indices still to make.

    A folder made by the same settings is resumed (also one written by spectrocanvas 0.1); any
    other existing folder is refused unless ``overwrite``. Staging folders left by a killed process
    are removed.
    """
    entry = get_pair(runtime.pair)
    identity = run_identity(settings, runtime, entry)
    run_file = folder / RUN_FILE
    if folder.exists():
        if not folder.is_dir():
            raise OutputExistsError(f"'{folder}' exists and is not a folder")
        previous = _recorded_identity(run_file) if run_file.is_file() else None
        unfinished = previous is not None and not run_samples(folder)
        if previous != identity and not unfinished:  # a run with no finished sample has nothing to lose
            if not overwrite:
                what = (f"a run with other settings ({identity_difference(previous, identity)})"
                        if previous is not None else "files that are not a generate run")
                raise OutputExistsError(f"output folder '{folder}' holds {what}; pass --overwrite to replace "
                                        "it, or run the same command again to resume it")
            shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(f".{SAMPLE_PREFIX}*.partial-*"):
        shutil.rmtree(stale, ignore_errors=True)
    write_json(run_file, {"format": RUN_FORMAT, "identity": identity, "n": settings.n, "provenance": provenance()})
    return [i for i in range(settings.n) if not (folder / sample_name(i)).is_dir()]


def to_rgb_array(pixels: torch.Tensor):
    """(3, H, W) in [0, 1] → uint8 (H, W, 3)."""
    return (pixels.permute(1, 2, 0).clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def write_sample(folder: Path, index: int, *, settings: GenerateSettings, runtime: Runtime, pair: ModelPair,
                 image_pixels: torch.Tensor, canvas: torch.Tensor, waveform: torch.Tensor, timer: StageTimer,
                 shared_timings: dict[str, float]) -> Path:
    """Write ``folder/sample_NNN/`` whole or not at all: image.png, the sound outputs and meta.json."""
    prompts = settings.prompts()
    metadata = {"command": "generate", "method": settings.method, "sample": index, "seed": settings.seed + index,
                "image_prompt": prompts.get("image"), "audio_prompt": prompts.get("audio"), "loop": settings.loop}
    with output_folder(folder / sample_name(index)) as staging:
        with timer.stage("write_image"):
            save_rgb_png(staging / "image.png", to_rgb_array(image_pixels), metadata=metadata)
        record = write_sound_outputs(staging, canvas=canvas, waveform=waveform, spec=pair.spec,
                                     metadata=metadata, timer=timer, video=runtime.video, loop=settings.loop)
        write_json(staging / "meta.json", {
            **metadata,
            "prompts": {**{m.name: m.prompt for m in settings.members},
                        **{f"{m.name}_negative": m.negative for m in settings.members}},
            "settings": settings.options(),
            "runtime": {"device": str(pair.device), "dtype": runtime.dtype, "batch_size": runtime.batch_size},
            "models": pair.describe(),
            "vocoder": pair.vocoder.describe(), "canvas": pair.spec.to_dict(), **record,
            "timings": {**shared_timings, **timer.as_dict()}, "provenance": provenance(),
        })
    return folder / sample_name(index)


def generate_run(folder: str | Path, settings: GenerateSettings, runtime: Runtime, *, pair: ModelPair | None = None,
                 overwrite: bool = False, on_sample: OnSample | None = None) -> list[Path]:
    """Make the missing samples of one prompt pair in ``folder``; returns every sample folder.

    ``on_sample(folder)`` is called after each new sample folder is written (e.g. to score it).
    """
    entry = get_pair(runtime.pair)
    entry.check_runtime(runtime)
    check_settings(settings, entry)
    folder = Path(folder)
    todo = prepare_run_folder(folder, settings, runtime, overwrite=overwrite)
    if todo:
        pair = pair or load_pair(runtime)
        method = get_method(settings.method)
        bar = progress_bar(total=len(todo) * method.units(settings), desc=f"{method.name}: {len(todo)} sample(s)",
                           enabled=runtime.progress, unit="step")
        on_step = bar.update if bar is not None else None
        batches = draw([settings] * len(todo), [settings.seed + i for i in todo], pair,
                       batch_size=runtime.batch_size or min(len(todo), 8), on_step=on_step)
        for drawn in batches:
            shared = {"sample": round(drawn.sampling_seconds / len(drawn.positions), 4),
                      "decode": round(drawn.decoding_seconds / len(drawn.positions), 4)}
            for row, position in enumerate(drawn.positions):
                timer = StageTimer()
                with timer.stage("reconstruct"):
                    waveform = play(pair, drawn.canvases[row], loop=settings.loop)
                written = write_sample(folder, todo[position], settings=settings, runtime=runtime, pair=pair,
                                       image_pixels=drawn.image_pixels[row], canvas=drawn.canvases[row],
                                       waveform=waveform, timer=timer, shared_timings=shared)
                if on_sample is not None:
                    on_sample(written)
        if bar is not None:
            bar.close()
    return run_samples(folder)


def generate(*, settings: GenerateSettings, output: str | Path, runtime: Runtime = Runtime(),
             overwrite: bool = False, on_sample: OnSample | None = None) -> list[Path]:
    """One prompt pair: make (or finish) ``settings.n`` samples in ``output``."""
    return generate_run(output, settings, runtime, overwrite=overwrite, on_sample=on_sample)


def pair_folder_name(index: int, row: PromptPair) -> str:
    """``pair_000_<slug>``: the row's name, or its prompts, made safe for a folder name."""
    sides = [row.options.get(f"{role}_prompt") or Path(str(row.options.get(f"init_{role}", role))).stem
             for role in ("image", "audio")]
    label = row.name or " + ".join(sides)
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:48] or "pair"
    return f"pair_{index:03d}_{slug}"


def plan_pairs(rows: Sequence[PromptPair], *, options: Mapping[str, Any], method: str, entry: PairEntry,
               strict: bool = True) -> list[GenerateSettings]:
    """Each row's settings over the command's ``options`` (flat, None where unset); a bad row is one
    line naming its place in the file."""
    planned = []
    for row in rows:
        try:
            planned.append(resolve_settings({**options, **row.options}, pair=entry, method=method, strict=strict))
        except SpectrocanvasError as error:
            raise type(error)(f"{row.where}: {error}") from None
    return planned


def generate_pairs(*, output: str | Path, runtime: Runtime = Runtime(), pairs_file: str | Path | None = None,
                   pairs: Sequence[Mapping[str, Any] | PromptPair] | None = None, method: str = "denoise",
                   options: Mapping[str, Any] | None = None, strict: bool = True, overwrite: bool = False,
                   on_sample: OnSample | None = None) -> list[Path]:
    """Many prompt pairs in one process: ``output/pair_000_<slug>/sample_000/``, … (models load once).

    The pairs come from ``pairs_file`` (JSONL or CSV) or ``pairs`` (rows, or dicts of flat settings
    with ``image_prompt`` and ``audio_prompt`` and an optional ``name``); ``options`` are the
    command's settings under each row's.
    """
    if (pairs_file is None) == (pairs is None):
        raise ValueError("give pairs_file or pairs, not both or neither")
    entry = get_pair(runtime.pair)
    entry.check_runtime(runtime)
    rows = read_prompt_pairs(pairs_file) if pairs_file is not None else [
        p if isinstance(p, PromptPair) else PromptPair(where=f"pair {i}", options={k: v for k, v in p.items()
                                                                                   if k != "name"}, name=p.get("name"))
        for i, p in enumerate(pairs)]
    planned = plan_pairs(rows, options=options or {}, method=method, entry=entry, strict=strict)
    pair: ModelPair | None = None
    samples: list[Path] = []
    for index, (row, settings) in enumerate(zip(rows, planned)):
        folder = Path(output) / pair_folder_name(index, row)
        if pair is None and prepare_run_folder(folder, settings, runtime, overwrite=overwrite):
            pair = load_pair(runtime)
        samples += generate_run(folder, settings, runtime, pair=pair, on_sample=on_sample)
    return samples
