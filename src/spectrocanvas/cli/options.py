"""Command-line options made from the settings schema and the pair registry, shared by `generate`
and `compare`: every setting (flat names become ``--image-guidance`` …), the model pair, its
swappable models, vocoder and hardware, and the scorers' models."""

from __future__ import annotations

import argparse
from typing import Any

from spectrocanvas.canvas.levels import DEFAULT_PEAK_DB
from spectrocanvas.canvas.view_synthesis import METHODS
from spectrocanvas.canvas.views import SCALES, VIEW_RATES, make_view
from spectrocanvas.files.audio import AUDIO_FORMATS, OUTPUT_RATES, AudioOutput
from spectrocanvas.generate.resolve import settings_table
from spectrocanvas.generate.schema import Setting
from spectrocanvas.pairs.interface import ROLES, Derived, ModelSlot, Runtime
from spectrocanvas.pairs.registry import DEFAULT_PAIR, PAIRS


def _default_text(setting: Setting) -> str:
    """What each pair takes when the option is unset: " (sd15-auffusion: 10; pocket: 5)"."""
    values: dict[str, Any] = {}
    for entry in PAIRS.values():
        value = setting.option.default
        for group in entry.defaults:
            value = group.get(setting.name, value)
        if value not in (None, ""):
            values[entry.name] = value.describe if isinstance(value, Derived) else value
    if not values:
        return ""
    if len(set(map(str, values.values()))) == 1:
        return f" (default {next(iter(values.values()))})"
    return " (" + "; ".join(f"{name}: {value}" for name, value in values.items()) + ")"


def output_path(text: str) -> str:
    """The -o value: refused when empty (it would mean the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the output path is empty")
    return text


def add_settings_options(parser: argparse.ArgumentParser, *, n_help: str | None = None) -> None:
    """Every public setting of the schema, ``None`` when not given (each method and pair then decides)."""
    table = settings_table()
    sampling = parser.add_argument_group("sampling (unset: the pair's defaults for the method; denoise on "
                                         f"{DEFAULT_PAIR} uses the paper's)")
    models = {role: parser.add_argument_group(f"the {role} model") for role in ROLES}
    methods: dict[str, argparse._ArgumentGroup] = {}
    for name, setting in table.items():
        if not setting.option.public:
            continue
        if setting.method is not None:
            group = methods.setdefault(setting.method, parser.add_argument_group(f"--method {setting.method} only"))
        else:
            group = models[setting.role] if setting.role else sampling
        if setting.option.const is not None:
            group.add_argument(*setting.flags, dest=name, action="store_const", const=setting.option.const,
                               default=None, help=setting.help())
            continue
        help_text = setting.help() + (n_help if name == "n" and n_help else _default_text(setting))
        group.add_argument(*setting.flags, dest=name, type=setting.option.parse, default=None,
                           metavar=setting.option.metavar, help=help_text)


def settings_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The settings options as the schema names them (None where not given)."""
    return {name: getattr(args, name) for name, s in settings_table().items() if s.option.public}


def _slots(kind: str) -> dict[str, ModelSlot]:
    """Swappable model slots of every pair (``kind`` "models") or of their scorers ("scoring"), by option."""
    slots: dict[str, ModelSlot] = {}
    for entry in PAIRS.values():
        for slot in (entry.models if kind == "models" else entry.scoring.models):
            if slot.option:
                slots.setdefault(slot.option, slot)
    return slots


def _dest(option: str) -> str:
    return option.lstrip("-").replace("-", "_")


def add_pair_options(parser: argparse.ArgumentParser) -> None:
    """The model pair, its swappable models, the vocoder, device, dtype, batch size and offline mode."""
    group = parser.add_argument_group("model pair and hardware")
    group.add_argument("--preset", "--pair", dest="pair", choices=list(PAIRS), default=None, metavar="PAIR",
                       help="the model pair: " + "; ".join(f"{name}: {e.description}" for name, e in PAIRS.items())
                            + f" (default {DEFAULT_PAIR})")
    for option, slot in _slots("models").items():
        group.add_argument(option, default=None, metavar="ID|DIR",
                           help=f"the {slot.what}: a hub id or a local folder in its layout "
                                f"(default {slot.default_source})")
    vocoders = list(dict.fromkeys(v for e in PAIRS.values() for v in e.vocoders))
    group.add_argument("--vocoder", choices=vocoders, default=None,
                       help="how canvases become sound (default: the pair's own: "
                            + "; ".join(f"{n}: {e.vocoders[0]}" for n, e in PAIRS.items()) + ")")
    group.add_argument("--device", default=None, help="cuda, cuda:1, cpu, … (default: cuda if present)")
    group.add_argument("--dtype", default=None, help="bf16, fp16 or fp32 (default: bf16/fp16 on GPU, fp32 on CPU)")
    group.add_argument("--batch-size", type=int, default=None, metavar="B",
                       help="samples denoised at once (default up to 8; lower it to save memory)")
    group.add_argument("--offline", action="store_true", help="never use the network (also HF_HUB_OFFLINE=1)")


def add_scorer_options(group: argparse._ArgumentGroup) -> None:
    """Other sources for the scorers' models (``--clip-model`` …)."""
    for option, slot in _slots("scoring").items():
        group.add_argument(option, default=None, metavar="ID|DIR", help=f"default {slot.default_source}")


def scorer_models_from_args(args: argparse.Namespace) -> dict[str, str]:
    """role → source for the scorers' models the user named."""
    return {slot.role: getattr(args, _dest(option)) for option, slot in _slots("scoring").items()
            if getattr(args, _dest(option), None)}


def add_audio_options(parser: argparse.ArgumentParser, *, sample_rate: bool = True, imprint: bool = False) -> None:
    """How the sound file is written: its peak (or the canvas's own level), sample format and rate."""
    group = parser.add_argument_group("the sound file")
    peak_help = ("the ceiling of the peak, in dBFS: the sound keeps the recording's loudness (RMS) below it"
                 if imprint else "the peak audio.wav is brought to, in dBFS")
    group.add_argument("--peak-db", type=float, default=DEFAULT_PEAK_DB, metavar="DB",
                       help=f"{peak_help} (default {DEFAULT_PEAK_DB:g}; the gain is recorded in meta.json)")
    group.add_argument("--keep-level", action="store_true",
                       help="write the canvas's own absolute level instead (research: may pass full scale; "
                            "float WAV only)")
    group.add_argument("--audio-format", choices=list(AUDIO_FORMATS), default="float",
                       help="float: 32-bit float WAV (default; keeps the canvas's whole range); pcm24, pcm16 "
                            "(dithered): integer WAV; flac: 24-bit FLAC (audio.flac)")
    if sample_rate:
        group.add_argument("--sample-rate", dest="audio_rate", type=int, default=None, metavar="HZ",
                           help="the sound file's rate, resampled with soxr (" + ", ".join(map(str, OUTPUT_RATES))
                                + "; default: the pair's own)")


def audio_output_from_args(args: argparse.Namespace) -> AudioOutput:
    """The AudioOutput the sound-file options describe (checked: one line for a bad value)."""
    return AudioOutput(peak_db=None if args.keep_level else args.peak_db, format=args.audio_format,
                       sample_rate=getattr(args, "audio_rate", None))


def runtime_from_args(args: argparse.Namespace) -> Runtime:
    """The Runtime the pair and hardware options describe (checked against the pair where it is used)."""
    models = {slot.role: getattr(args, _dest(option)) for option, slot in _slots("models").items()
              if getattr(args, _dest(option), None)}
    return Runtime(pair=args.pair, models=models, device=args.device, dtype=args.dtype, batch_size=args.batch_size,
                   vocoder=args.vocoder, video=args.video, audio_output=audio_output_from_args(args),
                   offline=args.offline or None, progress=not args.quiet)


def add_view_options(parser: argparse.ArgumentParser, *, stereo: bool = True, phase: bool = True) -> None:
    """The viewer's frequency scale, range and rate (sonify, imprint, analyze); ``--sample-rate`` here
    is the rate the view and its sound are made at (the sound file is written at it)."""
    group = parser.add_argument_group("the view (the spectrogram viewer the picture is made for)")
    group.add_argument("--scale", choices=SCALES, default="mel",
                       help="mel: the models' canvas (256 mel bands 0–8 kHz at 16 kHz; default); linear: "
                            "Audacity's default spectrogram (256 rows, window 2048); log: Photosounder/ARSS, "
                            "--pixels-per-octave rows per octave (window ≈ 0.19 s)")
    group.add_argument("--sample-rate", dest="view_rate", type=int, default=None, metavar="HZ",
                       help="the rate the view and the sound are made at (" + ", ".join(map(str, VIEW_RATES))
                            + "; default 16000 for mel, 44100 for linear and log)")
    group.add_argument("--fmin", type=float, default=None, metavar="HZ",
                       help="lowest frequency shown (default: mel 0, linear 0, log 27.5)")
    group.add_argument("--fmax", type=float, default=None, metavar="HZ",
                       help="highest frequency shown (default: mel 8000, linear and log 20000 or Nyquist)")
    group.add_argument("--pixels-per-octave", type=float, default=None, metavar="N",
                       help="rows per octave of the log scale (default 24)")
    if phase:
        group.add_argument("--phase", choices=METHODS, default=None,
                           help="phase reconstruction: griffinlim, additive (one sinusoid per row), rows "
                                "(Griffin-Lim matched in the view's rows, from additive); default: mel griffinlim, "
                                "linear and log rows (measured: BENCHMARKS.md, Viewer scales)")
    if stereo:
        group.add_argument("--stereo", action="store_true",
                           help="stereo from colour: red is the left channel, green the right (Coagula)")


def view_from_args(args: argparse.Namespace):
    """The view the options name (a CanvasSpec for mel, a ViewSpec for linear/log), checked."""
    return make_view(scale=args.scale, sample_rate=args.view_rate, fmin=args.fmin, fmax=args.fmax,
                     pixels_per_octave=args.pixels_per_octave)


def view_named(args: argparse.Namespace) -> bool:
    """Whether the user named a view (then a PNG's carried view gives way)."""
    return args.scale != "mel" or any(getattr(args, name) is not None
                                      for name in ("view_rate", "fmin", "fmax", "pixels_per_octave"))
