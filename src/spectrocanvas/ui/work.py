"""The page's work, done by the library functions with keyword arguments (the same calls, folders
and meta.json as the CLI): sonify, imprint, analyze and composition with a live preview.

This module imports torch and the tools; the page imports it on first use (and warms it in the
background right after it starts), so the page itself answers before torch has loaded."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from spectrocanvas.canvas.views import make_view
from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.files.audio import AudioOutput
from spectrocanvas.files.samples import run_samples
from spectrocanvas.generate.resolve import resolve_settings, settings_table
from spectrocanvas.generate.runs import generate
from spectrocanvas.generate.sampling import watching_latents
from spectrocanvas.measure.evaluate import load_scorer, score_samples
from spectrocanvas.pairs.hub import download_command
from spectrocanvas.pairs.interface import ModelPair, Runtime
from spectrocanvas.pairs.registry import PAIRS, get_pair
from spectrocanvas.pairs.sd_models import expand_alias
from spectrocanvas.tools.analyze import analyze
from spectrocanvas.tools.imprint import imprint
from spectrocanvas.tools.sonify import sonify
from spectrocanvas.ui.runs import RunStore
from spectrocanvas.ui.tool_options import VIEW_KEYS, tool_arguments
from spectrocanvas.ui.uploads import UploadLimits, check_picture, check_recording

PREVIEW_EVERY_S = 0.5
"""Previews after the first are decoded at most this often (the VAE of a real pair is not free); and
when the page is slower to send them than they come, only the newest is sent."""
PREVIEW_ROWS = 256
"""Previews are scaled (nearest) to at least this height, so the pocket pair's 32 rows are visible."""


def _audio_output(sound: Mapping[str, Any]) -> AudioOutput:
    return AudioOutput(peak_db=None if sound.get("keep_level") else sound.get("peak_db", -1.0),
                       format=sound.get("audio_format", "float"))


def _with_view(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The view rows of a tool's form (popped from ``kwargs``) as its ``spec``, checked like the CLI's."""
    view = {name: kwargs.pop(name) for name in VIEW_KEYS}
    view["sample_rate"] = view.pop("view_rate")
    return {**kwargs, "spec": make_view(**view)}


def run_sonify(store: RunStore, limits: UploadLimits, *, image: str | None, values: Mapping[str, Any]) -> Path:
    """A picture → a sonify run folder."""
    picture = check_picture(image, limits)
    kwargs, sound = tool_arguments("sonify", values)
    named = kwargs["scale"] != "mel" or any(kwargs[k] is not None for k in VIEW_KEYS[1:])
    kwargs = {**_with_view(kwargs), "view_named": named}
    return sonify(image=picture, output=store.new_run("sonify", picture.stem), audio_output=_audio_output(sound),
                  **kwargs)


def run_imprint(store: RunStore, limits: UploadLimits, *, image: str | None, audio: str | None,
                values: Mapping[str, Any]) -> Path:
    """A picture carved into a recording → an imprint run folder."""
    picture = check_picture(image, limits)
    recording = check_recording(audio, limits)
    kwargs, sound = tool_arguments("imprint", values)
    kwargs = _with_view(kwargs)
    return imprint(image=picture, audio=recording, output=store.new_run("imprint", f"{picture.stem}-{recording.stem}"),
                   audio_output=_audio_output(sound), **kwargs)


def run_analyze(store: RunStore, limits: UploadLimits, *, audio: str | None,
                values: Mapping[str, Any] | None = None) -> Path:
    """A recording → an analyze run folder holding canvas.png (the CLI's analyze output)."""
    recording = check_recording(audio, limits)
    kwargs, _ = tool_arguments("analyze", values or {})
    kwargs = _with_view(kwargs)
    folder = store.new_run("analyze", recording.stem)
    folder.mkdir()
    try:
        analyze(audio=recording, output=folder / "canvas.png", **kwargs)
    except BaseException:
        folder.rmdir()
        raise
    return folder


def pair_note(name: str) -> str:
    """What the page says about a model pair: its description, and how to get its weights if missing."""
    entry = get_pair(name)
    if entry.available():
        return f"**{entry.name}**: {entry.description}"
    return f"**{entry.name}**: {missing_weights(name)}"


def missing_weights(name: str) -> str:
    """How to get a pair's weights, naming its models."""
    entry = get_pair(name)
    downloads = "; ".join(f"`{download_command(expand_alias(slot.default_source))}`" for slot in entry.models)
    return (f"the {entry.name} weights are not on this machine. Where there is a network, run {downloads} "
            "(into the Hugging Face cache, or point HF_HOME at a copy), then start the page again; "
            "the pocket pair works offline meanwhile")


COMPOSE_SETTINGS = ("image_prompt", "audio_prompt", "n", "seed", "steps", "image_guidance", "audio_guidance",
                    "audio_weight")
"""The generate settings the Compose tab sets; the rest take the pair's defaults for the method."""
MAX_SAMPLES = 8


@dataclass
class ComposeUpdate:
    """One update of a composition: a preview (uint8 H × W), a line of progress, and at the end the run."""

    preview: np.ndarray | None = None
    status: str = ""
    run: Path | None = None
    samples: list[Path] = field(default_factory=list)


def _preview_pixels(pair: ModelPair, latents: torch.Tensor) -> np.ndarray:
    """The batch's canvases side by side (low frequencies at the bottom), scaled up for the page."""
    canvases = pair.decode_canvas(latents.detach()).float().clamp(0, 1)
    rows = [c.numpy() for c in canvases]
    gap = np.ones((rows[0].shape[0], 2), dtype=np.float32)
    tiled = np.concatenate([x for c in rows for x in (c, gap)][:-1], axis=1)
    scale = max(1, PREVIEW_ROWS // tiled.shape[0])
    return (np.kron(tiled, np.ones((scale, scale), dtype=np.float32)) * 255).round().astype(np.uint8)


def compose_settings(pair: str, values: Mapping[str, Any]):
    """Checked generate settings for the Compose form (blank values: the pair's defaults)."""
    if pair not in PAIRS:
        raise SpectrocanvasError(f"unknown model pair '{pair}'; choose one of {', '.join(PAIRS)}")
    strange = sorted(set(values) - set(COMPOSE_SETTINGS))
    if strange:
        raise SpectrocanvasError(f"compose has no setting {', '.join(strange)}")
    options: dict[str, Any] = {name: None for name, s in settings_table().items() if s.option.public}
    for name in COMPOSE_SETTINGS:
        value = values.get(name)
        if isinstance(value, str):
            value = value.strip() or None
        if value is not None and name not in ("image_prompt", "audio_prompt"):
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise SpectrocanvasError(f"{name.replace('_', ' ')}: {str(value)[:40]!r} is not a number") from None
            if value != value or value in (float("inf"), float("-inf")):
                raise SpectrocanvasError(f"{name.replace('_', ' ')} must be a finite number")
            if name in ("n", "seed", "steps"):
                if value != int(value):
                    raise SpectrocanvasError(f"{name} must be a whole number, not {value:g}")
                value = int(value)
        options[name] = value
    if options["n"] is not None and not 1 <= options["n"] <= MAX_SAMPLES:
        raise SpectrocanvasError(f"samples: 1 to {MAX_SAMPLES} on this page")
    if options["steps"] is not None and not 1 <= options["steps"] <= 200:
        raise SpectrocanvasError("steps: 1 to 200 on this page")
    return resolve_settings(options, pair=pair, method="denoise")


def compose(store: RunStore, *, pair: str, values: Mapping[str, Any], score: bool = True,
            device: str | None = None) -> Iterator[ComposeUpdate]:
    """Compose samples in a new run folder, yielding previews while the canvas denoises, then the run.

    The work runs in a thread (the library call ``generate``); its latents reach this generator
    through :func:`~spectrocanvas.generate.sampling.watching_latents`.
    """
    settings = compose_settings(pair, values)
    entry = get_pair(pair)
    if not entry.available():
        raise SpectrocanvasError(missing_weights(pair))
    runtime = Runtime(pair=pair, device=device, progress=False)
    folder = store.new_run("compose", f"{settings.prompts().get('image', '')}-{settings.prompts().get('audio', '')}")
    updates: queue.Queue = queue.Queue()
    last = [0.0]

    def watch(model_pair: ModelPair, step: int, total: int, latents: torch.Tensor) -> None:
        now = time.monotonic()
        if step + 1 < total and step > 0 and now - last[0] < PREVIEW_EVERY_S:
            return
        last[0] = now
        updates.put(ComposeUpdate(preview=_preview_pixels(model_pair, latents),
                                  status=f"denoising: step {step + 1} of {total}"))

    on_sample = None
    if score:
        scorer = load_scorer(entry, device=device, offline=runtime.offline)
        on_sample = lambda sample: score_samples([sample], scorer, entry.scoring.keys)  # noqa: E731

    def work() -> None:
        try:
            with watching_latents(watch):
                generate(settings=settings, output=folder, runtime=runtime, on_sample=on_sample)
            updates.put(None)
        except BaseException as error:  # handed to the page's thread, which raises it there
            updates.put(error)

    thread = threading.Thread(target=work, name="spectrocanvas-compose", daemon=True)
    thread.start()
    yield ComposeUpdate(status=f"loading the {pair} pair…")
    while True:
        update = updates.get()
        while isinstance(update, ComposeUpdate) and not updates.empty():
            update = updates.get()  # the page shows the newest preview: stale ones are skipped, not queued up
        if update is None:
            break
        if isinstance(update, BaseException):
            raise update
        yield update
    thread.join()
    yield ComposeUpdate(status=f"{settings.n} sample(s) in {store.name_of(folder)}", run=folder,
                        samples=run_samples(folder))


def warm_up() -> None:
    """Load what the first request would load (the pocket pair and its judges), so it comes quickly."""
    entry = get_pair("pocket")
    entry.load(Runtime(pair="pocket", offline=True))
    load_scorer(entry, offline=True)
