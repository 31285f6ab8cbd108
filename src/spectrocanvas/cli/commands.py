"""The `spectrocanvas` command: thin argument parsing over the library functions."""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import NoReturn
from contextlib import contextmanager

from spectrocanvas.cli.measure import (
    add_generate_measure_options,
    add_measure_parsers,
    finish_generate,
    sample_hook,
    scorer_request,
)
from spectrocanvas.cli.ui import UI_DESCRIPTION, UI_HELP, add_ui_arguments, run_ui
from spectrocanvas.cli.options import (
    add_audio_options,
    add_pair_options,
    add_settings_options,
    add_view_options,
    audio_output_from_args,
    output_path,
    runtime_from_args,
    settings_from_args,
    view_from_args,
    view_named,
)
from spectrocanvas.errors import SpectrocanvasError, shown_path
from spectrocanvas.files.pictures import FIT_MODES
from spectrocanvas.generate.resolve import resolve_settings
from spectrocanvas.generate.runs import generate, generate_pairs
from spectrocanvas.pairs.interface import ROLES
from spectrocanvas.support.processes import current_processes
from spectrocanvas.tools.analyze import analyze
from spectrocanvas.tools.demo import run_demo
from spectrocanvas.tools.imprint import imprint
from spectrocanvas.tools.sonify import sonify
from spectrocanvas.version import __version__

EXAMPLES = """examples:
  spectrocanvas sonify photo.jpg -o photo-sound          picture → sound whose spectrogram shows it
  spectrocanvas imprint --image logo.png --audio song.flac -o carved
  spectrocanvas analyze recording.wav -o recording.png   any sound → its canvas picture
  spectrocanvas demo                                     everything above, offline, on drawn assets
  spectrocanvas ui --outputs runs                        the same on a web page (127.0.0.1:7860)
  spectrocanvas generate --image-prompt "a castle with bell towers, grayscale" \
      --audio-prompt "bell ringing" -n 8 -o castle      SD 1.5 + Auffusion denoise one canvas together
  spectrocanvas generate --preset pocket --image-prompt triangle --audio-prompt bell -n 4 -o pocket
                                                         the same with the project's small pocket pair
"""


GENERATE_EXAMPLES = """examples:
  spectrocanvas generate --image-prompt "a castle with bell towers, grayscale" --audio-prompt "bell ringing" \\
      -n 8 --keep-top 0.25 -o castle           the paper's method; keep the best quarter
  spectrocanvas generate --preset pocket --image-prompt star --audio-prompt drone --seconds 16 -o long
                                               16 s: the models' 2 s window, overlapping, blended
  spectrocanvas generate --preset pocket --image-prompt circle --audio-prompt rain --loop -o loop
                                               a loop: its end runs on into its start
  spectrocanvas generate --preset pocket --image-prompt triangle --init-audio mine.wav --strength 0.8 -o mine
                                               start from your recording (its length; its class unsaid)
  spectrocanvas generate --preset pocket --audio-prompt bell --init-image logo.png --strength 0.6 -o logo
                                               start from a picture
  spectrocanvas generate --preset pocket --pairs pairs.jsonl -o many
                                               one folder per row; rows may set any option by its name
  accelerate launch --multi_gpu --num_processes 8 -m spectrocanvas generate --pairs pairs.jsonl -n 100 -o many
                                               the same across 8 GPUs, file for file (README: Many samples)

Models are hub ids or local folders in the same layout. The method succeeds on a fraction of
samples: make several (-n) and keep the best (--keep-top).
"""


def _add_output_options(parser: argparse.ArgumentParser, *, video: bool = True) -> None:
    parser.add_argument("-o", "--output", required=True, metavar="OUT", type=output_path,
                        help="output folder (refused if it exists, unless --overwrite)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    if video:
        parser.add_argument("--no-video", dest="video", action="store_false",
                            help="skip video.mp4 (the spectrogram with a playhead and the sound)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_canvas_options(parser: argparse.ArgumentParser, *, seconds_help: str) -> None:
    parser.add_argument("--seconds", type=float, default=None, metavar="S", help=seconds_help)
    parser.add_argument("--fit", choices=FIT_MODES, default="stretch",
                        help="how the picture fills the 256-row canvas: stretch (ignore aspect), "
                             "crop (cover, cut the middle), pad (fit inside, silence around); default stretch")
    parser.add_argument("--iterations", type=int, default=None, metavar="N",
                        help="Griffin-Lim iterations (more: cleaner picture in the sound, slower)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial phase (default 0)")


def _sound_file(args: argparse.Namespace) -> str:
    return "audio.flac" if args.audio_format == "flac" else "audio.wav"


def _run_sonify(args: argparse.Namespace) -> int:
    folder = sonify(image=args.image, output=args.output, seconds=args.seconds, fit=args.fit,
                    iterations=args.iterations, video=args.video, overwrite=args.overwrite, seed=args.seed,
                    audio_output=audio_output_from_args(args), progress=not args.quiet, spec=view_from_args(args),
                    stereo=args.stereo, phase=args.phase, view_named=view_named(args))
    print(f"wrote {folder}/ (canvas.png, {_sound_file(args)}, spectrogram.png{', video.mp4' if args.video else ''}, "
          "meta.json)")
    return 0


def _run_imprint(args: argparse.Namespace) -> int:
    folder = imprint(image=args.image, audio=args.audio, output=args.output, strength=args.strength,
                     invert=args.invert, seconds=args.seconds, fit=args.fit, iterations=args.iterations,
                     video=args.video, overwrite=args.overwrite, seed=args.seed, audio_output=audio_output_from_args(args),
                     progress=not args.quiet, spec=view_from_args(args), phase=args.phase, stereo=args.stereo)
    print(f"wrote {folder}/ (original.png, canvas.png, {_sound_file(args)}, spectrogram.png"
          f"{', video.mp4' if args.video else ''}, meta.json)")
    return 0


def _run_analyze(args: argparse.Namespace) -> int:
    written = analyze(audio=args.audio, output=args.output, overwrite=args.overwrite, spec=view_from_args(args),
                      stereo=args.stereo, seconds=args.seconds)
    print(f"wrote {written}")
    return 0


def _run_demo(args: argparse.Namespace) -> int:
    made = run_demo(output=args.output, overwrite=args.overwrite, progress=not args.quiet)
    print(f"demo written to {made['folder']}/")
    if "composed" in made:
        print(f"images that sound (composed by the {made['composed'].name} model pair): {made['composed']}/")
    for name in ("sonify", "imprint", "analyze", "assets"):
        print(f"  {name:8s} {made[name]}")
    return 0


def _run_generate(args: argparse.Namespace) -> int:
    runtime = runtime_from_args(args)
    options = settings_from_args(args)
    prompts = [f"--{role}-prompt" for role in ROLES if options[f"{role}_prompt"] is not None]
    if args.pairs and prompts:
        raise SpectrocanvasError(f"give either --pairs or {' and '.join(prompts)}, not both")
    started_from = {"audio": options["init_audio"], "image": options["init_image"]}
    needed = [f"--{role}-prompt" for role in ROLES if options[f"{role}_prompt"] is None and not started_from[role]]
    if not args.pairs and needed:
        raise SpectrocanvasError("give " + " and ".join(needed) + " (or --pairs FILE)")
    settings = None if args.pairs else resolve_settings(options, pair=runtime.pair, method=args.method)
    on_sample = sample_hook(args, runtime)  # --score / --keep-top
    if settings is None:
        folders = generate_pairs(pairs_file=args.pairs, output=args.output, runtime=runtime, method=args.method,
                                 options=options, overwrite=args.overwrite, on_sample=on_sample,
                                 scorer=scorer_request(args))
    else:
        folders = generate(settings=settings, output=args.output, runtime=runtime, overwrite=args.overwrite,
                           on_sample=on_sample, scorer=scorer_request(args))
    print(f"{len(folders)} sample(s) in {args.output}/")
    finish_generate(args, runtime, folders)
    return 0


def _add_generate_parser(commands) -> None:
    generate_parser = commands.add_parser(
        "generate", help="text prompts → an image that sounds (SD 1.5 + Auffusion, or the pocket pair)",
        description="The paper's method: two diffusion models that share one latent space (Stable Diffusion "
                    "1.5 for images, Auffusion for spectrograms; or the pocket pair) denoise one latent "
                    "together, averaging their guided noise estimates; by default Auffusion alone for the "
                    "first steps (warm start). Writes OUT/sample_000/, … each with image.png, canvas.png, "
                    "audio.wav, spectrogram.png, video.mp4 and meta.json. Run the same command again to "
                    "finish an interrupted run.",
        epilog=GENERATE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    generate_parser.add_argument("--pairs", metavar="FILE",
                                 help="JSONL or CSV of prompt pairs (image_prompt, audio_prompt, and any setting "
                                      "below under its name: seed, n, steps, audio_weight, …); one sub-folder per pair")
    _add_output_options(generate_parser)
    add_audio_options(generate_parser)
    add_settings_options(generate_parser)
    add_pair_options(generate_parser)
    add_generate_measure_options(generate_parser)
    generate_parser.set_defaults(handler=_run_generate)


class _Parser(argparse.ArgumentParser):
    """argparse, with a mistyped option told in one line like every other error (not after 25 lines of
    usage); the command's --help is named for the rest. Its sub-commands' parsers are of this class too."""

    def parse_known_args(self, args: Sequence[str] | None = None,
                         namespace: argparse.Namespace | None = None) -> tuple[argparse.Namespace, list[str]]:
        namespace, extras = super().parse_known_args(args, namespace)
        for action in self._actions:  # "--seconds=--": argparse drops the "--" and passes on an empty list
            if action.nargs is None and action.type is not None and getattr(namespace, action.dest, None) == []:
                self.error(f"argument {'/'.join(action.option_strings)}: expected one value")
        return namespace, extras

    def error(self, message: str) -> NoReturn:
        if message.endswith("expected one argument"):  # "--seconds -3" reads -3 as an option
            message += " (a value that starts with '-' is written --option=VALUE)"
        self.exit(2, f"spectrocanvas: error: {message}; see {self.prog} --help\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="spectrocanvas",
        description="Images that sound: spectrograms that are at once a picture and a sound.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"spectrocanvas {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    sonify = commands.add_parser(
        "sonify", help="turn a picture into a sound whose spectrogram shows it",
        description="Turn any picture into a sound whose spectrogram shows it (like Photosounder or "
                    "Coagula). The picture becomes a 256-row canvas (low frequencies at the bottom, "
                    "100 columns per second); Griffin-Lim finds a sound with that spectrogram. "
                    "A PNG written by spectrocanvas is used as it is, with the settings it carries.",
        epilog="writes OUT/canvas.png (target), OUT/audio.wav (32-bit float: keeps the whole picture), "
               "OUT/spectrogram.png (what the sound shows), OUT/video.mp4, OUT/meta.json")
    sonify.add_argument("image", help="picture file (PNG, JPEG, WebP, TIFF, …; any mode)")
    _add_output_options(sonify)
    add_audio_options(sonify, sample_rate=False)
    _add_canvas_options(sonify, seconds_help="length of the sound (default 10.24 s: the paper's 256 × 1024 canvas)")
    add_view_options(sonify)
    sonify.set_defaults(handler=_run_sonify)

    imprint = commands.add_parser(
        "imprint", help="carve a picture into an existing sound",
        description="Carve a picture into a sound's spectrogram: in the canvas, "
                    "spec × (1 − strength × (1 − picture)), so dark parts of the picture remove sound "
                    "(the paper's 'imprint' baseline). Any audio file soundfile reads, any rate or "
                    "channels (resampled to 16 kHz mono).")
    imprint.add_argument("--image", required=True, help="picture file")
    imprint.add_argument("--audio", required=True, help="audio file (WAV, FLAC, OGG, MP3, …)")
    _add_output_options(imprint)
    add_audio_options(imprint, sample_rate=False, imprint=True)
    _add_canvas_options(imprint, seconds_help="canvas length; the sound is cut or padded to it "
                                              "(default: the whole sound)")
    add_view_options(imprint)
    imprint.add_argument("--strength", type=float, default=0.5, help="0 … 1, how deep the picture cuts (0.5)")
    imprint.add_argument("--no-invert", dest="invert", action="store_false",
                         help="carve with the bright parts instead of the dark parts")
    imprint.set_defaults(handler=_run_imprint)

    analyze = commands.add_parser(
        "analyze", help="any audio file → its canvas PNG",
        description="Write the canvas of a sound as a 16-bit PNG that carries its settings "
                    "(sonify turns it back into sound).")
    analyze.add_argument("audio", help="audio file")
    analyze.add_argument("-o", "--output", required=True, metavar="FILE.png", type=output_path, help="PNG to write")
    analyze.add_argument("--overwrite", action="store_true", help="replace FILE.png if it exists")
    analyze.add_argument("--seconds", type=float, default=None, metavar="S", help="only the first S seconds")
    add_view_options(analyze, phase=False)
    analyze.set_defaults(handler=_run_analyze)

    demo = commands.add_parser(
        "demo", help="run everything that works offline on drawn assets",
        description="Draw a picture and synthesise a sound, then sonify, imprint and analyze them. "
                    "Needs no downloads; about half a minute on two cores.")
    demo.add_argument("-o", "--output", default="demo-output", metavar="OUT", type=output_path,
                      help="folder (default demo-output)")
    demo.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(handler=_run_demo)

    _add_generate_parser(commands)
    add_measure_parsers(commands)
    ui = commands.add_parser("ui", help=UI_HELP, description=UI_DESCRIPTION)
    add_ui_arguments(ui)
    ui.set_defaults(handler=run_ui)
    return parser


def _fail(message: str, code: int, where: str) -> int:
    print(f"spectrocanvas{where}: error: {message}", file=sys.stderr)
    return code


class Terminated(BaseException):
    """SIGTERM arrived: unwound like Ctrl-C, so staging folders are removed on the way out."""


def _on_terminate(signum: int, frame: object) -> None:
    raise Terminated()


@contextmanager
def _terminate_cleanly() -> Iterator[None]:
    """Turn SIGTERM (what `kill`, timeouts and schedulers send) into :class:`Terminated` while a command
    runs in the main thread; the previous handler comes back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _on_terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    with _terminate_cleanly():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    where = ""  # under accelerate launch: which process failed
    try:
        processes = current_processes()
        if processes.count > 1:
            where = f" (process {processes.index + 1} of {processes.count})"
            if not processes.is_main:  # the main process alone reports what was made
                sys.stdout = open(os.devnull, "w")
        return args.handler(args)
    except SpectrocanvasError as error:
        return _fail(str(error), error.exit_code, where)
    except KeyboardInterrupt:
        return _fail("interrupted; finished outputs are kept, unfinished ones were removed", 130, where)
    except Terminated:
        return _fail("terminated; finished outputs are kept, unfinished ones were removed", 128 + signal.SIGTERM,
                     where)
    except MemoryError:
        return _fail("out of memory; try a shorter canvas or a smaller batch", 3, where)
    except OSError as error:
        if error.errno == errno.ENOSPC:
            written = f"'{shown_path(error.filename)}'" if error.filename else "the output"
            return _fail(f"no space left on the device while writing {written}; nothing half-written was kept",
                         3, where)
        detail = f": {shown_path(error.filename)}" if error.filename else ""
        return _fail(f"{error.strerror or error}{detail}", 3, where)


if __name__ == "__main__":
    sys.exit(main())
