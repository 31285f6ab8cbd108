"""The ways `generate --method` makes a canvas: the paper's joint denoising and its baselines.

A method runs a batch — ``settings[i]`` and ``seeds[i]`` for sample i, all sharing everything but
their prompts — and returns either latents (B, C, h, w) in the pair's shared space (decoded by
both of the pair's decoders, as the paper does) or ``(image_pixels (B, 3, H, W), canvas (B, H, W))``
in [0, 1] at full width (the caller crops the tail).

Besides its function, a method declares its own settings with their defaults (imprint's
``image_steps``, SDS's ``sds_iterations`` …), the settings it fixes (a single-model reference keeps
one role; the baselines start every model at step 0), and how much progress a sample is.
See docs/methods.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

import torch

from spectrocanvas.canvas.carve import imprint_canvas
from spectrocanvas.diffusion.noise_schedule import alphas_cumprod_of
from spectrocanvas.diffusion.sampler import check_shared_schedule
from spectrocanvas.diffusion.sds import sds_optimise
from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.generate.inputs import fit_columns, given_picture, recording_canvas
from spectrocanvas.generate.sampling import OnStep, check_batch, composition, denoise_latents, start_latents
from spectrocanvas.generate.schema import Option
from spectrocanvas.generate.settings import GenerateSettings
from spectrocanvas.pairs.interface import ModelPair, PairEntry

MethodOutput = Union[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]
MethodFn = Callable[..., MethodOutput]

IMPRINT_STRENGTH = 0.5
"""How deep the image cuts the spectrogram in the imprint baseline (the official mag_ratio)."""

SDS_IMAGE_START_FRACTION = 1 / 8
"""The official SDS baseline adds the image model after 5000 of 40000 iterations."""


def alone(settings: GenerateSettings, role: str) -> GenerateSettings:
    """The settings with only ``role``'s models taking part, every model from the first step."""
    return settings.with_members(**{m.name: {"weight": 1.0 if m.role == role else 0.0, "start": 0}
                                    for m in settings.members})


# ---- the methods ------------------------------------------------------------------------------------------
def denoise(settings: Sequence[GenerateSettings], seeds: Sequence[int], pair: ModelPair, *,
            on_step: OnStep | None = None) -> torch.Tensor:
    """The paper's joint denoising (and, with one role's weight 0, a single model): latents (B, C, h, w)."""
    return denoise_latents(settings, seeds, pair, on_step=on_step)


def imprint(settings: Sequence[GenerateSettings], seeds: Sequence[int], pair: ModelPair, *,
            on_step: OnStep | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The image model's picture carved into the audio model's spectrogram (same seeds): ((B, 3, H, W), (B, H, W)).

    The image's grayscale (mean of RGB, as the official code takes it) is inverted and cuts the
    spectrogram by ``spectrogram × (1 − 0.5 × (1 − gray))``: dark parts of the image remove sound.
    A recording to start from (``init_audio``) is the spectrogram as it is; a picture
    (``init_image``) is the image as it is (whatever ``strength``): imprint carves, it does not re-imagine.
    """
    first = check_batch(settings, seeds)
    scale = pair.entry.latent_scale
    width = first.latent_width * scale
    if first.init_image:
        image_pixels = given_picture(first.init_image, height=first.latent_height * scale, width=width)
        image_pixels = image_pixels[None].expand(len(seeds), -1, -1, -1)
    else:
        image_settings = [alone(s, "image").with_(steps=s.method_options["image_steps"], init_audio=None, strength=None)
                          for s in settings]
        image_pixels = pair.decode_image(denoise_latents(image_settings, seeds, pair, on_step=on_step))
    if first.init_audio:
        spectrogram = fit_columns(recording_canvas(first.init_audio, pair.entry), width)[None].expand(len(seeds), -1, -1)
    else:
        audio_settings = [alone(s, "audio").with_(init_image=None, strength=None) for s in settings]
        spectrogram = pair.decode_canvas(denoise_latents(audio_settings, seeds, pair, on_step=on_step))
    canvas = imprint_canvas(spectrogram, image_pixels.mean(dim=1), strength=IMPRINT_STRENGTH, invert=True)
    return image_pixels, canvas


def sds(settings: Sequence[GenerateSettings], seeds: Sequence[int], pair: ModelPair, *,
        on_step: OnStep | None = None) -> torch.Tensor:
    """A latent canvas distilled from both models by SDS (see :mod:`spectrocanvas.diffusion.sds`): (B, C, h, w)."""
    first = check_batch(settings, seeds)
    options = first.method_options
    image_start = {m.name: options["sds_image_start"] for m in first.members if m.role == "image"}
    members = composition(pair, settings, starts=image_start)
    schedules = [m.schedule for m in members]
    check_shared_schedule(schedules)
    callback = (lambda _: on_step()) if on_step is not None else None
    optimised, _ = sds_optimise(start_latents(pair, first, seeds), members, alphas_cumprod_of(schedules[-1]),
                                seeds=seeds, iterations=options["sds_iterations"], lr=options["sds_lr"],
                                callback=callback)
    return optimised


# ---- their settings -------------------------------------------------------------------------------------
def _resolve_imprint(values: Mapping[str, Any], members: Mapping[str, str]) -> dict[str, Any]:
    """The image model's steps follow --steps unless set."""
    return {"image_steps": values.get("image_steps") or values["steps"]}


def _resolve_sds(values: Mapping[str, Any], members: Mapping[str, str]) -> dict[str, Any]:
    """The image side joins after an eighth of the iterations, unless set; at once when no audio model
    takes part. ``members``: name → role."""
    start = values.get("sds_image_start")
    audio_takes_part = any(values[f"{name}_weight"] > 0 for name, role in members.items() if role == "audio")
    if start is None:
        start = int(round(values["sds_iterations"] * SDS_IMAGE_START_FRACTION)) if audio_takes_part else 0
    return {"sds_iterations": values["sds_iterations"], "sds_lr": values["sds_lr"], "sds_image_start": start}


def _check_imprint(settings: GenerateSettings) -> None:
    steps = settings.method_options["image_steps"]
    if not 1 <= steps <= 1000:
        raise SpectrocanvasError(f"--image-steps must be between 1 and 1000, not {steps}")


def _check_sds(settings: GenerateSettings) -> None:
    options = settings.method_options
    iterations, lr, start = options["sds_iterations"], options["sds_lr"], options["sds_image_start"]
    if not 1 <= iterations <= 1_000_000:
        raise SpectrocanvasError(f"--sds-iterations must be between 1 and 1000000, not {iterations}")
    if not (lr > 0 and lr < float("inf")):
        raise SpectrocanvasError(f"--sds-lr must be a positive number, not {lr:g}")
    audio_takes_part = any(m.weight > 0 for m in settings.members if m.role == "audio")
    if audio_takes_part and not 0 <= start < iterations:
        raise SpectrocanvasError(f"--sds-image-start must be an iteration in 0 … {iterations - 1}, not {start}")
    if not audio_takes_part and start != 0:
        raise SpectrocanvasError("with the audio model's weight 0 the image model must start at iteration 0")


@dataclass(frozen=True)
class Method:
    """One way to make a canvas, with its own settings and the settings it fixes."""

    name: str
    label: str
    run: MethodFn
    options: tuple[Option, ...] = ()
    """Settings only this method reads, with their defaults."""
    alone: str | None = None
    """The role that runs alone (a single-model reference), if any."""
    from_first_step: bool = False
    """Every model denoises every step, from step 0 (the baselines have no warm start)."""
    reference: bool = False
    """A single-model reference row, listed last in comparisons."""
    takes_init: bool = True
    """Whether it can start from a recording or a picture (SDEdit); SDS optimises from noise."""
    resolve: Callable[[Mapping[str, Any], Mapping[str, str]], dict[str, Any]] | None = field(default=None, repr=False)
    """Method settings from the resolved flat values and the members (name → role): fills what depends on others."""
    check: Callable[[GenerateSettings], None] | None = field(default=None, repr=False)
    units: Callable[[GenerateSettings], int] = field(default=lambda s: s.steps - s.first_step, repr=False)
    """Progress units (denoising steps or SDS iterations) per sample."""

    def fixed(self, members: Mapping[str, str]) -> dict[str, Any]:
        """The flat settings this method fixes, for a composition of ``members`` (name → role)."""
        values: dict[str, Any] = {}
        if self.alone is not None:
            values.update({f"{name}_weight": 1.0 if role == self.alone else 0.0 for name, role in members.items()})
        if self.from_first_step:
            values.update({f"{name}_start": 0 for name in members})
            values.update({f"{name}_end": None for name in members})
        return values

    def label_for(self, entry: PairEntry) -> str:
        """The row label in a comparison of ``entry``'s samples (single models named after the pair's model)."""
        short = entry.slot(self.alone).label if self.alone else ""
        return f"{self.label} ({short})" if short else self.label


METHODS: dict[str, Method] = {
    "denoise": Method("denoise", "Ours (joint denoising)", denoise),
    "imprint": Method("imprint", "Imprint", imprint, from_first_step=True,
                      options=(Option("image_steps", int, "imprint: the image model's steps (unset: --steps)",
                                      metavar="N"),),
                      resolve=_resolve_imprint, check=_check_imprint,
                      units=lambda s: (0 if s.init_audio else s.steps) + (0 if s.init_image else s.method_options["image_steps"])),
    "sds": Method("sds", "SDS", sds, from_first_step=True,
                  options=(Option("sds_iterations", int, "sds: iterations", default=1000, metavar="N"),
                           Option("sds_lr", float, "sds: Adam learning rate", default=0.02, metavar="LR"),
                           Option("sds_image_start", int, "sds: iteration at which the image model joins (unset: "
                                                          "an eighth of the iterations, 125 of 1000)", metavar="I")),
                  resolve=_resolve_sds, check=_check_sds, units=lambda s: s.method_options["sds_iterations"],
                  takes_init=False),
    "image-only": Method("image-only", "Image model only", denoise, alone="image", from_first_step=True,
                         reference=True),
    "audio-only": Method("audio-only", "Audio model only", denoise, alone="audio", from_first_step=True,
                         reference=True),
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


def reference_last(methods: Sequence[str]) -> list[str]:
    """Ways to make images that sound first, single-model references last."""
    return [m for m in methods if not METHODS[m].reference] + [m for m in methods if METHODS[m].reference]


def run_method(settings: Sequence[GenerateSettings], seeds: Sequence[int], pair: ModelPair, *,
               on_step: OnStep | None = None) -> MethodOutput:
    """Run the batch's method (every sample of a batch has the same)."""
    return get_method(check_batch(settings, seeds).method).run(settings, seeds, pair, on_step=on_step)
