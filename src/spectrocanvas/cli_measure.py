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

# ---- generate: --method, --score, --keep-top --------------------------------------------------------------
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
    scoring = parser.add_argument_group("scores")
    scoring.add_argument("--score", action="store_true",
                         help="write clip_score and clap_score into each sample's meta.json as it is made")
    scoring.add_argument("--keep-top", type=float, default=None, metavar="F",
                         help="implies --score: list the samples in the top fraction F of both scores "
                              "(per prompt pair) in OUT/top.json; nothing is deleted")
    _add_scorer_options(scoring)


def generate_settings(args: argparse.Namespace, settings: dict[str, Any]) -> dict[str, Any]:
    """The generate command's settings with the method's (then the preset's) defaults for what the user left unset."""
    from spectrocanvas.methods import method_settings

    return method_settings(args.method, settings, strict=True, preset=args.preset)


def _scorers(args: argparse.Namespace):
    """CLIP and CLAP, or the pocket judges with --preset pocket (loaded once per process)."""
    from spectrocanvas.evaluate import load_scorers

    return load_scorers(args.preset, clip_model=args.clip_model, clap_model=args.clap_model, device=args.device,
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

    scorers = _scorers(args)
    score_samples(folders, scorers)
    if args.keep_top is None:
        return
    kept = keep_top_samples(folders, args.keep_top, scorers.keys)
    totals: dict[Path, int] = {}
    for folder in folders:
        totals[Path(folder).parent] = totals.get(Path(folder).parent, 0) + 1
    path = write_top_list(args.output, kept, args.keep_top, totals, scorers.keys)
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
    from spectrocanvas.cli_options import runtime_from_args, sampling_from_args
    from spectrocanvas.compare import COMPARISON_CSV, COMPARISON_MD, POCKET_SAMPLES_PER_PAIR, compare
    from spectrocanvas.methods import parse_methods

    runtime = runtime_from_args(args)
    options = sampling_from_args(args, n_default=POCKET_SAMPLES_PER_PAIR if runtime.preset == "pocket" else 1)
    methods = parse_methods(args.methods) if args.methods else None
    result = compare(output=args.output, pairs_file=args.pairs, methods=methods,
                     options=options, runtime=runtime, overwrite=args.overwrite, clip_model=args.clip_model,
                     clap_model=args.clap_model, rescore=args.rescore)
    print(result.markdown)
    print(f"wrote {Path(args.output) / COMPARISON_MD} and {Path(args.output) / COMPARISON_CSV}")
    return 0


def add_measure_parsers(commands: Any) -> None:
    """The `evaluate` and `compare` subcommands."""
    from spectrocanvas.cli_options import add_model_options, add_sampling_options
    from spectrocanvas.compare import DEFAULT_METHODS, POCKET_METHODS

    evaluate = commands.add_parser(
        "evaluate", help="CLIP and CLAP scores (pocket: the judges' verdicts) of generated samples, with a table",
        description="Score every sample folder that generate wrote under DIR (any depth): CLIP of "
                    "canvas.png against the image prompt, CLAP of audio.wav against the audio prompt, as "
                    "the paper scores them. Each meta.json gets clip_score and clap_score; the table of "
                    "mean ± 95% CI per method (and per run when there are several) is printed and "
                    "written to DIR/scores.md and DIR/scores.csv. Scored samples are skipped. Samples of "
                    "the pocket pair (--preset pocket) are judged by the pocket classifiers instead: each "
                    "meta.json gets image_judge_score, sound_judge_score, image_right, sound_right and "
                    "both_right, and the table gives success rates with 95% intervals.")
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
                    "Run it again to finish an interrupted comparison. With --preset pocket: every image "
                    "class with every sound class, judged by the pocket classifiers; the table gives "
                    "each method's success rate (both judges right) with a 95% interval.")
    compare.add_argument("--pairs", default=None, metavar="FILE",
                         help="prompt pairs (JSONL or CSV); default: the paper's examples shipped with "
                              "spectrocanvas (pocket: all 64 class pairs)")
    compare.add_argument("-o", "--output", required=True, metavar="OUT", help="output folder")
    compare.add_argument("--overwrite", action="store_true", help="replace runs made with other settings")
    compare.add_argument("--methods", default=None,
                         help=f"comma-separated (default {','.join(DEFAULT_METHODS)}; "
                              f"pocket: {','.join(POCKET_METHODS)})")
    compare.add_argument("--no-video", dest="video", action="store_false", help="skip video.mp4")
    compare.add_argument("--rescore", action="store_true", help="score samples that already have scores")
    compare.add_argument("--quiet", action="store_true", help="no progress bars")
    add_sampling_options(compare, n_help="default 1; pocket: 4, the table in BENCHMARKS.md")
    add_model_options(compare)
    _add_scorer_options(compare.add_argument_group("scores"))
    compare.set_defaults(handler=_run_compare)
