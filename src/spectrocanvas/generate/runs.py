"""`spectrocanvas generate`: run folders of images that sound.

One run folder holds ``run.json`` (what defines its samples) and ``sample_000/``, ``sample_001/``, …
Each sample folder is written in a staging folder and renamed, so a folder that exists is
complete: a run started again with the same settings skips those and finishes the rest.
``generate_pairs`` runs many prompt pairs (one sub-folder each) with the models loaded once.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from spectrocanvas.canvas.spec import CanvasSpec
from spectrocanvas.errors import OutputExistsError, SpectrocanvasError
from spectrocanvas.files.atomic import check_output_target, output_folder, sweep_stale
from spectrocanvas.files.pictures import save_rgb_png
from spectrocanvas.files.records import provenance, read_json, write_json
from spectrocanvas.files.render import add_video, write_sound_outputs
from spectrocanvas.files.samples import RUN_FILE, run_samples, sample_name
from spectrocanvas.generate.drawing import draw, play
from spectrocanvas.generate.legacy import upgrade_identity
from spectrocanvas.generate.methods import get_method
from spectrocanvas.generate.prompt_files import PromptPair, read_prompt_pairs
from spectrocanvas.generate.resolve import check_settings, resolve_settings
from spectrocanvas.generate.settings import GenerateSettings
from spectrocanvas.pairs.interface import ModelPair, PairEntry, Runtime, ScorerRequest
from spectrocanvas.pairs.registry import get_pair
from spectrocanvas.support.batching import batched
from spectrocanvas.support.processes import Processes, current_processes
from spectrocanvas.support.progress import progress_bar
from spectrocanvas.support.timing import StageTimer

RUN_FORMAT = 2
"""run.json layout: 2 names the model pair and stores the settings' schema names (1: before pairs)."""

OnSample = Callable[[Path], None]
DEFAULT_BATCH = 8
"""Samples drawn at once when --batch-size is unset."""


def load_pair(runtime: Runtime) -> ModelPair:
    """The runtime's model pair, loaded (once per process per model), after its options are checked."""
    entry = get_pair(runtime.pair)
    entry.check_runtime(runtime)
    return entry.load(runtime)


def run_identity(settings: GenerateSettings, runtime: Runtime, entry: PairEntry) -> dict[str, Any]:
    """What decides a run's samples: the pair and its models, the settings, dtype and vocoder (not the
    video: it shows what a sample's other files hold, and can be added to a finished run)."""
    return {"pair": entry.name, "models": entry.sources(runtime), "settings": settings.identity(),
            "dtype": runtime.dtype, "vocoder": entry.vocoder_for(runtime)}


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
    if identity is None:
        return None
    if record.get("format", 1) < RUN_FORMAT:
        identity = upgrade_identity(identity)
    return {k: v for k, v in identity.items() if k != "video"}  # recorded before videos could be added later


def check_run_folder(folder: Path, settings: GenerateSettings, runtime: Runtime, *, overwrite: bool) -> bool:
    """Whether ``folder`` may take this run (reading only): new, the same run (resumed; also one
    written by spectrocanvas 0.1), or one with no finished sample. Another run's folder is refused
    in one line naming the first differences unless ``overwrite``; returns whether it must be replaced."""
    identity = run_identity(settings, runtime, get_pair(runtime.pair))
    if not folder.exists():
        return False
    if not folder.is_dir():
        raise OutputExistsError(f"'{folder}' exists and is not a folder")
    run_file = folder / RUN_FILE
    previous = _recorded_identity(run_file) if run_file.is_file() else None
    unfinished = previous is not None and not run_samples(folder)
    if previous == identity or unfinished:  # a run with no finished sample has nothing to lose
        return False
    if not overwrite:
        what = (f"a run with other settings ({identity_difference(previous, identity)})"
                if previous is not None else "files that are not a generate run")
        raise OutputExistsError(f"output folder '{folder}' holds {what}; pass --overwrite to replace "
                                "it, or run the same command again to resume it")
    check_output_target(folder, overwrite=True, inputs=[f for f in (settings.init_audio, settings.init_image) if f])
    return True


def open_run_folder(folder: Path, settings: GenerateSettings, runtime: Runtime, *, replace: bool) -> None:
    """Create (or replace) the run folder, write its run.json, and sweep staging folders a killed
    process left."""
    if replace:  # checked: it holds only our outputs; set aside in one rename, then removed
        retired = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old-", dir=folder.parent))
        os.replace(folder, retired / folder.name)
        shutil.rmtree(retired, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    sweep_stale(folder)
    identity = run_identity(settings, runtime, get_pair(runtime.pair))
    write_json(folder / RUN_FILE, {"format": RUN_FORMAT, "identity": identity, "n": settings.n,
                                   "provenance": provenance()})


def missing_folders(folders: Sequence[Path]) -> list[Path]:
    """The folders among ``folders`` and their parents that do not exist yet, deepest first."""
    missing: dict[Path, None] = {}
    for folder in folders:
        for path in (folder, *folder.parents):
            if path.exists():
                break
            missing[path] = None
    return sorted(missing, key=lambda path: len(path.parts), reverse=True)


def remove_unstarted(created: Sequence[Path]) -> None:
    """Remove the folders a failed call created (deepest first) that hold nothing but a run.json: a run
    that failed before its first sample leaves no folder behind."""
    for folder in created:
        try:
            if {p.name for p in folder.iterdir()} <= {RUN_FILE}:
                shutil.rmtree(folder)
        except OSError:  # never made, or not ours to remove
            continue


def prepare_run_folder(folder: Path, settings: GenerateSettings, runtime: Runtime, *, overwrite: bool) -> list[int]:
    """Check, then create or reopen, one run folder (one process); returns the sample indices still to make."""
    open_run_folder(folder, settings, runtime, replace=check_run_folder(folder, settings, runtime, overwrite=overwrite))
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
                                     metadata=metadata, timer=timer, video=runtime.video, loop=settings.loop,
                                     audio_output=runtime.audio_output)
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


@dataclass(frozen=True)
class Unit:
    """One sample to make: its run (folder and settings) and its index there."""

    folder: Path
    settings: GenerateSettings
    index: int

    @property
    def seed(self) -> int:
        return self.settings.seed + self.index

    @property
    def done(self) -> bool:
        return (self.folder / sample_name(self.index)).is_dir()


def unit_batches(runs: Sequence[tuple[Path, GenerateSettings]], batch_size: int) -> list[list[Unit]]:
    """Every sample of ``runs`` (finished or not) in batches of at most ``batch_size`` that share all
    settings but prompts and seeds (so a batch may span prompt pairs), in a fixed order.

    The batches do not depend on what is finished or on the number of processes, so a sample is
    drawn in the same batch however the work is split or resumed, and comes out bit for bit alike.
    """
    groups: dict[tuple, list[Unit]] = {}
    for folder, settings in runs:
        groups.setdefault(settings.sampling_key(), []).extend(Unit(folder, settings, i) for i in range(settings.n))
    return [chunk for units in groups.values() for chunk in batched(units, batch_size)]


def make_runs(runs: Sequence[tuple[Path, GenerateSettings]], runtime: Runtime, *, pair: ModelPair | None = None,
              overwrite: bool = False, on_sample: OnSample | None = None, processes: Processes | None = None,
              scorer: ScorerRequest | None = None) -> list[Path]:
    """Make the missing samples of several runs (a folder and its settings each); returns every
    sample folder of every run.

    Before any folder is made, every model the missing samples need (and, with ``scorer``, the
    models of the scorer that will judge them) must be on this machine or downloadable: otherwise
    one line names them all.

    The work is split across ``processes`` (default: those of this accelerate launch, or this one
    alone): each batch of :func:`unit_batches` with a missing sample is drawn whole by one process
    (its finished samples are not written again), so the files are those one process would make.
    """
    entry = get_pair(runtime.pair)
    entry.check_runtime(runtime)
    for _, settings in runs:
        check_settings(settings, entry)
    processes = processes or current_processes()
    runtime = dataclasses.replace(runtime, device=processes.device_for(runtime.device))
    replaced = [check_run_folder(folder, settings, runtime, overwrite=overwrite) for folder, settings in runs]
    if pair is None and any(not (folder / sample_name(i)).is_dir() for folder, settings in runs
                            for i in range(settings.n)):
        entry.require_weights(runtime, scorer)
    processes.wait()  # every process has checked before the main one changes anything
    created = missing_folders([folder for folder, _ in runs])
    try:
        if processes.is_main:
            for (folder, settings), again in zip(runs, replaced):
                open_run_folder(folder, settings, runtime, replace=again)
        processes.wait()
        batches = [b for b in unit_batches(runs, runtime.batch_size or DEFAULT_BATCH) if not all(u.done for u in b)]
        processes.wait()  # every process has listed what is left before any writes a sample
        todo = processes.mine(batches)
        if todo:
            pair = pair or load_pair(runtime)
            steps = sum(get_method(b[0].settings.method).units(b[0].settings) * len(b) for b in todo)
            missing = sum(not u.done for b in todo for u in b)
            everyone = sum(not u.done for b in batches for u in b)
            share = f" (this process's share of {everyone})" if processes.count > 1 else ""
            bar = progress_bar(total=steps, desc=f"{missing} sample(s){share}", unit="step",
                               enabled=runtime.progress and processes.is_main)
            for batch in todo:
                _make_batch(batch, runtime, pair, bar, on_sample)
            if bar is not None:
                bar.close()
    except BaseException:
        if processes.is_main:
            remove_unstarted(created)
        raise
    processes.wait()
    samples = [sample for folder, _ in runs for sample in run_samples(folder)]
    if runtime.video:  # samples an earlier run made without one
        add_videos(samples, progress=runtime.progress, processes=processes)
    return samples


def add_videos(samples: Sequence[Path], *, progress: bool = False, processes: Processes | None = None) -> list[Path]:
    """Write video.mp4 into the sample folders without one, split across ``processes``; returns those.

    Each video appears whole (written aside, then renamed) and is then recorded in meta.json; it is
    the file the sample would have had if made with its video (it shows what audio.wav holds).
    """
    processes = processes or current_processes()
    missing = [s for s in samples if not (s / "video.mp4").is_file() or "video" not in read_json(s / "meta.json")]
    processes.wait()  # every process has listed what is missing before any writes a video
    mine = processes.mine(missing)
    bar = progress_bar(total=len(mine), desc="videos", enabled=progress and processes.is_main and bool(mine),
                       unit="video")
    for sample in mine:
        sweep_stale(sample)  # what a process killed while adding left
        meta, timer = read_json(sample / "meta.json"), StageTimer()
        record = add_video(sample, spec=CanvasSpec.from_dict(meta["canvas"]), audio=meta.get("audio", {}),
                           loop=bool(meta.get("loop")), timer=timer)
        timings = {**meta.get("timings", {}), "video": timer.as_dict()["video"]}
        files = sorted({*meta.get("files", []), "video.mp4"})
        write_json(sample / "meta.json", {**meta, "video": record, "timings": timings, "files": files})
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    processes.wait()
    return missing


def _make_batch(batch: list[Unit], runtime: Runtime, pair: ModelPair, bar, on_sample: OnSample | None) -> None:
    """Draw one batch and write the samples of it that are missing."""
    drawn = next(iter(draw([u.settings for u in batch], [u.seed for u in batch], pair, batch_size=len(batch),
                           on_step=bar.update if bar is not None else None)))
    shared = {"sample": round(drawn.sampling_seconds / len(batch), 4),
              "decode": round(drawn.decoding_seconds / len(batch), 4)}
    for row, unit in enumerate(batch):
        if unit.done:
            continue
        timer = StageTimer()
        with timer.stage("reconstruct"):
            waveform = play(pair, drawn.canvases[row], loop=unit.settings.loop)
        written = write_sample(unit.folder, unit.index, settings=unit.settings, runtime=runtime, pair=pair,
                               image_pixels=drawn.image_pixels[row], canvas=drawn.canvases[row],
                               waveform=waveform, timer=timer, shared_timings=shared)
        if on_sample is not None:
            on_sample(written)


def generate_run(folder: str | Path, settings: GenerateSettings, runtime: Runtime, *, pair: ModelPair | None = None,
                 overwrite: bool = False, on_sample: OnSample | None = None,
                 scorer: ScorerRequest | None = None) -> list[Path]:
    """Make the missing samples of one prompt pair in ``folder``; returns every sample folder.

    ``on_sample(folder)`` is called after each new sample folder is written (e.g. to score it);
    ``scorer`` names the scorer it loads, so its missing models are reported before anything is made.
    """
    return make_runs([(Path(folder), settings)], runtime, pair=pair, overwrite=overwrite, on_sample=on_sample,
                     scorer=scorer)


def generate(*, settings: GenerateSettings, output: str | Path, runtime: Runtime = Runtime(),
             overwrite: bool = False, on_sample: OnSample | None = None,
             scorer: ScorerRequest | None = None) -> list[Path]:
    """One prompt pair: make (or finish) ``settings.n`` samples in ``output``."""
    return generate_run(output, settings, runtime, overwrite=overwrite, on_sample=on_sample, scorer=scorer)


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


def pair_runs(output: str | Path, rows: Sequence[PromptPair], *, options: Mapping[str, Any], method: str,
              entry: PairEntry, strict: bool = True) -> list[tuple[Path, GenerateSettings]]:
    """The runs of prompt pairs: ``output/pair_000_<slug>`` with each row's settings (:func:`plan_pairs`)."""
    planned = plan_pairs(rows, options=options, method=method, entry=entry, strict=strict)
    return [(Path(output) / pair_folder_name(index, row), settings)
            for index, (row, settings) in enumerate(zip(rows, planned))]


def generate_pairs(*, output: str | Path, runtime: Runtime = Runtime(), pairs_file: str | Path | None = None,
                   pairs: Sequence[Mapping[str, Any] | PromptPair] | None = None, method: str = "denoise",
                   options: Mapping[str, Any] | None = None, strict: bool = True, overwrite: bool = False,
                   on_sample: OnSample | None = None, scorer: ScorerRequest | None = None) -> list[Path]:
    """Many prompt pairs: ``output/pair_000_<slug>/sample_000/``, … (models load once per process;
    samples of different pairs are batched together where their settings allow).

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
    runs = pair_runs(output, rows, options=options or {}, method=method, entry=entry, strict=strict)
    return make_runs(runs, runtime, overwrite=overwrite, on_sample=on_sample, scorer=scorer)
