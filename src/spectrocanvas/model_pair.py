"""The model pair a run composes, as `generate` and the methods see it.

Two implementations: the paper's pair, SD 1.5 + Auffusion (:class:`spectrocanvas.generate.LoadedModels`,
latents (B, 4, h, w) decoded by each model's VAE), and the pocket pair (:class:`PocketPair`,
``--preset pocket``: class-conditional pixel-space denoisers on a (B, 1, 32, 128) canvas). Both
share :meth:`PairBase.members`, so the composition (weights, guidance, starts) is built once.

A preset also brings its own defaults for the options a user leaves unset
(:func:`preset_defaults`, read by :func:`spectrocanvas.methods.method_settings`), its vocoder
(:func:`preset_vocoder`) and a prompt check that runs before anything loads (:func:`check_prompts`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import torch

from spectrocanvas.errors import SpectrocanvasError

if TYPE_CHECKING:
    from diffusers.schedulers.scheduling_utils import SchedulerMixin

    from spectrocanvas.canvas import CanvasSpec
    from spectrocanvas.generate import GenerateSettings, Runtime
    from spectrocanvas.sampler import Member

PRESETS = ("pocket",)
"""Model pairs other than the default real one (SD 1.5 + Auffusion, chosen by --image-model/--audio-model)."""

ROLES = ("image", "audio")


class ModelPair(Protocol):
    """What a run needs from its two models, their vocoder and their canvas."""

    spec: "CanvasSpec"
    vocoder: Any

    @property
    def device(self) -> torch.device | str: ...

    def members(self, settings: "GenerateSettings", *, image_start: int | None = None,
                audio_start: int | None = None) -> list["Member"]: ...

    def scheduler(self, name: str) -> "SchedulerMixin": ...

    def scheduler_configs(self) -> list[Mapping[str, Any]]: ...

    def latent_shape(self, settings: "GenerateSettings") -> tuple[int, int, int]: ...

    def decode_image(self, latents: torch.Tensor) -> torch.Tensor: ...

    def decode_canvas(self, latents: torch.Tensor) -> torch.Tensor: ...

    def describe(self) -> dict[str, Any]: ...


class PairBase:
    """The composition both pairs share; a pair supplies :meth:`member_parts` for each role."""

    def member_parts(self, role: str, prompt: str, negative: str) -> dict[str, Any]:
        """``denoiser``, ``cond``, ``uncond`` and ``schedule`` of a :class:`~spectrocanvas.sampler.Member`."""
        raise NotImplementedError

    def members(self, settings: "GenerateSettings", *, image_start: int | None = None,
                audio_start: int | None = None) -> list["Member"]:
        """The sampler members for a prompt pair: each model with its prompts, guidance, weight and start.

        A model whose weight is 0 (``audio_weight`` 0 or 1) takes no part. Starts default to the
        settings' (denoising steps); SDS passes its own (iterations).
        """
        from spectrocanvas.sampler import Member

        roles = (("image", settings.image_prompt, settings.image_negative, settings.image_guidance,
                  1.0 - settings.audio_weight, settings.image_start_step if image_start is None else image_start),
                 ("audio", settings.audio_prompt, settings.audio_negative, settings.audio_guidance,
                  settings.audio_weight, settings.audio_start if audio_start is None else audio_start))
        return [Member(name=name, guidance=guidance, weight=weight, start=start,
                       **self.member_parts(name, prompt, negative))
                for name, prompt, negative, guidance, weight, start in roles if weight > 0.0]


# ---- presets ----------------------------------------------------------------------------------------------
def check_preset(preset: str | None) -> None:
    """Refuse an unknown preset in one line."""
    if preset is not None and preset not in PRESETS:
        raise SpectrocanvasError(f"unknown preset '{preset}'; choose one of {', '.join(PRESETS)} "
                                 "(or none for SD 1.5 + Auffusion)")


def preset_defaults(preset: str | None) -> tuple[Mapping[str, Any], ...]:
    """The preset's default groups for the options a user leaves unset (none for the real pair)."""
    check_preset(preset)
    if preset == "pocket":
        from spectrocanvas.pocket.defaults import SETTINGS_DEFAULTS

        return SETTINGS_DEFAULTS
    return ()


def preset_vocoder(preset: str | None) -> str:
    """The vocoder a preset uses when ``--vocoder`` is unset."""
    check_preset(preset)
    if preset == "pocket":
        from spectrocanvas.pocket.defaults import VOCODER

        return VOCODER
    return "hifigan"


def check_prompts(preset: str | None, settings: "GenerateSettings") -> None:
    """Refuse prompts the preset's models cannot take, in one line, before anything loads."""
    check_preset(preset)
    if preset != "pocket":
        return
    from spectrocanvas.pocket.vocab import class_index

    class_index(settings.image_prompt, "image")
    class_index(settings.audio_prompt, "audio")
    if settings.image_negative or settings.audio_negative:
        raise SpectrocanvasError("the pocket models take no negative prompts (they guide away from their "
                                 "null class); leave out --image-negative and --audio-negative")


# ---- the pocket pair ---------------------------------------------------------------------------------------
@dataclass
class PocketPair(PairBase):
    """The pocket denoisers as a :class:`ModelPair`: latents are the canvas in model space (B, 1, 32, 128)."""

    models: Any  # spectrocanvas.pocket.load.PocketModels
    vocoder: Any
    weights_dir: Path
    cpu_threads: int | None = None
    """Torch threads while sampling (None: as the process has them)."""

    @property
    def spec(self) -> "CanvasSpec":
        return self.models.spec

    @property
    def device(self) -> str:
        return "cpu"

    def member_parts(self, role: str, prompt: str, negative: str) -> dict[str, Any]:
        denoiser = getattr(self.models, role)
        return {"denoiser": denoiser, "cond": denoiser.cond(prompt), "uncond": denoiser.uncond(),
                "schedule": denoiser.scheduler_config}

    def scheduler(self, name: str) -> "SchedulerMixin":
        from spectrocanvas.pocket.schedule import pocket_scheduler

        return pocket_scheduler(name)

    def scheduler_configs(self) -> list[Mapping[str, Any]]:
        return [self.models.image.scheduler_config, self.models.audio.scheduler_config]

    def latent_shape(self, settings: "GenerateSettings") -> tuple[int, int, int]:
        """Always the pocket canvas (1, 32, 128): the models know no other size."""
        from spectrocanvas.pocket.spec import CANVAS_SHAPE

        return CANVAS_SHAPE

    def decode_canvas(self, latents: torch.Tensor) -> torch.Tensor:
        """(B, 1, 32, 128) in [-1, 1] → canvas (B, 32, 128) in [0, 1]."""
        from spectrocanvas.pocket.spec import from_model

        return from_model(latents.float().cpu())[:, 0]

    def decode_image(self, latents: torch.Tensor) -> torch.Tensor:
        """(B, 1, 32, 128) → the canvas as gray RGB (B, 3, 32, 128) in [0, 1]: the picture is the canvas."""
        return self.decode_canvas(latents)[:, None].expand(-1, 3, -1, -1).contiguous()

    def describe(self) -> dict[str, Any]:
        record = self.models.record
        return {"preset": "pocket", "weights": str(self.weights_dir),
                **{role: {**getattr(self.models, role).describe(),
                          "training_steps": record.get(role, {}).get("steps")} for role in ROLES}}


def load_pocket_pair(runtime: "Runtime") -> PocketPair:
    """The pocket pair for ``runtime``: CPU, float32, Griffin-Lim on the pocket canvas."""
    from spectrocanvas.pocket.load import default_weights_dir, load_pocket
    from spectrocanvas.vocoder import GriffinLimVocoder

    if runtime.device not in (None, "cpu"):
        raise SpectrocanvasError(f"the pocket models run on the CPU; leave out --device (got '{runtime.device}')")
    if runtime.dtype not in (None, "fp32", "float32"):
        raise SpectrocanvasError(f"the pocket models run in float32; leave out --dtype (got '{runtime.dtype}')")
    if runtime.resolved_vocoder() != "griffinlim":
        raise SpectrocanvasError("the pocket pair has no HiFi-GAN vocoder; use --vocoder griffinlim (its default)")
    from spectrocanvas.pocket.defaults import THREADS

    weights_dir = default_weights_dir()
    models = load_pocket(weights_dir)
    threads = None if os.environ.get("OMP_NUM_THREADS") else THREADS
    return PocketPair(models=models, vocoder=GriffinLimVocoder(spec=models.spec), weights_dir=weights_dir,
                      cpu_threads=threads)
