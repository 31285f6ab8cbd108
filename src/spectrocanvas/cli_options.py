"""Options that `generate` and `compare` share, defined once: sampling, models and hardware."""

from __future__ import annotations

import argparse
from typing import Any

METHOD_DEFAULTED = ("steps", "image_guidance", "audio_guidance", "audio_weight", "image_start", "audio_start")
"""Options whose default depends on --method: None after parsing means 'not set'."""


def add_sampling_options(parser: argparse.ArgumentParser, *, n_help: str = "default 1") -> None:
    """-n, --seed, the sampler's settings (unset: the method's defaults) and the method-only options.
    ``-n`` is None when not given (the command picks its default, described by ``n_help``)."""
    sampling = parser.add_argument_group("sampling (unset: the method's defaults; denoise uses the paper's)")
    sampling.add_argument("-n", type=int, default=None, help=f"samples per prompt pair ({n_help})")
    sampling.add_argument("--seed", type=int, default=0, help="sample i uses seed + i (default 0)")
    sampling.add_argument("--steps", type=int, help="denoising steps (denoise: 100; pocket: 50)")
    sampling.add_argument("--scheduler", default="ddim", help="ddim (default), dpm++ for fewer steps, …")
    sampling.add_argument("--image-guidance", type=float, help="CFG scale of the image model (denoise: 10; pocket: 10)")
    sampling.add_argument("--audio-guidance", type=float, help="CFG scale of the audio model (denoise: 10; pocket: 5)")
    sampling.add_argument("--audio-weight", type=float,
                          help="weight of the audio model's noise estimate; the image model gets 1 − it (0.5; pocket: 0.25)")
    sampling.add_argument("--image-start", type=int,
                          help="step at which the image model joins (denoise: a tenth of the steps, 10 of 100: the warm start; pocket: 0)")
    sampling.add_argument("--audio-start", type=int, help="step at which the audio model joins (0)")
    sampling.add_argument("--image-negative", default="", metavar="TEXT", help="negative prompt of the image model")
    sampling.add_argument("--audio-negative", default="", metavar="TEXT", help="negative prompt of the audio model")
    sampling.add_argument("--no-crop", action="store_true",
                          help="keep the last 32 pixel columns (the silent tail of Auffusion's clips; pocket never crops)")
    sampling.add_argument("--image-steps", type=int, default=None, metavar="N",
                          help="imprint: SD's steps (default 50 with --steps unset, else --steps)")
    sampling.add_argument("--sds-iterations", type=int, default=None, metavar="N", help="sds: iterations (1000)")
    sampling.add_argument("--sds-lr", type=float, default=None, metavar="LR", help="sds: Adam learning rate (0.02)")
    sampling.add_argument("--sds-image-start", type=int, default=None, metavar="I",
                          help="sds: iteration at which the image model joins (an eighth of the iterations: 125 of 1000)")
    parser.set_defaults(**{name: None for name in METHOD_DEFAULTED})


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """The model pair (--preset, or the two diffusion models), the vocoder, device, dtype, batch size and offline mode."""
    from spectrocanvas.model_pair import PRESETS as PAIR_PRESETS
    from spectrocanvas.models import PRESETS

    models = parser.add_argument_group(
        "models and hardware (model names: " + ", ".join(f"{k} = {v}" for k, v in PRESETS.items()) + ")")
    models.add_argument("--preset", choices=PAIR_PRESETS, default=None,
                        help="pocket: the project's small class-conditional pair on a 32 x 128 canvas (prompts are "
                             "single words; its own defaults for unset sampling options). Default: SD 1.5 + "
                             "Auffusion, as --image-model/--audio-model name them")
    models.add_argument("--image-model", default=None, metavar="ID|DIR", help="default sd15")
    models.add_argument("--audio-model", default=None, metavar="ID|DIR", help="default auffusion")
    models.add_argument("--vocoder", choices=("hifigan", "griffinlim"), default=None,
                        help="hifigan: the audio model's vocoder/ (default); griffinlim: no weights "
                             "(the default with --preset pocket)")
    models.add_argument("--device", default=None, help="cuda, cuda:1, cpu, … (default: cuda if present)")
    models.add_argument("--dtype", default=None, help="bf16, fp16 or fp32 (default: bf16/fp16 on GPU, fp32 on CPU)")
    models.add_argument("--batch-size", type=int, default=None, metavar="B",
                        help="samples denoised at once (default up to 8; lower it to save memory)")
    models.add_argument("--offline", action="store_true", help="never use the network (also HF_HUB_OFFLINE=1)")


def runtime_from_args(args: argparse.Namespace):
    """The Runtime the model and hardware options describe."""
    from spectrocanvas.errors import SpectrocanvasError
    from spectrocanvas.generate import Runtime

    if args.preset is not None and (args.image_model or args.audio_model):
        raise SpectrocanvasError(f"--preset {args.preset} brings its own models; leave out --image-model "
                                 "and --audio-model")
    return Runtime(image_model=args.image_model or "sd15", audio_model=args.audio_model or "auffusion",
                   preset=args.preset, device=args.device,
                   dtype=args.dtype, batch_size=args.batch_size, vocoder=args.vocoder, video=args.video,
                   offline=args.offline or None, progress=not args.quiet)


def sampling_from_args(args: argparse.Namespace, *, n_default: int = 1) -> dict[str, Any]:
    """The sampling options as GenerateSettings fields (None where the method decides; ``n_default``
    where -n was not given)."""
    names = ("seed", "scheduler", "image_negative", "audio_negative", "image_steps", "sds_iterations",
             "sds_lr", "sds_image_start", *METHOD_DEFAULTED)
    return {"n": n_default if args.n is None else args.n, **{name: getattr(args, name) for name in names},
            "crop_columns": 0 if args.no_crop else None}
