"""The pocket pair as a registry entry: its models, defaults, vocabulary, thread policy, judges
and comparison, and the loaded pair the sampler composes (latents are the canvas itself in
model space, (B, 1, 32, 128) in [-1, 1])."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from spectrocanvas.canvas.spec import CanvasSpec
from spectrocanvas.canvas.vocoders import GriffinLimVocoder, Vocoder
from spectrocanvas.diffusion.sampler import Denoiser
from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.pairs.interface import Comparison, ModelSlot, PairEntry, Runtime, ScorerRequest, Scoring
from spectrocanvas.pairs.pocket import defaults
from spectrocanvas.pairs.pocket.judges import COLUMNS, JUDGE_KEYS, PocketJudges
from spectrocanvas.pairs.pocket.networks import KINDS
from spectrocanvas.pairs.pocket.schedule import pocket_scheduler
from spectrocanvas.pairs.pocket.spec import CANVAS_SHAPE, POCKET, from_model, to_model
from spectrocanvas.pairs.pocket.vocab import class_index, class_pairs
from spectrocanvas.pairs.pocket.weights import PocketModels, default_weights_dir, load_pocket, weights_file

NAME = "pocket"


@dataclass(eq=False)
class PocketPair:
    """The pocket denoisers as a :class:`~spectrocanvas.pairs.interface.ModelPair`."""

    entry: PairEntry
    models: PocketModels
    vocoder: Vocoder
    weights_dir: Path | None
    """Where the weights came from (None: built in memory, as from a training run's checkpoint)."""

    @property
    def spec(self) -> CanvasSpec:
        return self.models.spec

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    def denoiser(self, role: str) -> Denoiser:
        return self.models.image if role == "image" else self.models.audio

    def condition(self, role: str, prompt: str, negative: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Class indices (1, 1, 1): the prompt's word (no word: the null class, unconditioned), and the null
        class (the pocket models take no negatives)."""
        denoiser = self.models.image if role == "image" else self.models.audio
        return (denoiser.cond(prompt) if prompt.strip() else denoiser.uncond()), denoiser.uncond()

    def schedule(self, role: str) -> Mapping[str, Any]:
        return (self.models.image if role == "image" else self.models.audio).scheduler_config

    def scheduler(self, name: str) -> Any:
        return pocket_scheduler(name)

    def latent_shape(self, height: int, width: int) -> tuple[int, int, int]:
        """(1, 32, width): the pocket canvas's 32 rows, as wide as asked (wider than 128 in windows)."""
        if height != CANVAS_SHAPE[1]:
            raise SpectrocanvasError(f"the pocket models draw {CANVAS_SHAPE[1]} rows, not {height}")
        return (CANVAS_SHAPE[0], height, width)

    def decode_canvas(self, latents: torch.Tensor) -> torch.Tensor:
        """(B, 1, 32, 128) in [-1, 1] → canvas (B, 32, 128) in [0, 1]."""
        return from_model(latents.float().cpu())[:, 0]

    def decode_image(self, latents: torch.Tensor) -> torch.Tensor:
        """(B, 1, 32, 128) → the canvas as gray RGB (B, 3, 32, 128) in [0, 1]: the picture is the canvas."""
        return self.decode_canvas(latents)[:, None].expand(-1, 3, -1, -1).contiguous()

    def encode_canvas(self, canvas: torch.Tensor) -> torch.Tensor:
        """Canvas (B, 32, W) in [0, 1] → model space (B, 1, 32, W) in [-1, 1]."""
        return to_model(canvas.float())[:, None]

    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        """RGB (B, 3, 32, W) → model space: its gray (the mean of the channels, as decode_image repeats it)."""
        return self.encode_canvas(pixels.float().mean(dim=1))

    def describe(self) -> dict[str, Any]:
        record = self.models.record
        return {"pair": NAME, "weights": None if self.weights_dir is None else str(self.weights_dir),
                **{role: {**getattr(self.models, role).describe(), "training_steps": record.get(role, {}).get("steps")}
                   for role in ("image", "audio")}}


def load_pair(runtime: Runtime) -> PocketPair:
    """The pocket pair: CPU, float32, Griffin-Lim on the pocket canvas (weights loaded once per process)."""
    weights_dir = default_weights_dir()
    models = load_pocket(weights_dir)
    return PocketPair(entry=ENTRY, models=models, vocoder=GriffinLimVocoder(spec=models.spec), weights_dir=weights_dir)


def load_scorer(request: ScorerRequest) -> PocketJudges:
    return PocketJudges.load()


def check_prompt(role: str, prompt: str) -> None:
    """A prompt is one word of the role's vocabulary."""
    class_index(prompt, role)


def weights_available() -> bool:
    """Whether both denoisers' weights are there (they ship with the package)."""
    return all(weights_file(kind, default_weights_dir()).is_file() for kind in KINDS[:2])


def comparison_pairs(seed: int, n: int) -> list[dict[str, Any]]:
    """Every image class with every sound class; pair k's samples use seeds ``seed + k·n + i``, so
    no two samples share their starting noise. (The noise decides much of a pocket sample whatever
    the prompts: samples of different pairs from one seed succeed or fail together, and would not
    be independent trials.)"""
    return [{**pair, "seed": seed + k * n} for k, pair in enumerate(class_pairs())]


ENTRY = PairEntry(
    name=NAME,
    description="the project's small class-conditional pair on a 32 × 128 canvas: offline, CPU, seconds "
                "(prompts are single words of its vocabulary)",
    models=(ModelSlot("image", "pocket image model"), ModelSlot("audio", "pocket audio model")),
    load=load_pair,
    scoring=Scoring(keys=JUDGE_KEYS, columns=COLUMNS, load=load_scorer),
    comparison=Comparison(methods=("denoise", "imprint", "image-only", "audio-only"), samples_per_pair=4,
                          prompt_pairs=comparison_pairs),
    spec=POCKET,
    defaults=({"steps": defaults.STEPS}, {"image_guidance": defaults.IMAGE_GUIDANCE},
              {"audio_guidance": defaults.AUDIO_GUIDANCE},
              {"image_weight": round(1 - defaults.AUDIO_WEIGHT, 10), "audio_weight": defaults.AUDIO_WEIGHT},
              {"image_start": defaults.IMAGE_START}, {"audio_start": defaults.AUDIO_START}, {"crop_columns": 0}),
    vocoders=(defaults.VOCODER,),
    devices=("cpu",),
    dtypes=("fp32", "float32"),
    check_prompt=check_prompt,
    negative_prompts=False,
    cpu_threads=defaults.THREADS,
    native_latent=CANVAS_SHAPE[1:],
    latent_scale=1,
    recording_peak=defaults.RECORDING_PEAK,
    available=weights_available,
)
