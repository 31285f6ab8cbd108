"""The measuring part of the CLI: `generate --method/--score/--keep-top`, `evaluate` and `compare`.

Thin: parses arguments and calls :mod:`spectrocanvas.measure.evaluate`,
:mod:`spectrocanvas.measure.rerank` and :mod:`spectrocanvas.measure.compare` with keyword arguments.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from spectrocanvas.cli.options import (
    add_audio_options,
    add_pair_options,
    add_scorer_options,
    add_settings_options,
    output_path,
    runtime_from_args,
    scorer_models_from_args,
    settings_from_args,
)
from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.files.records import read_json
from spectrocanvas.generate.methods import METHODS, parse_methods
from spectrocanvas.measure.compare import COMPARISON_CSV, COMPARISON_MD, ComparisonResult, compare
from spectrocanvas.measure.evaluate import SCORES_CSV, SCORES_MD, evaluate, is_scored, load_scorer, score_samples
from spectrocanvas.measure.rerank import keep_top_runs
from spectrocanvas.pairs.interface import Runtime, Scorer, ScorerRequest
from spectrocanvas.pairs.registry import PAIRS, get_pair
from spectrocanvas.support.processes import current_processes


# ---- generate: --method, --score, --keep-top --------------------------------------------------------------
def add_generate_measure_options(parser: argparse.ArgumentParser) -> None:
    """--method, --score and --keep-top, on the `generate` parser."""
    methods = parser.add_argument_group("method (docs/methods.md)")
    methods.add_argument("--method", choices=list(METHODS), default="denoise",
                         help="denoise: the paper's (default); imprint, sds: its baselines; image-only, "
                              "audio-only: one model alone. Each has its own defaults for the sampling "
                              "options you leave unset")
    scoring = parser.add_argument_group("scores (the pair's scorer: CLIP and CLAP, or the pocket judges)")
    scoring.add_argument("--score", action="store_true",
                         help="write the pair's scores into each sample's meta.json as it is made")
    scoring.add_argument("--keep-top", type=float, default=None, metavar="F",
                         help="implies --score: list the samples in the top fraction F of every score "
                              "(per prompt pair) in OUT/top.json; nothing is deleted")
    add_scorer_options(scoring)


def _scoring(args: argparse.Namespace) -> bool:
    if args.keep_top is not None and not 0 < args.keep_top <= 1:
        raise SpectrocanvasError(f"--keep-top takes a fraction in (0, 1], got {args.keep_top:g}")
    return args.score or args.keep_top is not None


def sample_hook(args: argparse.Namespace, runtime: Runtime) -> Callable[[Path], None] | None:
    """With --score or --keep-top: a callback that scores each new sample folder."""
    if not _scoring(args):
        return None
    entry = get_pair(runtime.pair)

    @functools.cache  # loaded by the first sample this process makes
    def scorer() -> Scorer:
        return load_scorer(entry, scorer_models=scorer_models_from_args(args),
                           device=current_processes().device_for(args.device), offline=args.offline or None)

    return lambda folder: score_samples([folder], scorer(), entry.scoring.keys)


def scorer_request(args: argparse.Namespace) -> ScorerRequest | None:
    """With --score or --keep-top: the scorer generate will load (its models are checked before the run)."""
    if not _scoring(args):
        return None
    return ScorerRequest(models=scorer_models_from_args(args), device=current_processes().device_for(args.device),
                         offline=args.offline or None)


def finish_generate(args: argparse.Namespace, runtime: Runtime, folders: Sequence[Path]) -> None:
    """After generate: score samples a resumed run made earlier, then --keep-top."""
    if not _scoring(args):
        return
    entry = get_pair(runtime.pair)
    processes = current_processes()
    mine = [f for f in processes.mine(folders) if not is_scored(read_json(f / "meta.json"), entry.scoring.keys)]
    if mine:
        scorer = load_scorer(entry, scorer_models=scorer_models_from_args(args),
                             device=processes.device_for(args.device), offline=args.offline or None)
        score_samples(mine, scorer, entry.scoring.keys)
    processes.wait()
    if args.keep_top is None or not processes.is_main:
        return
    path, kept = keep_top_runs(args.output, folders, args.keep_top, entry.scoring.keys)
    print(f"kept {sum(len(v) for v in kept.values())} of {len(folders)} sample(s) in the top {args.keep_top:g} "
          f"of every score ({', '.join(entry.scoring.keys)}):")
    for samples in kept.values():
        for sample in samples:
            print(f"  {sample}")
    print(f"listed in {path}")


# ---- evaluate -------------------------------------------------------------------------------------------------
def _run_evaluate(args: argparse.Namespace) -> int:
    result = evaluate(args.folder, scorer_models=scorer_models_from_args(args), device=args.device,
                      offline=args.offline or None, rescore=args.rescore, progress=not args.quiet)
    print(result.markdown)
    print(f"scored {len(result.scored)} of {len(result.records)} sample(s); "
          f"wrote {Path(args.folder) / SCORES_MD} and {Path(args.folder) / SCORES_CSV}")
    return 0


# ---- compare --------------------------------------------------------------------------------------------------
def _run_compare(args: argparse.Namespace) -> int:
    def show(result: ComparisonResult) -> None:  # as soon as the table is written, before the videos
        print(result.markdown)
        print(f"wrote {Path(args.output) / COMPARISON_MD} and {Path(args.output) / COMPARISON_CSV}", flush=True)

    result = compare(output=args.output, pairs_file=args.pairs,
                     methods=parse_methods(args.methods) if args.methods else None,
                     options=settings_from_args(args), runtime=runtime_from_args(args), overwrite=args.overwrite,
                     scorer_models=scorer_models_from_args(args), rescore=args.rescore, on_table=show)
    if result.videos:
        print(f"added video.mp4 to {len(result.videos)} sample(s)")
    return 0


def _per_pair(describe: Callable[[Any], str]) -> str:
    return "; ".join(f"{name}: {describe(entry)}" for name, entry in PAIRS.items())


def add_measure_parsers(commands: Any) -> None:
    """The `evaluate` and `compare` subcommands."""
    evaluate_parser = commands.add_parser(
        "evaluate", help="score generated samples with their pair's scorer, with a table",
        description="Score every sample folder that generate wrote under DIR (any depth) with the scorer of "
                    "the pair that made it: for SD 1.5 + Auffusion, CLIP of canvas.png against the image "
                    "prompt and CLAP of audio.wav against the audio prompt, as the paper scores them (mean "
                    "± 95% CI); for the pocket pair, its judges (image_judge_score, sound_judge_score, "
                    "image_right, sound_right, both_right; success rates with 95% intervals). Each "
                    "meta.json gets the scores; the table per method (and per run when there are several) "
                    "is printed and written to DIR/scores.md and DIR/scores.csv. Scored samples are skipped. "
                    "Under `accelerate launch -m spectrocanvas evaluate DIR` each process scores its share.")
    evaluate_parser.add_argument("folder", metavar="DIR", help="a generate output folder (or a folder of them)")
    evaluate_parser.add_argument("--rescore", action="store_true", help="score samples that already have scores")
    add_scorer_options(evaluate_parser.add_argument_group("scorer models"))
    evaluate_parser.add_argument("--device", default=None, help="cuda, cpu, … (default: cuda if present)")
    evaluate_parser.add_argument("--offline", action="store_true", help="never use the network")
    evaluate_parser.add_argument("--quiet", action="store_true", help="no progress bar")
    evaluate_parser.set_defaults(handler=_run_evaluate)

    compare_parser = commands.add_parser(
        "compare", help="the paper's comparison: every method on the pair's prompt pairs, scored",
        description="Generate with each method (OUT/<method>/pair_…/sample_…), score everything with the pair's "
                    "scorer, and print the paper's table: a row per method, the single-model references "
                    "last. Writes OUT/comparison.md and OUT/comparison.csv first, then the videos. Run it "
                    "again to finish an interrupted comparison. Samples are batched across prompt pairs; "
                    "`accelerate launch -m spectrocanvas compare …` splits them across processes and GPUs "
                    "(README). Measured: the full pocket comparison (1,024 samples, scored, --no-video) took "
                    "8.4 minutes as one process on a 2-core CPU, 4.8 as two accelerate processes "
                    "(BENCHMARKS.md). Unless told, each pair compares on its own prompt pairs, "
                    "methods and samples per pair: " + _per_pair(
                        lambda e: f"{','.join(e.comparison.methods)}, {e.comparison.samples_per_pair} per pair"))
    compare_parser.add_argument("--pairs", default=None, metavar="FILE",
                                help="prompt pairs (JSONL or CSV); default: the pair's own (the paper's examples; "
                                     "pocket: all 64 class pairs, each with its own seeds)")
    compare_parser.add_argument("-o", "--output", required=True, metavar="OUT", type=output_path,
                                help="output folder")
    compare_parser.add_argument("--overwrite", action="store_true", help="replace runs made with other settings")
    compare_parser.add_argument("--methods", default=None, help="comma-separated (default: the pair's comparison)")
    compare_parser.add_argument("--no-video", dest="video", action="store_false", help="skip video.mp4")
    compare_parser.add_argument("--rescore", action="store_true", help="score samples that already have scores")
    compare_parser.add_argument("--quiet", action="store_true", help="no progress bars")
    add_settings_options(compare_parser, n_help=" (default: the pair's: " + _per_pair(
        lambda e: str(e.comparison.samples_per_pair)) + ")")
    add_pair_options(compare_parser)
    add_audio_options(compare_parser)
    add_scorer_options(compare_parser.add_argument_group("scorer models"))
    compare_parser.set_defaults(handler=_run_compare)
