"""The options of ``sonify``, ``imprint`` and ``analyze`` as one table (a row per option): the web
form's widgets and the library call's keyword arguments are both made from it, and a test checks it
against the command line's parser, so an option the CLI gains and the page lacks fails the tests.

The view's rows (scale, rate, range, pixels per octave) become one view (``spec``) in the page's
work, as ``--scale``, ``--sample-rate``, ``--fmin``, ``--fmax`` and ``--pixels-per-octave`` do on the
command line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from spectrocanvas.canvas.view_names import METHODS, SCALES, VIEW_RATES
from spectrocanvas.errors import SpectrocanvasError

Kind = Literal["number", "integer", "choice", "flag"]
TOOLS: tuple[str, ...] = ("sonify", "imprint", "analyze")
SOUND_KEYS = ("peak_db", "keep_level", "audio_format")
"""Rows that describe the sound file: they become one ``AudioOutput``, not keyword arguments."""
VIEW_KEYS = ("scale", "view_rate", "fmin", "fmax", "pixels_per_octave")
"""Rows that describe the view: they become one view (the tools' ``spec``), not keyword arguments."""


@dataclass(frozen=True)
class ToolOption:
    """One option: ``name`` is the library's keyword (and the CLI parser's dest)."""

    name: str
    label: str
    kind: Kind
    default: Any
    tools: tuple[str, ...]
    info: str = ""
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    optional: bool = False
    """A blank value means "unset" (the library's default), e.g. ``seconds`` left empty."""

    def parse(self, value: Any) -> Any:
        """A form value checked and converted; a bad one is one line naming the option."""
        if value is None or value == "":
            if self.optional:
                return None
            return self.default
        if self.kind == "flag":
            return bool(value)
        if self.kind == "choice":
            if all(isinstance(c, int) for c in self.choices) and isinstance(value, (str, float)):
                try:
                    value = int(float(value))
                except ValueError:
                    pass
            if value not in self.choices:
                raise SpectrocanvasError(f"{self.label}: choose one of {', '.join(map(str, self.choices))}, "
                                         f"not {value!r}")
            return value
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise SpectrocanvasError(f"{self.label}: {value!r} is not a number") from None
        if number != number or (self.minimum is not None and number < self.minimum) or \
                (self.maximum is not None and number > self.maximum):
            raise SpectrocanvasError(f"{self.label} must be between {self.minimum:g} and {self.maximum:g}, "
                                     f"not {value}")
        if self.kind == "integer":
            if number != int(number):
                raise SpectrocanvasError(f"{self.label} must be a whole number, not {value}")
            return int(number)
        return number


TOOL_OPTIONS: tuple[ToolOption, ...] = (
    ToolOption("seconds", "Length (s)", "number", None, ("sonify", "imprint", "analyze"), optional=True,
               minimum=0.01, maximum=600.0,
               info="sonify: 10.24 s when blank; imprint and analyze: the whole recording when blank"),
    ToolOption("fit", "Fit", "choice", "stretch", ("sonify", "imprint"), choices=("stretch", "crop", "pad"),
               info="how the picture fills the canvas: stretch, crop (cover), pad (silence around)"),
    ToolOption("iterations", "Griffin-Lim iterations", "integer", 32, ("sonify", "imprint"), minimum=0,
               maximum=200, step=1, info="more: a cleaner picture in the sound, slower (the page allows up to 200)"),
    ToolOption("seed", "Seed", "integer", 0, ("sonify", "imprint"), minimum=0, maximum=2**31 - 1, step=1,
               info="seed of the initial phase"),
    ToolOption("strength", "Strength", "number", 0.5, ("imprint",), minimum=0.0, maximum=1.0, step=0.05,
               info="how deep the picture cuts into the sound"),
    ToolOption("invert", "Dark parts carve", "flag", True, ("imprint",),
               info="off: carve with the bright parts instead"),
    ToolOption("video", "Video", "flag", True, ("sonify", "imprint"),
               info="video.mp4: the spectrogram with a moving playhead and the sound"),
    ToolOption("peak_db", "Peak (dBFS)", "number", -1.0, ("sonify", "imprint"), minimum=-60.0, maximum=0.0,
               step=0.5, info="the level the sound file peaks at (imprint: at most; it keeps the recording's loudness)"),
    ToolOption("keep_level", "Keep the canvas's own level", "flag", False, ("sonify", "imprint"),
               info="research: the absolute level, may pass full scale (float WAV only)"),
    ToolOption("audio_format", "Sound file", "choice", "float", ("sonify", "imprint"),
               choices=("float", "pcm24", "pcm16", "flac"),
               info="float: 32-bit float WAV (keeps the canvas's whole range); pcm24, pcm16; flac: 24-bit FLAC"),
    ToolOption("scale", "Frequency scale", "choice", "mel", ("sonify", "imprint", "analyze"), choices=SCALES,
               info="mel: the models' canvas; linear: Audacity's default spectrogram; log: Photosounder (octaves)"),
    ToolOption("view_rate", "Sample rate (Hz)", "choice", None, ("sonify", "imprint", "analyze"), choices=VIEW_RATES,
               optional=True, info="the rate the view and the sound are made at (blank: 16000 mel, 44100 linear/log)"),
    ToolOption("fmin", "Lowest frequency (Hz)", "number", None, ("sonify", "imprint", "analyze"), optional=True,
               minimum=0.0, maximum=96000.0, info="blank: mel 0, linear 0, log 27.5"),
    ToolOption("fmax", "Highest frequency (Hz)", "number", None, ("sonify", "imprint", "analyze"), optional=True,
               minimum=1.0, maximum=96000.0, info="blank: mel 8000, linear and log 20000 (at most half the rate)"),
    ToolOption("pixels_per_octave", "Rows per octave (log)", "number", None, ("sonify", "imprint", "analyze"),
               optional=True, minimum=1.0, maximum=1000.0, info="log scale only; blank: 24"),
    ToolOption("phase", "Phase reconstruction", "choice", None, ("sonify", "imprint"), choices=METHODS,
               optional=True, info="blank: per scale (mel griffinlim; linear and log rows)"),
    ToolOption("stereo", "Stereo from colour", "flag", False, ("sonify", "imprint", "analyze"),
               info="red is the left channel, green the right (Coagula)"),
)


def options_for(tool: str) -> tuple[ToolOption, ...]:
    """The rows of one tool, in table order."""
    if tool not in TOOLS:
        raise SpectrocanvasError(f"unknown tool '{tool}'; the page has {', '.join(TOOLS)}")
    return tuple(row for row in TOOL_OPTIONS if tool in row.tools)


def tool_arguments(tool: str, values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Form values (by option name) → (keyword arguments of the tool, the sound file's settings).

    Unknown names are refused (a crafted request may send anything); missing ones take the default.
    """
    rows = {row.name: row for row in options_for(tool)}
    strange = sorted(set(values) - set(rows))
    if strange:
        raise SpectrocanvasError(f"{tool} has no option {', '.join(strange)}")
    parsed = {name: row.parse(values.get(name)) for name, row in rows.items()}
    sound = {name: parsed.pop(name) for name in SOUND_KEYS if name in parsed}
    return parsed, sound
