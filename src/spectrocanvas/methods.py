"""The ways `generate --method` makes a canvas: the paper's denoising and its baselines.

A method is a function ``(settings, models, seeds, *, on_step) -> output`` where ``models`` is a
:class:`spectrocanvas.model_pair.ModelPair` and output is either latents (B, C, h, w) in the pair's
shared space (for SD/Auffusion (B, 4, h, w), decoded by both VAEs, as the paper does) or a pair
``(image_pixels (B, 3, H, W), canvas (B, H, W))`` in [0, 1] at full width (the caller crops the tail).

Per-method defaults: every method starts from :class:`GenerateSettings`' defaults (the paper's
denoising values) and changes some of them. A method's defaults come in *groups* of linked
options; a group applies only when the user set none of its options (``None`` = not set). So
``--method imprint`` runs SD for 50 steps and Auffusion for 100, while ``--method imprint
--steps 20`` runs both for 20 (``--image-steps`` unset follows ``--steps``). A method's *fixed*
settings (image-only has no audio member) are always applied; setting them otherwise is an error
in `generate` and ignored in `compare`, which passes one set of options to every method.
A preset (``--preset pocket``) adds its own default groups after the method's: a small model
pair wants other values than the paper's for what the user left unset.
See docs/methods.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Union

import torch

from spectrocanvas.errors import SpectrocanvasError

if TYPE_CHECKING:
    from spectrocanvas.generate import GenerateSettings
    from spectrocanvas.model_pair import ModelPair

MethodOutput = Union[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]
MethodFn = Callable[..., MethodOutput]

IMPRINT_STRENGTH = 0.5
"""How deep the image cuts the spectrogram in the imprint baseline (the official mag_ratio)."""

METHOD_FIELDS = ("image_steps", "sds_iterations", "sds_lr", "sds_image_start")
"""Settings that only some methods read; ``None`` elsewhere (and then left out of a run's identity)."""


@dataclass(frozen=True)
class Method:
    """One way to make a canvas, with its settings policy (see the module notes)."""

    name: str
    label: str
    run: MethodFn
    defaults: tuple[Mapping[str, Any], ...] = ()
    fixed: Mapping[str, Any] = field(default_factory=dict)
    uses: tuple[str, ...] = ()

    def units(self, settings: "GenerateSettings") -> int:
        """Progress units (denoising steps or SDS iterations) per sample."""
        if self.name == "sds":
            return int(settings.sds_iterations or 0)
        if self.name == "imprint":
            return settings.steps + (settings.image_steps or settings.steps)
        return settings.steps


# ---- the methods ------------------------------------------------------------------------------------------
def denoise(settings: "GenerateSettings", models: "ModelPair", seeds: Sequence[int], *,
            on_step: Callable[[], None] | None = None) -> torch.Tensor:
    """The paper's joint denoising: latents (B, C, h, w)."""
    from spectrocanvas.generate import denoise_latents

    return denoise_latents(settings, models, seeds, on_step=on_step)


def image_only(settings: "GenerateSettings", models: "ModelPair", seeds: Sequence[int], *,
               on_step: Callable[[], None] | None = None) -> torch.Tensor:
    """The image model alone with the denoising settings (the paper's image-only reference): latents (B, C, h, w)."""
    return denoise(replace(settings, **METHODS["image-only"].fixed), models, seeds, on_step=on_step)


def audio_only(settings: "GenerateSettings", models: "ModelPair", seeds: Sequence[int], *,
               on_step: Callable[[], None] | None = None) -> torch.Tensor:
    """The audio model alone with the denoising settings (the audio-only reference): latents (B, C, h, w)."""
    return denoise(replace(settings, **METHODS["audio-only"].fixed), models, seeds, on_step=on_step)


def imprint(settings: "GenerateSettings", models: "ModelPair", seeds: Sequence[int], *,
            on_step: Callable[[], None] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The image model's picture carved into the audio model's spectrogram (same seeds): ((B, 3, H, W), (B, H, W)).

    The image's grayscale (mean of RGB, as the official code takes it) is inverted and cuts the
    spectrogram by ``spectrogram × (1 − 0.5 × (1 − gray))``: dark parts of the image remove sound.
    """
    from spectrocanvas.imprint import imprint_canvas

    alone = dict(image_start=0, audio_start=0)
    image_settings = replace(settings, audio_weight=0.0, steps=settings.image_steps or settings.steps, **alone)
    audio_settings = replace(settings, audio_weight=1.0, **alone)
    image_pixels = models.decode_image(denoise(image_settings, models, seeds, on_step=on_step))
    spectrogram = models.decode_canvas(denoise(audio_settings, models, seeds, on_step=on_step))
    canvas = imprint_canvas(spectrogram, image_pixels.mean(dim=1), strength=IMPRINT_STRENGTH, invert=True)
    return image_pixels, canvas


SDS_IMAGE_START_FRACTION = 1 / 8
"""The official SDS baseline adds the image model after 5000 of 40000 iterations."""


def sds_image_start(settings: "GenerateSettings") -> int:
    """Iteration at which SDS's image side joins: ``sds_image_start``, else an eighth of the iterations."""
    if settings.audio_weight == 0.0:
        return 0
    if settings.sds_image_start is not None:
        return settings.sds_image_start
    return int(round((settings.sds_iterations or 0) * SDS_IMAGE_START_FRACTION))


def sds(settings: "GenerateSettings", models: "ModelPair", seeds: Sequence[int], *,
        on_step: Callable[[], None] | None = None) -> torch.Tensor:
    """A latent canvas distilled from both models by SDS (see :mod:`spectrocanvas.sds`): (B, C, h, w)."""
    from spectrocanvas.noise_schedule import alphas_cumprod_of
    from spectrocanvas.sampler import check_shared_schedule, initial_latents
    from spectrocanvas.sds import sds_optimise

    members = models.members(settings, image_start=sds_image_start(settings), audio_start=0)
    configs = models.scheduler_configs()
    check_shared_schedule(configs)
    alphas_cumprod = alphas_cumprod_of(configs[-1])
    latents = initial_latents(list(seeds), models.latent_shape(settings), device=models.device)
    callback = (lambda _: on_step()) if on_step is not None else None
    optimised, _ = sds_optimise(latents, members, alphas_cumprod, seeds=seeds, iterations=int(settings.sds_iterations),
                                lr=float(settings.sds_lr), callback=callback)
    return optimised


# ---- registry and settings policy ---------------------------------------------------------------------------
SDS_AUDIO_WEIGHT = round(1 / 1.4, 4)
"""The official SDS weights, audio 1 and image 0.4, as the share of the audio model."""

METHODS: dict[str, Method] = {
    "denoise": Method("denoise", "Ours (joint denoising)", denoise),
    "imprint": Method("imprint", "Imprint", imprint,
                      defaults=({"steps": 100, "image_steps": 50}, {"image_guidance": 7.5}, {"audio_guidance": 7.5}),
                      fixed={"image_start": 0, "audio_start": 0}, uses=("image_steps",)),
    "sds": Method("sds", "SDS", sds,
                  defaults=({"sds_iterations": 1000}, {"sds_lr": 0.02},
                            {"image_guidance": 100.0}, {"audio_guidance": 10.0},
                            {"audio_weight": SDS_AUDIO_WEIGHT}),
                  fixed={"image_start": 0, "audio_start": 0},  # SDS has iterations, not steps
                  uses=("sds_iterations", "sds_lr", "sds_image_start")),
    "image-only": Method("image-only", "Image model only (SD)", image_only,
                         fixed={"audio_weight": 0.0, "image_start": 0, "audio_start": 0}),
    "audio-only": Method("audio-only", "Audio model only (Auffusion)", audio_only,
                         fixed={"audio_weight": 1.0, "image_start": 0, "audio_start": 0}),
}


def get_method(name: str) -> Method:
    """The method called ``name``; an unknown name is one line listing the known ones."""
    try:
        return METHODS[name]
    except KeyError:
        raise SpectrocanvasError(f"unknown method '{name}'; choose one of {', '.join(METHODS)}") from None


def parse_methods(text: str) -> list[str]:
    """'denoise,imprint' → ['denoise', 'imprint'], each checked, duplicates refused."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise SpectrocanvasError("--methods is empty; name at least one of " + ", ".join(METHODS))
    for name in names:
        get_method(name)
    if len(set(names)) != len(names):
        raise SpectrocanvasError(f"--methods names a method twice: {text}")
    return names


def method_settings(method: str, given: Mapping[str, Any], *, strict: bool = True,
                    preset: str | None = None) -> dict[str, Any]:
    """Keyword arguments for :class:`GenerateSettings` (prompts aside) for ``method``.

    ``given``: the user's options, ``None`` where not set. Layers: the dataclass defaults, then the
    method's default groups whose options are all unset, then the ``preset``'s default groups
    (:func:`spectrocanvas.model_pair.preset_defaults`) likewise, then what the user set, then the
    method's fixed settings. ``strict``: a set option that the method fixes otherwise, or a
    method-only option of another method, is an error; else it is dropped.
    """
    from spectrocanvas.generate import GenerateSettings
    from spectrocanvas.model_pair import preset_defaults

    spec = get_method(method)
    known = {f.name for f in fields(GenerateSettings)}
    unknown = set(given) - known
    if unknown:
        raise SpectrocanvasError(f"unknown setting(s) {', '.join(sorted(unknown))}")
    chosen = {k: v for k, v in given.items() if v is not None}
    for key in [k for k in chosen if k in METHOD_FIELDS and k not in spec.uses]:
        if strict:
            owner = next((m.name for m in METHODS.values() if key in m.uses), "?")
            raise SpectrocanvasError(f"--{key.replace('_', '-')} applies to --method {owner}, not {method}")
        del chosen[key]
    for key, value in spec.fixed.items():
        if key in chosen and chosen[key] != value:
            if strict:
                raise SpectrocanvasError(f"--method {method} fixes --{key.replace('_', '-')} to {value:g}; "
                                         "leave it out")
            del chosen[key]
    settings: dict[str, Any] = {}
    for group in (*spec.defaults, *preset_defaults(preset)):
        if not any(k in chosen for k in group):
            settings.update(group)
    settings.update(chosen)
    settings.update(spec.fixed)
    settings["method"] = method
    return settings


def validate_method(settings: "GenerateSettings") -> None:
    """The method-specific checks of :meth:`GenerateSettings.validate`."""
    spec = get_method(settings.method)
    for key in METHOD_FIELDS:
        if getattr(settings, key) is not None and key not in spec.uses:
            raise SpectrocanvasError(f"--{key.replace('_', '-')} applies to another method than {settings.method}")
    if settings.image_steps is not None and not 1 <= settings.image_steps <= 1000:
        raise SpectrocanvasError(f"--image-steps must be between 1 and 1000, not {settings.image_steps}")
    if spec.name == "sds":
        if settings.sds_iterations is None or settings.sds_lr is None:
            raise SpectrocanvasError("--method sds needs --sds-iterations and --sds-lr "
                                     "(build its settings with methods.method_settings)")
        if settings.sds_iterations < 1:
            raise SpectrocanvasError(f"--sds-iterations must be at least 1, not {settings.sds_iterations}")
        if not settings.sds_lr > 0:
            raise SpectrocanvasError(f"--sds-lr must be positive, not {settings.sds_lr:g}")
        start = sds_image_start(settings)
        if settings.audio_weight < 1.0 and not 0 <= start < settings.sds_iterations:
            raise SpectrocanvasError(f"--sds-image-start must be an iteration in 0 … {settings.sds_iterations - 1}, "
                                     f"not {start}")
        if settings.audio_weight == 0.0 and start != 0:
            raise SpectrocanvasError("with --audio-weight 0 the image model must start at iteration 0")


def run_method(settings: "GenerateSettings", models: "ModelPair", seeds: Sequence[int], *,
               on_step: Callable[[], None] | None = None) -> MethodOutput:
    """Dispatch to ``settings.method``."""
    return get_method(settings.method).run(settings, models, seeds, on_step=on_step)
