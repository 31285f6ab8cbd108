"""The paper's pair: Stable Diffusion 1.5 draws the picture, Auffusion the spectrogram, in SD's
latent space (latents (B, 4, h, w), each decoded by its own model's VAE); Auffusion's HiFi-GAN
(or Griffin-Lim) plays the canvas; CLIP and CLAP score the samples.

Defaults are the paper's (Chen, Geng & Owens 2024): DDIM 100 steps, guidance 10 for both models,
weights 0.5 / 0.5, Auffusion alone for the first tenth of the steps (the warm start), a 4 × 32 ×
128 latent, the last 32 pixel columns cropped (the silent tail of Auffusion's 10 s training clips).
The baselines take the official code's settings (imprint: SD 50 steps, Auffusion 100, guidance 7.5;
SDS: guidance 100 / 10, weights 0.4 : 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from spectrocanvas.canvas.spec import AUFFUSION, CanvasSpec
from spectrocanvas.canvas.vocoders import GriffinLimVocoder, Vocoder
from spectrocanvas.diffusion.sampler import Denoiser
from spectrocanvas.diffusion.schedulers import make_scheduler
from spectrocanvas.pairs.clip_clap import CLAP_PRESET, CLIP_PRESET, COLUMNS, SCORE_KEYS, WEIGHT_FILES, ClipClapScorer
from spectrocanvas.pairs.hub import ModelNeed, ModelNotFoundError, resolve_model
from spectrocanvas.pairs.interface import Comparison, Derived, ModelSlot, PairEntry, Runtime, ScorerRequest, Scoring
from spectrocanvas.pairs.sd_models import (
    DiffusionModel,
    decode_canvas,
    decode_pixels,
    VOCODER_PATTERNS,
    diffusion_patterns,
    encode_pixels,
    expand_alias,
    load_diffusion_model,
    load_vocoder,
    unet_denoiser,
)

NAME = "sd15-auffusion"

WARM_START = Derived("a tenth of the steps: 10 of 100, the paper's warm start",
                     lambda settings: int(round(settings["steps"] * 0.1)))

SDS_AUDIO_WEIGHT = round(1 / 1.4, 4)
"""The official SDS weights, audio 1 and image 0.4, as the audio model's share."""

PAPER_PAIRS = Path(__file__).resolve().parent.parent / "data" / "paper_pairs.jsonl"
"""The paper's example prompt pairs (its figures and the official example configs)."""


@dataclass(eq=False)
class SdAuffusionPair:
    """SD 1.5 + Auffusion as a :class:`~spectrocanvas.pairs.interface.ModelPair`."""

    entry: PairEntry
    image: DiffusionModel
    audio: DiffusionModel
    vocoder: Vocoder
    spec: CanvasSpec = AUFFUSION
    _denoisers: dict[str, Denoiser] = field(default_factory=dict, repr=False)

    @property
    def device(self) -> torch.device:
        return self.audio.device

    def _model(self, role: str) -> DiffusionModel:
        return self.image if role == "image" else self.audio

    def denoiser(self, role: str) -> Denoiser:
        if role not in self._denoisers:
            self._denoisers[role] = unet_denoiser(self._model(role))
        return self._denoisers[role]

    def condition(self, role: str, prompt: str, negative: str) -> tuple[torch.Tensor, torch.Tensor]:
        """CLIP text embeddings (1, 77, D) of the prompt and of the negative prompt ("" is unconditional)."""
        model = self._model(role)
        return model.encode_prompts([prompt]), model.encode_prompts([negative])

    def schedule(self, role: str) -> Mapping[str, Any]:
        return self._model(role).scheduler_config

    def scheduler(self, name: str) -> Any:
        return make_scheduler(name, self.audio.scheduler_config)

    def latent_shape(self, height: int, width: int) -> tuple[int, int, int]:
        return (self.audio.latent_channels, height, width)

    def decode_image(self, latents: torch.Tensor) -> torch.Tensor:
        """(B, 4, h, w) → RGB (B, 3, 8h, 8w) in [0, 1] through SD's VAE."""
        return decode_pixels(self.image, latents)

    def decode_canvas(self, latents: torch.Tensor) -> torch.Tensor:
        """(B, 4, h, w) → canvas (B, 8h, 8w) in [0, 1] through Auffusion's VAE."""
        return decode_canvas(self.audio, latents)

    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        """RGB (B, 3, 8h, 8w) → latents (B, 4, h, w) through SD's VAE."""
        return encode_pixels(self.image, pixels)

    def encode_canvas(self, canvas: torch.Tensor) -> torch.Tensor:
        """Canvas (B, 8h, 8w) → latents (B, 4, h, w) through Auffusion's VAE (the canvas in all three
        channels, as Auffusion's spectrogram images are)."""
        return encode_pixels(self.audio, canvas[:, None].expand(-1, 3, -1, -1))

    def describe(self) -> dict[str, Any]:
        return {"pair": self.entry.name, "image": self.image.describe(), "audio": self.audio.describe()}


def load_pair(runtime: Runtime) -> SdAuffusionPair:
    """Both diffusion models and the vocoder the runtime names (each loaded once per process)."""
    device = ENTRY.device_for(runtime)
    sources = ENTRY.sources(runtime)
    image, audio = (load_diffusion_model(sources[slot.role], what=slot.what, option=slot.option, device=device,
                                         dtype=runtime.dtype, offline=runtime.offline) for slot in ENTRY.models)
    if ENTRY.vocoder_for(runtime) == "hifigan":
        slot = ENTRY.slot("audio")
        vocoder: Vocoder = load_vocoder(sources["audio"], device=device, dtype=runtime.dtype, offline=runtime.offline,
                                        spec=AUFFUSION, what=slot.what, option=slot.option)
    else:
        vocoder = GriffinLimVocoder(spec=AUFFUSION)
    return SdAuffusionPair(entry=ENTRY, image=image, audio=audio, vocoder=vocoder, spec=ENTRY.spec)


def weights_available() -> bool:
    """Whether both default models are in the Hugging Face cache (nothing to download)."""
    try:
        for slot in ENTRY.models:
            resolve_model(expand_alias(slot.default_source), what=slot.what, option=slot.option, offline=True,
                          allow_patterns=diffusion_patterns())
    except ModelNotFoundError:
        return False
    return True


def model_needs(runtime: Runtime) -> list[ModelNeed]:
    """Both diffusion models, and Auffusion's vocoder when it plays the canvases (the same repository)."""
    sources = ENTRY.sources(runtime)
    needs = [ModelNeed(expand_alias(sources[slot.role]), slot.what, slot.option or "", tuple(diffusion_patterns()))
             for slot in ENTRY.models]
    if ENTRY.vocoder_for(runtime) == "hifigan":
        slot = ENTRY.slot("audio")
        needs.append(ModelNeed(expand_alias(sources["audio"]), slot.what, slot.option or "", tuple(VOCODER_PATTERNS)))
    return needs


def scorer_needs(request: ScorerRequest) -> list[ModelNeed]:
    """CLIP and CLAP, from the user's sources where named."""
    return [ModelNeed(request.models.get(slot.role) or slot.default_source or "", slot.what, slot.option or "",
                      tuple(WEIGHT_FILES)) for slot in ENTRY.scoring.models]


def load_scorer(request: ScorerRequest) -> ClipClapScorer:
    return ClipClapScorer.load(clip_model=request.models.get("clip") or CLIP_PRESET,
                               clap_model=request.models.get("clap") or CLAP_PRESET,
                               device=request.device, offline=request.offline)


ENTRY = PairEntry(
    name=NAME,
    description="SD 1.5 + Auffusion, the paper's pair (about 5 GB of weights; a GPU helps)",
    models=(ModelSlot("image", "image model", "SD", "sd15", "--image-model"),
            ModelSlot("audio", "audio model", "Auffusion", "auffusion", "--audio-model")),
    load=load_pair,
    scoring=Scoring(keys=SCORE_KEYS, columns=COLUMNS, load=load_scorer,
                    models=(ModelSlot("clip", "CLIP model", "CLIP", CLIP_PRESET, "--clip-model"),
                            ModelSlot("clap", "CLAP model", "CLAP", CLAP_PRESET, "--clap-model")),
                    needs=scorer_needs),
    comparison=Comparison(methods=("denoise", "imprint", "sds", "image-only", "audio-only"), samples_per_pair=1,
                          prompt_file=PAPER_PAIRS),
    spec=AUFFUSION,
    defaults=({"steps": 100}, {"image_guidance": 10.0}, {"audio_guidance": 10.0},
              {"image_weight": 0.5, "audio_weight": 0.5}, {"image_start": WARM_START},
              {"crop_columns": 32}),
    method_defaults={
        "imprint": ({"steps": 100, "image_steps": 50}, {"image_guidance": 7.5}, {"audio_guidance": 7.5}),
        "sds": ({"image_guidance": 100.0}, {"audio_guidance": 10.0},
                {"image_weight": round(1 - SDS_AUDIO_WEIGHT, 4), "audio_weight": SDS_AUDIO_WEIGHT}),
    },
    vocoders=("hifigan", "griffinlim"),
    native_latent=(32, 128),
    latent_scale=8,
    recording_peak=0.95,  # Auffusion's converter: librosa.util.normalize(audio) * 0.95 before the mel analysis
    available=weights_available,
    needs=model_needs,
)
