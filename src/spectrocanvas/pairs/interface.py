"""The model-pair interface: what generation, scoring and the command line need from a pair of
diffusion models that share one latent space, and the registry entry that describes a pair
before anything is loaded.

A pair has two roles, ``image`` and ``audio``: the image role's latents are read as a picture
(:meth:`ModelPair.decode_image`), the audio role's as a canvas that a vocoder plays
(:meth:`ModelPair.decode_canvas`). Everything else that differs between pairs — the models and
where they come from, their conditioning, latent geometry, decoders, vocoders, default
settings, prompt checks, CPU thread policy, scorers and the comparison they are measured by —
is supplied by the pair's :class:`PairEntry`, so the layers above never ask which pair it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import torch

from spectrocanvas.canvas.spec import CanvasSpec
from spectrocanvas.canvas.vocoders import Vocoder
from spectrocanvas.diffusion.sampler import Denoiser
from spectrocanvas.files.audio import AudioOutput
from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.pairs.hub import ModelNeed, offline_mode, require_models

ROLES: tuple[str, str] = ("image", "audio")
"""The two roles of every pair, in the order members are listed."""


@dataclass(frozen=True)
class ModelSlot:
    """One model a pair (or its scorer) loads: what to call it, and whether a user may swap it."""

    role: str
    """``image`` / ``audio`` for the pair's denoisers; the scorer's own names (``clip``, ``clap``)."""
    what: str
    """How messages name it ("image model")."""
    label: str = ""
    """Short name in table rows ("SD"); empty when the role says enough."""
    default_source: str | None = None
    """Hub id, short name or folder loaded when the user names none; None: the pair's models are fixed."""
    option: str | None = None
    """The CLI option that takes another source ("--image-model"); None: not swappable."""


@dataclass(frozen=True)
class Derived:
    """A default computed from the other settings once they are known (the warm start: a tenth of the steps)."""

    describe: str
    compute: Callable[[Mapping[str, Any]], Any]


@dataclass(frozen=True)
class Runtime:
    """Where and how a run executes; none of it changes what a sample is, beyond the models and dtype."""

    pair: str | None = None
    """A name in :data:`spectrocanvas.pairs.registry.PAIRS`; None: the default pair."""
    models: Mapping[str, str] = field(default_factory=dict)
    """role → source, for pairs whose models can be swapped; unset roles take the pair's defaults."""
    device: str | None = None
    dtype: str | None = None
    batch_size: int | None = None
    vocoder: str | None = None
    """Unset: the pair's own (its first vocoder)."""
    video: bool = True
    audio_output: AudioOutput = AudioOutput()
    """How each sample's sound file is written (level, format, rate)."""
    offline: bool | None = None
    progress: bool = False


@dataclass(frozen=True)
class ScorerRequest:
    """How to load a pair's scorer: sources for its swappable models, device, offline mode."""

    models: Mapping[str, str] = field(default_factory=dict)
    device: str | None = None
    offline: bool | None = None


@dataclass(frozen=True)
class ScoredSample:
    """What a scorer judges of one sample: the canvas as a picture, the sound, and the prompts.

    canvas: (H, W) in [0, 1]; waveform: (N,) float at ``sample_rate``; prompts: role → prompt.
    """

    canvas: torch.Tensor
    waveform: torch.Tensor
    sample_rate: int
    prompts: Mapping[str, str]


@dataclass(frozen=True)
class SummaryColumn:
    """A column of the score tables: the per-group mean of a score (with a t interval) or the rate
    of a verdict (with a Wilson interval)."""

    key: str
    label: str
    statistic: Literal["mean", "rate"]
    interval: bool = True


class Scorer(Protocol):
    """Scores samples of one pair (loaded): CLIP and CLAP for the real pair, the judges for the pocket pair."""

    def score(self, samples: Sequence[ScoredSample]) -> list[dict[str, Any]]:
        """The fields each sample's meta.json gets (the :attr:`Scoring.keys` among them)."""
        ...

    def describe(self) -> dict[str, Any]:
        """What made the scores, for meta.json."""
        ...


class ModelPair(Protocol):
    """A loaded pair: two denoisers in one latent space, their decoders and vocoder.

    Latents are (B, C, h, w) in the shared space (SD 1.5 + Auffusion: (B, 4, h, w) decoded by each
    model's VAE; the pocket pair: the (B, 1, 32, 128) canvas itself).
    """

    entry: PairEntry
    spec: CanvasSpec
    vocoder: Vocoder
    device: torch.device

    def denoiser(self, role: str) -> Denoiser:
        """The role's model as ``denoiser(latents, t, cond) → ε``."""
        ...

    def condition(self, role: str, prompt: str, negative: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(cond, uncond), each (1, …): the role's conditioning for a prompt and its negative prompt."""
        ...

    def schedule(self, role: str) -> Mapping[str, Any]:
        """The role's scheduler config (its training noise schedule)."""
        ...

    def scheduler(self, name: str) -> Any:
        """A fresh scheduler of that name on the pair's shared noise schedule."""
        ...

    def latent_shape(self, height: int, width: int) -> tuple[int, int, int]:
        """(C, height, width) of one latent; a pair with a fixed geometry refuses others in one line."""
        ...

    def decode_image(self, latents: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) → RGB pixels (B, 3, H, W) in [0, 1], on the CPU."""
        ...

    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        """RGB pixels (B, 3, H, W) in [0, 1] → latents (B, C, h, w) (the image model's encoder; its mean)."""
        ...

    def encode_canvas(self, canvas: torch.Tensor) -> torch.Tensor:
        """Canvas (B, H, W) in [0, 1] → latents (B, C, h, w) (the audio model's encoder; its mean)."""
        ...

    def decode_canvas(self, latents: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) → canvas (B, H, W) in [0, 1], on the CPU."""
        ...

    def describe(self) -> dict[str, Any]:
        """What meta.json records about the models."""
        ...


def _no_needs(request: Any) -> list[ModelNeed]:
    """Nothing to download: the models ship with the package."""
    return []


@dataclass(frozen=True)
class Scoring:
    """How a pair's samples are scored, known before the scorer loads."""

    keys: tuple[str, ...]
    """Per-sample scores that re-ranking (``--keep-top``) ranks by."""
    columns: tuple[SummaryColumn, ...]
    """What the tables summarise, in order."""
    load: Callable[[ScorerRequest], Scorer]
    models: tuple[ModelSlot, ...] = ()
    """The scorer's own models that a user may swap (``--clip-model``)."""
    needs: Callable[[ScorerRequest], list[ModelNeed]] = _no_needs
    """The downloadable models the scorer would load for ``request`` (none: it ships its own)."""


@dataclass(frozen=True)
class Comparison:
    """What `compare` runs for a pair when not told otherwise."""

    methods: tuple[str, ...]
    samples_per_pair: int = 1
    prompt_file: Path | None = None
    """A prompt-pair file (JSONL) of the pair's examples…"""
    prompt_pairs: Callable[[int, int], list[dict[str, Any]]] | None = None
    """…or ``prompt_pairs(seed, n)``: prompt-pair rows (with their own ``seed`` where they need one)."""


def _any_prompt(role: str, prompt: str) -> None:
    """Any non-empty prompt is fine (emptiness is checked with the settings)."""


def _assume_available() -> bool:
    return True


@dataclass(frozen=True)
class PairEntry:
    """A model pair as the registry lists it: everything known before loading, and how to load it."""

    name: str
    description: str
    models: tuple[ModelSlot, ModelSlot]
    """The image and the audio model, in :data:`ROLES` order."""
    load: Callable[[Runtime], ModelPair]
    scoring: Scoring
    comparison: Comparison
    spec: CanvasSpec
    """The canvas convention of the pair's audio model (what its canvases and recordings are in)."""
    defaults: tuple[Mapping[str, Any], ...] = ()
    """Groups of settings (flat names, as the CLI spells them) for what a user leaves unset; a group
    applies only when the user set none of its settings. Values may be :class:`Derived`."""
    method_defaults: Mapping[str, tuple[Mapping[str, Any], ...]] = field(default_factory=dict)
    """Further groups per method, over :attr:`defaults` (the official baselines' settings)."""
    vocoders: tuple[str, ...] = ("griffinlim",)
    """Vocoder names the pair can play its canvases with; the first is its default."""
    devices: tuple[str, ...] | None = None
    """Device types the pair runs on (None: any, a GPU when there is one)."""
    dtypes: tuple[str, ...] | None = None
    """dtypes the pair runs in (None: any)."""
    check_prompt: Callable[[str, str], None] = _any_prompt
    """Refuses a prompt the role's model cannot take, in one line (a vocabulary, say)."""
    negative_prompts: bool = True
    cpu_threads: int | None = None
    """Torch threads for sampling and the vocoder on the CPU (None: as the process has them)."""
    native_latent: tuple[int, int] = (32, 128)
    """(rows, columns) of the latent the models were trained on: one window of a longer canvas."""
    latent_scale: int = 8
    """Canvas pixels per latent row and column (8 for Stable-Diffusion VAEs, 1 for a pixel-space pair)."""
    recording_peak: float | None = None
    """The peak level a recording is normalised to before it becomes a canvas for the models, as
    their training audio was (None: taken at its own level)."""
    available: Callable[[], bool] = _assume_available
    """Whether the pair's default weights are on this machine (no download needed)."""
    needs: Callable[[Runtime], list[ModelNeed]] = _no_needs
    """The downloadable models a run with ``runtime`` loads (none: the pair ships its own)."""

    def slot(self, role: str) -> ModelSlot:
        return next(m for m in self.models if m.role == role)

    def device_for(self, runtime: Runtime) -> str:
        """The device a run uses: ``--device``, else the pair's first, else a GPU when there is one."""
        if runtime.device:
            return runtime.device
        if self.devices:
            return self.devices[0]
        return "cuda" if torch.cuda.is_available() else "cpu"

    def vocoder_for(self, runtime: Runtime) -> str:
        return runtime.vocoder or self.vocoders[0]

    def sources(self, runtime: Runtime) -> dict[str, str]:
        """role → model source for the swappable models (the user's, else the defaults)."""
        return {m.role: runtime.models.get(m.role) or m.default_source for m in self.models if m.option}

    def require_weights(self, runtime: Runtime, scorer: ScorerRequest | None = None) -> None:
        """Refuse, in one line naming every missing model and its download command, a run whose models
        (and, with ``scorer``, whose scorer's models) are not on this machine and cannot be fetched.
        Offline it looks only at folders and the cache: checked before any folder is made."""
        needs = self.needs(runtime) + (self.scoring.needs(scorer) if scorer is not None else [])
        if needs:
            offline = runtime.offline or (scorer.offline if scorer is not None else None)
            require_models(needs, offline=offline or offline_mode())

    def check_runtime(self, runtime: Runtime) -> None:
        """Refuse, in one line, options the pair cannot take (before anything loads)."""
        fixed = [m.option or f"--{m.role}-model" for m in self.models if not m.option and runtime.models.get(m.role)]
        if fixed:
            raise SpectrocanvasError(f"the {self.name} pair brings its own models; leave out {' and '.join(fixed)}")
        if self.devices is not None and runtime.device not in (None, *self.devices):
            raise SpectrocanvasError(f"the {self.name} pair runs on {' or '.join(self.devices)}; "
                                     f"leave out --device (got '{runtime.device}')")
        if self.dtypes is not None and runtime.dtype not in (None, *self.dtypes):
            raise SpectrocanvasError(f"the {self.name} pair runs in {self.dtypes[-1]}; leave out --dtype "
                                     f"(got '{runtime.dtype}')")
        vocoder = self.vocoder_for(runtime)
        if vocoder not in self.vocoders:
            raise SpectrocanvasError(f"the {self.name} pair plays its canvases with {' or '.join(self.vocoders)}, "
                                     f"not {vocoder}; use --vocoder {self.vocoders[0]} (its default)")
        if runtime.batch_size is not None and runtime.batch_size < 1:
            raise SpectrocanvasError(f"--batch-size must be at least 1, not {runtime.batch_size}")
