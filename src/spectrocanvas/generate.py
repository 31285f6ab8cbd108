"""`spectrocanvas generate`: text prompts in, images that sound out (the paper's method).

One run folder holds ``run.json`` (what defines its samples) and ``sample_000/``, ``sample_001/``, …
Each sample folder is written in a staging folder and renamed, so a folder that exists is
complete: a run started again with the same settings skips those and finishes the rest.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch

from spectrocanvas.canvas import AUFFUSION, CanvasSpec
from spectrocanvas.errors import OutputExistsError, SpectrocanvasError
from spectrocanvas.model_pair import ModelPair, PairBase, check_preset, check_prompts, preset_vocoder
from spectrocanvas.outputs import output_folder, provenance, read_json, write_json
from spectrocanvas.pictures import save_rgb_png
from spectrocanvas.render import write_sound_outputs
from spectrocanvas.timing import StageTimer

SAMPLE_PREFIX = "sample_"
RUN_FILE = "run.json"
VOCODERS = ("hifigan", "griffinlim")


WARM_START_FRACTION = 0.1
"""The paper lets Auffusion denoise alone for the first 10 of 100 steps."""


def warm_start_steps(steps: int) -> int:
    """The step at which the image model joins by default: a tenth of the steps, rounded."""
    return int(round(steps * WARM_START_FRACTION))


@dataclass(frozen=True)
class GenerateSettings:
    """Everything that defines the samples of one prompt pair (the paper's values as defaults)."""

    image_prompt: str
    audio_prompt: str
    n: int = 1
    seed: int = 0
    steps: int = 100
    scheduler: str = "ddim"
    image_guidance: float = 10.0
    audio_guidance: float = 10.0
    audio_weight: float = 0.5
    image_start: int | None = None
    """Step index at which the image model joins; unset: the paper's warm start, a tenth of the steps."""
    audio_start: int = 0
    image_negative: str = ""
    audio_negative: str = ""
    latent_height: int = 32
    latent_width: int = 128
    crop_columns: int = 32
    method: str = "denoise"
    # read only by some methods (None elsewhere; see spectrocanvas.methods and docs/methods.md)
    image_steps: int | None = None
    sds_iterations: int | None = None
    sds_lr: float | None = None
    sds_image_start: int | None = None

    @property
    def image_start_step(self) -> int:
        """``image_start``, or the warm start (a tenth of ``steps``, as 10 of 100 in the paper) when unset."""
        return warm_start_steps(self.steps) if self.image_start is None else self.image_start

    def validate(self) -> None:
        """Refuse settings a user can get wrong, with one line each."""
        for name in ("image_prompt", "audio_prompt"):
            if not getattr(self, name).strip():
                raise SpectrocanvasError(f"--{name.replace('_', '-')} is empty; say what the "
                                         f"{name.split('_')[0]} should show" if name == "image_prompt"
                                         else "--audio-prompt is empty; say what the sound should be")
        if self.n < 1:
            raise SpectrocanvasError(f"-n must be at least 1, not {self.n}")
        if not 1 <= self.steps <= 1000:
            raise SpectrocanvasError(f"--steps must be between 1 and 1000, not {self.steps}")
        if not 0.0 <= self.audio_weight <= 1.0:
            raise SpectrocanvasError(f"--audio-weight must be between 0 and 1, not {self.audio_weight:g}")
        for name, value in (("image_start", self.image_start_step), ("audio_start", self.audio_start)):
            if not 0 <= value < self.steps:
                raise SpectrocanvasError(f"--{name.replace('_', '-')} must be a step index in 0 … {self.steps - 1}, "
                                         f"not {value}")
        if min(self.image_start_step, self.audio_start) != 0:
            raise SpectrocanvasError("one of --image-start and --audio-start must be 0: some model must "
                                     "denoise from the first step")
        if self.latent_height < 1 or self.latent_width < 1 or self.crop_columns < 0:
            raise SpectrocanvasError("latent size must be positive and the crop non-negative")
        from spectrocanvas.methods import validate_method

        validate_method(self)

    def identity(self) -> dict[str, Any]:
        """The settings that decide what sample i is (everything but how many)."""
        from spectrocanvas.methods import METHOD_FIELDS

        # method-only settings that are unset are left out, so runs made before they existed resume
        return {k: v for k, v in asdict(self).items() if k != "n" and not (k in METHOD_FIELDS and v is None)}


@dataclass(frozen=True)
class Runtime:
    """Where and how a run executes; none of it changes what a sample is, beyond dtype and models."""

    image_model: str = "sd15"
    audio_model: str = "auffusion"
    device: str | None = None
    dtype: str | None = None
    batch_size: int | None = None
    vocoder: str | None = None
    """Unset: the pair's own (hifigan for SD 1.5 + Auffusion, griffinlim for the pocket pair)."""
    video: bool = True
    offline: bool | None = None
    progress: bool = False
    preset: str | None = None
    """A model pair other than --image-model/--audio-model (see :mod:`spectrocanvas.model_pair`)."""

    def resolved_device(self) -> str:
        if self.device:
            return self.device
        if self.preset == "pocket":
            return "cpu"
        return "cuda" if torch.cuda.is_available() else "cpu"

    def resolved_vocoder(self) -> str:
        return self.vocoder or preset_vocoder(self.preset)


@dataclass
class LoadedModels(PairBase):
    """The paper's pair (SD 1.5 + Auffusion) as a :class:`~spectrocanvas.model_pair.ModelPair`:
    latents (B, 4, h, w) in their shared latent space, decoded by each model's VAE."""

    image: Any
    audio: Any
    vocoder: Any
    spec: CanvasSpec = AUFFUSION
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def device(self) -> torch.device:
        return self.audio.device

    def member_parts(self, role: str, prompt: str, negative: str) -> dict[str, Any]:
        from spectrocanvas.models import unet_denoiser

        model = self.image if role == "image" else self.audio
        return {"denoiser": unet_denoiser(model), "cond": model.encode_prompts([prompt]),
                "uncond": model.encode_prompts([negative]), "schedule": model.scheduler_config}

    def scheduler(self, name: str):
        from spectrocanvas.schedulers import make_scheduler

        return make_scheduler(name, self.audio.scheduler_config)

    def scheduler_configs(self) -> list[dict[str, Any]]:
        return [self.image.scheduler_config, self.audio.scheduler_config]

    def latent_shape(self, settings: GenerateSettings) -> tuple[int, int, int]:
        return (self.audio.latent_channels, settings.latent_height, settings.latent_width)

    def decode_image(self, latents: torch.Tensor) -> torch.Tensor:
        """(B, 4, h, w) → RGB (B, 3, 8h, 8w) in [0, 1] through SD's VAE."""
        return decode_pixels(self.image, latents)

    def decode_canvas(self, latents: torch.Tensor) -> torch.Tensor:
        """(B, 4, h, w) → canvas (B, 8h, 8w) in [0, 1] through Auffusion's VAE."""
        return decode_canvas(self.audio, latents)

    def describe(self) -> dict[str, Any]:
        return {"image": self.image.describe(), "audio": self.audio.describe()}


def load_models(runtime: Runtime, *, spec: CanvasSpec = AUFFUSION) -> ModelPair:
    """Load the image model, the audio model and the vocoder (cached across calls); ``runtime.preset``
    picks another pair than SD 1.5 + Auffusion."""
    from spectrocanvas.models import load_diffusion_model, load_vocoder
    from spectrocanvas.vocoder import GriffinLimVocoder

    check_preset(runtime.preset)
    vocoder_name = runtime.resolved_vocoder()
    if vocoder_name not in VOCODERS:
        raise SpectrocanvasError(f"unknown vocoder '{vocoder_name}'; choose one of {', '.join(VOCODERS)}")
    if runtime.preset == "pocket":
        from spectrocanvas.model_pair import load_pocket_pair

        return load_pocket_pair(runtime)
    device = runtime.resolved_device()
    image = load_diffusion_model(runtime.image_model, role="image", device=device, dtype=runtime.dtype,
                                 offline=runtime.offline)
    audio = load_diffusion_model(runtime.audio_model, role="audio", device=device, dtype=runtime.dtype,
                                 offline=runtime.offline)
    if vocoder_name == "hifigan":
        vocoder = load_vocoder(runtime.audio_model, device=device, dtype=runtime.dtype, offline=runtime.offline,
                               spec=spec)
    else:
        vocoder = GriffinLimVocoder(spec=spec)
    return LoadedModels(image=image, audio=audio, vocoder=vocoder, spec=spec)


# ---- decoding -------------------------------------------------------------------------------------------------
@torch.no_grad()
def decode_pixels(model: Any, latents: torch.Tensor) -> torch.Tensor:
    """Latents (B, 4, h, w) → RGB (B, 3, 8h, 8w) in [0, 1] through the model's VAE."""
    vae = model.vae
    scaled = latents.to(model.device, model.dtype) / vae.config.scaling_factor
    return (vae.decode(scaled).sample.float() / 2 + 0.5).clamp(0, 1).cpu()


def decode_canvas(model: Any, latents: torch.Tensor) -> torch.Tensor:
    """Latents (B, 4, h, w) → canvas (B, 8h, 8w): the mean of the decoded three channels."""
    return decode_pixels(model, latents).mean(dim=1)


def crop_tail(pixels: torch.Tensor, columns: int) -> torch.Tensor:
    """Drop the last ``columns`` pixel columns (the silent tail of Auffusion's 10 s clips)."""
    if columns <= 0 or columns >= pixels.shape[-1]:
        return pixels
    return pixels[..., : pixels.shape[-1] - columns]


def to_rgb_array(pixels: torch.Tensor):
    """(3, H, W) in [0, 1] → uint8 (H, W, 3)."""
    return (pixels.permute(1, 2, 0).clamp(0, 1) * 255).round().to(torch.uint8).numpy()


# ---- sampling -------------------------------------------------------------------------------------------------
def denoise_latents(settings: GenerateSettings, models: ModelPair, seeds: Sequence[int], *,
                    on_step: Callable[[], None] | None = None) -> torch.Tensor:
    """The paper's joint denoising for the given seeds: latents (len(seeds), *models.latent_shape(settings))."""
    from spectrocanvas.sampler import compose_sample, initial_latents

    members = models.members(settings)
    scheduler = models.scheduler(settings.scheduler)
    latents = initial_latents(list(seeds), models.latent_shape(settings), device=models.device)
    callback = (lambda *_: on_step()) if on_step is not None else None
    with torch.no_grad():
        return compose_sample(latents, scheduler, members, num_steps=settings.steps, callback=callback)


def _guard_resources(run: Callable[[], torch.Tensor], *, batch: int, device: str) -> torch.Tensor:
    """Run a batch, turning out-of-memory into one line that says what to change."""
    try:
        return run()
    except torch.OutOfMemoryError:
        raise SpectrocanvasError(f"out of memory for a batch of {batch} on {device}; "
                                 "try a smaller --batch-size (finished samples are kept)") from None
    except RuntimeError as error:
        if "out of memory" in str(error).lower() or "can't allocate memory" in str(error).lower():
            raise SpectrocanvasError(f"out of memory for a batch of {batch} on {device}; "
                                     "try a smaller --batch-size (finished samples are kept)") from None
        raise


# ---- run folders ----------------------------------------------------------------------------------------------
def sample_name(index: int) -> str:
    return f"{SAMPLE_PREFIX}{index:03d}"


def _run_identity(settings: GenerateSettings, runtime: Runtime) -> dict[str, Any]:
    # a preset replaces the two model options; runs without one keep the identity they always had
    models = ({"preset": runtime.preset} if runtime.preset is not None
              else {"image_model": runtime.image_model, "audio_model": runtime.audio_model})
    return {"settings": settings.identity(), **models, "dtype": runtime.dtype, "vocoder": runtime.resolved_vocoder(),
            "video": runtime.video}


def check_settings(settings: GenerateSettings, runtime: Runtime) -> None:
    """Every check that needs no model: the settings, then the prompts against the pair's vocabulary."""
    settings.validate()
    check_prompts(runtime.preset, settings)


def prepare_run_folder(folder: Path, settings: GenerateSettings, runtime: Runtime, *, overwrite: bool) -> list[int]:
    """Create or reopen a run folder; returns the sample indices still to make.

    A folder made by the same settings is resumed; any other existing folder is refused unless
    ``overwrite``. Staging folders left by a killed process are removed.
    """
    identity = _run_identity(settings, runtime)
    run_file = folder / RUN_FILE
    if folder.exists():
        if not folder.is_dir():
            raise OutputExistsError(f"'{folder}' exists and is not a folder")
        previous = read_json(run_file).get("identity") if run_file.is_file() else None
        unfinished = previous is not None and not any(folder.glob(f"{SAMPLE_PREFIX}[0-9]*"))
        if previous != identity and not unfinished:  # a run with no finished sample has nothing to lose
            if not overwrite:
                what = "another run's settings" if previous is not None else "files that are not a generate run"
                raise OutputExistsError(f"output folder '{folder}' holds {what}; pass --overwrite to replace "
                                        "it, or run the same command again to resume it")
            shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(f".{SAMPLE_PREFIX}*.partial-*"):
        shutil.rmtree(stale, ignore_errors=True)
    write_json(run_file, {"identity": identity, "n": settings.n, "provenance": provenance()})
    return [i for i in range(settings.n) if not (folder / sample_name(i)).is_dir()]


def _write_sample(folder: Path, index: int, *, settings: GenerateSettings, runtime: Runtime, models: ModelPair,
                  image_pixels: torch.Tensor, canvas: torch.Tensor, waveform: torch.Tensor, timer: StageTimer,
                  shared_timings: dict[str, float]) -> Path:
    seed = settings.seed + index
    target = folder / sample_name(index)
    metadata = {"command": "generate", "method": settings.method, "sample": index, "seed": seed,
                "image_prompt": settings.image_prompt, "audio_prompt": settings.audio_prompt}
    with output_folder(target) as staging:
        with timer.stage("write_image"):
            save_rgb_png(staging / "image.png", to_rgb_array(image_pixels), metadata=metadata)
        record = write_sound_outputs(staging, canvas=canvas, waveform=waveform, spec=models.spec,
                                     metadata=metadata, timer=timer, video=runtime.video)
        write_json(staging / "meta.json", {
            **metadata,
            "prompts": {"image": settings.image_prompt, "audio": settings.audio_prompt,
                        "image_negative": settings.image_negative, "audio_negative": settings.audio_negative},
            "settings": {**asdict(settings), "image_start": settings.image_start_step},  # as used
            "runtime": {"device": runtime.resolved_device(), "dtype": runtime.dtype, "batch_size": runtime.batch_size},
            "models": models.describe(),
            "vocoder": models.vocoder.describe(), "canvas": models.spec.to_dict(), **record,
            "timings": {**shared_timings, **timer.as_dict()}, "provenance": provenance(),
        })
    return target


def generate_run(folder: str | Path, settings: GenerateSettings, runtime: Runtime, *, models: ModelPair | None = None,
                 overwrite: bool = False, on_sample: Callable[[Path], None] | None = None) -> list[Path]:
    """Make the missing samples of one prompt pair in ``folder``; returns every sample folder.

    ``settings.method`` picks how (see :mod:`spectrocanvas.methods`); ``on_sample(folder)`` is
    called after each new sample folder is written (e.g. to score it).
    """
    import time

    from spectrocanvas.methods import get_method, run_method
    from spectrocanvas.progress import progress_bar
    from spectrocanvas.sampler import batched
    from spectrocanvas.threads import cpu_threads

    check_settings(settings, runtime)
    folder = Path(folder)
    todo = prepare_run_folder(folder, settings, runtime, overwrite=overwrite)
    if todo:
        models = models or load_models(runtime)
        device = runtime.resolved_device()
        batch_size = runtime.batch_size or min(len(todo), 8)
        if batch_size < 1:
            raise SpectrocanvasError(f"--batch-size must be at least 1, not {batch_size}")
        method = get_method(settings.method)
        bar = progress_bar(total=len(todo) * method.units(settings), desc=f"{method.name}: {len(todo)} sample(s)",
                           enabled=runtime.progress, unit="step")
        for indices in batched(todo, batch_size):
            seeds = [settings.seed + i for i in indices]
            on_step = (lambda: bar.update(len(indices))) if bar is not None else None
            started = time.perf_counter()
            with cpu_threads(getattr(models, "cpu_threads", None)):
                latents = _guard_resources(lambda: run_method(settings, models, seeds, on_step=on_step),
                                           batch=len(indices), device=device)
            sampling = time.perf_counter() - started
            finite = (latents.flatten(1).isfinite().all(1) if isinstance(latents, torch.Tensor)
                      else latents[0].flatten(1).isfinite().all(1) & latents[1].flatten(1).isfinite().all(1))
            bad = [i for i, ok in zip(indices, finite) if not ok]
            if bad:
                raise SpectrocanvasError(f"sampling produced NaN or infinite values for sample(s) {bad}; "
                                         "try --dtype float32 (finished samples are kept)")
            started = time.perf_counter()
            if isinstance(latents, torch.Tensor):
                image_pixels = crop_tail(models.decode_image(latents), settings.crop_columns)
                canvases = crop_tail(models.decode_canvas(latents), settings.crop_columns)
            else:  # the method made the picture and the canvas itself
                image_pixels, canvases = (crop_tail(x.float().cpu(), settings.crop_columns) for x in latents)
            decoding = time.perf_counter() - started
            for row, index in enumerate(indices):
                timer = StageTimer()
                with timer.stage("reconstruct"), torch.no_grad():
                    waveform = models.vocoder(canvases[row: row + 1].to(torch.float32))[0].float().cpu()
                shared = {"sample": round(sampling / len(indices), 4), "decode": round(decoding / len(indices), 4)}
                written = _write_sample(folder, index, settings=settings, runtime=runtime, models=models,
                                        image_pixels=image_pixels[row], canvas=canvases[row], waveform=waveform,
                                        timer=timer, shared_timings=shared)
                if on_sample is not None:
                    on_sample(written)
        if bar is not None:
            bar.close()
    return sorted(folder.glob(f"{SAMPLE_PREFIX}[0-9][0-9][0-9]*"))


def pair_settings(pair: dict[str, Any], base: GenerateSettings) -> GenerateSettings:
    """A pair's own settings over the command line's (``name`` is only the folder's)."""
    known = {f.name for f in fields(GenerateSettings)}
    return replace(base, **{k: v for k, v in pair.items() if k in known})


def pair_folder_name(index: int, pair: dict[str, Any]) -> str:
    import re

    label = pair.get("name") or f"{pair['image_prompt']} + {pair['audio_prompt']}"
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:48] or "pair"
    return f"pair_{index:03d}_{slug}"


def generate(*, settings: GenerateSettings, output: str | Path, runtime: Runtime = Runtime(),
             overwrite: bool = False, on_sample: Callable[[Path], None] | None = None) -> list[Path]:
    """One prompt pair: make (or finish) ``settings.n`` samples in ``output``."""
    return generate_run(output, settings, runtime, overwrite=overwrite, on_sample=on_sample)


def generate_pairs(*, pairs_file: str | Path | None = None, output: str | Path, runtime: Runtime = Runtime(),
                   overwrite: bool = False, on_sample: Callable[[Path], None] | None = None,
                   pairs: Sequence[Mapping[str, Any]] | None = None, **defaults: Any) -> list[Path]:
    """Many prompt pairs in one process: ``output/pair_000_<slug>/sample_000/``, … (models load once).

    The pairs come from ``pairs_file`` (JSONL or CSV) or, as dicts with ``image_prompt`` and
    ``audio_prompt``, from ``pairs``.
    """
    from spectrocanvas.pairs import read_pairs

    if (pairs_file is None) == (pairs is None):
        raise ValueError("give pairs_file or pairs, not both or neither")
    pairs = read_pairs(pairs_file) if pairs_file is not None else [dict(p) for p in pairs]
    base = GenerateSettings(image_prompt="-", audio_prompt="-", **defaults)
    planned = [(Path(output) / pair_folder_name(i, pair), pair_settings(pair, base)) for i, pair in enumerate(pairs)]
    for _, settings in planned:  # refuse a bad pair before any model loads
        check_settings(settings, runtime)
    models: ModelPair | None = None
    samples: list[Path] = []
    for folder, settings in planned:
        if models is None and len(prepare_run_folder(folder, settings, runtime, overwrite=overwrite)) > 0:
            models = load_models(runtime)
        samples += generate_run(folder, settings, runtime, models=models, overwrite=False, on_sample=on_sample)
    return samples
