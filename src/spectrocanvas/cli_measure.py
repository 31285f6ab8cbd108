"""The measuring part of the CLI: `generate --method/--score/--keep-top`, `evaluate` and `compare`.

Thin: parses arguments and calls :mod:`spectrocanvas.methods`, :mod:`spectrocanvas.evaluate`,
:mod:`spectrocanvas.rerank` and :mod:`spectrocanvas.compare` with keyword arguments.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from spectrocanvas.errors import SpectrocanvasError

METHOD_DEFAULTED = ("steps", "image_guidance", "audio_guidance", "audio_weight", "image_start", "audio_start")
"""Generate options whose default depends on --method: None after parsing means 'not set'."""


# ---- generate: --method, --score, --keep-top --------------------------------------------------------------
def _add_method_only_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--image-steps", type=int, default=None, metavar="N",
                       help="imprint: SD's steps (default 50 with --steps unset, else --steps)")
    group.add_argument("--sds-iterations", type=int, default=None, metavar="N", help="sds: iterations (1000)")
    group.add_argument("--sds-lr", type=float, default=None, metavar="LR", help="sds: Adam learning rate (0.02)")
    group.add_argument("--sds-image-start", type=int, default=None, metavar="I",
                       help="sds: iteration at which the image model joins (125)")


def _add_scorer_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--clip-model", default=None, metavar="ID|DIR", help="default openai/clip-vit-base-patch16")
    group.add_argument("--clap-model", default=None, metavar="ID|DIR", help="default laion/clap-htsat-unfused")


def add_generate_measure_options(parser: argparse.ArgumentParser) -> None:
    """--method and its options, --score and --keep-top, on the `generate` parser."""
    from spectrocanvas.methods import METHODS

    methods = parser.add_argument_group("method (docs/methods.md)")
    methods.add_argument("--method", choices=list(METHODS), default="denoise",
                         help="denoise: the paper's (default); imprint, sds: its baselines; image-only, "
                              "audio-only: one model alone. Each has its own defaults for the sampling "
                              "options you leave unset")
    _add_method_only_options(methods)
    scoring = parser.add_argument_group("scores")
    scoring.add_argument("--score", action="store_true",
                         help="write clip_score and clap_score into each sample's meta.json as it is made")
    scoring.add_argument("--keep-top", type=float, default=None, metavar="F",
                         help="implies --score: list the samples in the top fraction F of both scores "
                              "(per prompt pair) in OUT/top.json; nothing is deleted")
    _add_scorer_options(scoring)
    parser.set_defaults(**{name: None for name in METHOD_DEFAULTED})


def _given(args: argparse.Namespace, settings: dict[str, Any]) -> dict[str, Any]:
    extra = {k: getattr(args, k) for k in ("image_steps", "sds_iterations", "sds_lr", "sds_image_start")}
    return {**settings, **extra}


def generate_settings(args: argparse.Namespace, settings: dict[str, Any]) -> dict[str, Any]:
    """The generate command's settings with the method's defaults for what the user left unset."""
    from spectrocanvas.methods import method_settings

    return method_settings(args.method, _given(args, settings), strict=True)


def _scorers(args: argparse.Namespace):
    from spectrocanvas.evaluate import Scorers

    return Scorers.load(clip_model=args.clip_model, clap_model=args.clap_model, device=args.device,
                        offline=args.offline or None)


def sample_hook(args: argparse.Namespace) -> Callable[[Path], None] | None:
    """With --score or --keep-top: a callback that scores each new sample folder."""
    if args.keep_top is not None and not 0 < args.keep_top <= 1:
        raise SpectrocanvasError(f"--keep-top takes a fraction in (0, 1], got {args.keep_top:g}")
    if not (args.score or args.keep_top is not None):
        return None
    from spectrocanvas.evaluate import score_samples

    scorers = _scorers(args)
    return lambda folder: score_samples([folder], scorers)


def finish_generate(args: argparse.Namespace, folders: Sequence[Path]) -> None:
    """After generate: score samples a resumed run made earlier, then --keep-top."""
    if not (args.score or args.keep_top is not None):
        return
    from spectrocanvas.evaluate import score_samples
    from spectrocanvas.rerank import keep_top_samples, write_top_list

    score_samples(folders, _scorers(args))
    if args.keep_top is None:
        return
    kept = keep_top_samples(folders, args.keep_top)
    totals: dict[Path, int] = {}
    for folder in folders:
        totals[Path(folder).parent] = totals.get(Path(folder).parent, 0) + 1
    path = write_top_list(args.output, kept, args.keep_top, totals)
    count = sum(len(v) for v in kept.values())
    print(f"kept {count} of {len(folders)} sample(s) in the top {args.keep_top:g} of both scores:")
    for samples in kept.values():
        for sample in samples:
            print(f"  {sample}")
    print(f"listed in {path}")


# ---- evaluate -------------------------------------------------------------------------------------------------
def _run_evaluate(args: argparse.Namespace) -> int:
    from spectrocanvas.evaluate import SCORES_CSV, SCORES_MD, evaluate

    result = evaluate(args.folder, clip_model=args.clip_model, clap_model=args.clap_model, device=args.device,
                      offline=args.offline or None, rescore=args.rescore, progress=not args.quiet)
    print(result.markdown)
    print(f"scored {len(result.scored)} of {len(result.records)} sample(s); "
          f"wrote {Path(args.folder) / SCORES_MD} and {Path(args.folder) / SCORES_CSV}")
    return 0


# ---- compare --------------------------------------------------------------------------------------------------
def _run_compare(args: argparse.Namespace) -> int:
    from spectrocanvas.compare import COMPARISON_CSV, COMPARISON_MD, compare
    from spectrocanvas.generate import Runtime
    from spectrocanvas.methods import parse_methods

    runtime = Runtime(image_model=args.image_model, audio_model=args.audio_model, device=args.device,
                      dtype=args.dtype, batch_size=args.batch_size, vocoder=args.vocoder, video=args.video,
                      offline=args.offline or None, progress=not args.quiet)
    options = dict(n=args.n, seed=args.seed, steps=args.steps, scheduler=args.scheduler,
                   image_guidance=args.image_guidance, audio_guidance=args.audio_guidance,
                   audio_weight=args.audio_weight, image_start=args.image_start, audio_start=args.audio_start,
                   crop_columns=0 if args.no_crop else None, image_steps=args.image_steps,
                   sds_iterations=args.sds_iterations, sds_lr=args.sds_lr, sds_image_start=args.sds_image_start)
    result = compare(output=args.output, pairs_file=args.pairs, methods=parse_methods(args.methods),
                     options=options, runtime=runtime, overwrite=args.overwrite, clip_model=args.clip_model,
                     clap_model=args.clap_model, rescore=args.rescore)
    print(result.markdown)
    print(f"wrote {Path(args.output) / COMPARISON_MD} and {Path(args.output) / COMPARISON_CSV}")
    return 0


def _add_runtime_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--image-model", default="sd15", metavar="ID|DIR", help="default sd15")
    group.add_argument("--audio-model", default="auffusion", metavar="ID|DIR", help="default auffusion")
    group.add_argument("--vocoder", choices=("hifigan", "griffinlim"), default="hifigan",
                       help="hifigan: the audio model's vocoder/ (default); griffinlim: no weights")
    group.add_argument("--dtype", default=None, help="bf16, fp16 or fp32 (default: bf16/fp16 on GPU, fp32 on CPU)")
    group.add_argument("--batch-size", type=int, default=None, metavar="B", help="samples made at once (up to 8)")


def add_measure_parsers(commands: Any) -> None:
    """The `evaluate` and `compare` subcommands."""
    from spectrocanvas.compare import DEFAULT_METHODS

    evaluate = commands.add_parser(
        "evaluate", help="CLIP and CLAP scores of generated samples, with a table per method",
        description="Score every sample folder that generate wrote under DIR (any depth): CLIP of "
                    "canvas.png against the image prompt, CLAP of audio.wav against the audio prompt, as "
                    "the paper scores them. Each meta.json gets clip_score and clap_score; the table of "
                    "mean ± 95% CI per method (and per run when there are several) is printed and "
                    "written to DIR/scores.md and DIR/scores.csv. Scored samples are skipped.")
    evaluate.add_argument("folder", metavar="DIR", help="a generate output folder (or a folder of them)")
    evaluate.add_argument("--rescore", action="store_true", help="score samples that already have scores")
    _add_scorer_options(evaluate)
    evaluate.add_argument("--device", default=None, help="cuda, cpu, … (default: cuda if present)")
    evaluate.add_argument("--offline", action="store_true", help="never use the network")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")
    evaluate.set_defaults(handler=_run_evaluate)

    compare = commands.add_parser(
        "compare", help="the paper's comparison: every method on the example prompt pairs, scored",
        description="Generate with each method (OUT/<method>/pair_…/sample_…), score everything, and "
                    "print the paper's table: a row per method, CLIP and CLAP as mean ± 95% CI, the "
                    "single-model references last. Writes OUT/comparison.md and OUT/comparison.csv. "
                    "Run it again to finish an interrupted comparison.")
    compare.add_argument("--pairs", default=None, metavar="FILE",
                         help="prompt pairs (JSONL or CSV); default: the paper's examples shipped with spectrocanvas")
    compare.add_argument("-o", "--output", required=True, metavar="OUT", help="output folder")
    compare.add_argument("--overwrite", action="store_true", help="replace runs made with other settings")
    compare.add_argument("--methods", default=",".join(DEFAULT_METHODS),
                         help=f"comma-separated (default {','.join(DEFAULT_METHODS)})")
    compare.add_argument("--no-video", dest="video", action="store_false", help="skip video.mp4")
    compare.add_argument("--rescore", action="store_true", help="score samples that already have scores")
    compare.add_argument("--quiet", action="store_true", help="no progress bars")
    sampling = compare.add_argument_group("sampling (unset: each method's defaults)")
    sampling.add_argument("-n", type=int, default=1, help="samples per prompt pair and method (default 1)")
    sampling.add_argument("--seed", type=int, default=0, help="sample i uses seed + i (default 0)")
    sampling.add_argument("--steps", type=int, default=None, help="denoising steps")
    sampling.add_argument("--scheduler", default="ddim", help="ddim (default), dpm++, …")
    sampling.add_argument("--image-guidance", type=float, default=None, help="CFG scale of the image model")
    sampling.add_argument("--audio-guidance", type=float, default=None, help="CFG scale of the audio model")
    sampling.add_argument("--audio-weight", type=float, default=None, help="weight of the audio model")
    sampling.add_argument("--image-start", type=int, default=None, help="step at which the image model joins")
    sampling.add_argument("--audio-start", type=int, default=None, help="step at which the audio model joins")
    sampling.add_argument("--no-crop", action="store_true", help="keep the last 32 pixel columns")
    _add_method_only_options(sampling)
    hardware = compare.add_argument_group("models, hardware and scores")
    _add_runtime_options(hardware)
    hardware.add_argument("--device", default=None, help="cuda, cpu, … (default: cuda if present)")
    hardware.add_argument("--offline", action="store_true", help="never use the network")
    _add_scorer_options(hardware)
    compare.set_defaults(handler=_run_compare)
