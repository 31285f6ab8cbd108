"""Viewer views: the linear and logarithmic frequency scales of spectrogram viewers, pure torch.

A :class:`ViewSpec` says how a spectrogram viewer draws a sound: the STFT (periodic Hann window
of ``n_fft`` samples, hop ``hop_length``, reflect padding of (n_fft − hop) / 2 per side,
``center=False``: the canvas convention, so a clip of L samples gives L / hop columns), the rows
(``linear``: ``rows`` equal bands from fmin to fmax, as Audacity's default spectrogram;
``log``: ``pixels_per_octave`` rows per octave from fmin, as Photosounder and ARSS) and the
level (decibels over ``range_db`` with ``gain_db`` added, as Audacity's *Gain* and *Range*).

Row r covers [edge(r), edge(r + 1)) and its centre is the middle of that pixel (for log rows,
the geometric middle). Row magnitudes are the STFT magnitude interpolated at the row's centre
in the row coordinate: a triangle of height 1 with feet on the neighbouring rows' centres,
widened to at least one FFT bin each side where the rows are narrower than a bin, so every row
sees the spectrum (the same construction as mel's filterbank, without the area normalisation).

Picture value ``v = clamp((dB + gain_db + range_db) / range_db, 0, 1)`` with
``dB = 20·log10(row magnitude / reference)`` and ``reference = sum(window) / 2``: a sinusoid of
amplitude A centred on a row reads 20·log10(A) dB there. Rows are flipped so low frequencies are
at the bottom, as on screen.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import torch

from spectrocanvas.canvas.spec import CanvasSpec
from spectrocanvas.canvas.spec_base import SpecBase
from spectrocanvas.canvas.view_names import SCALES, VIEW_RATES
from spectrocanvas.errors import SpectrocanvasError

MAX_ROWS = 2048


@dataclass(frozen=True)
class ViewSpec(SpecBase):
    """A linear- or log-frequency spectrogram view (everything a viewer needs to show it)."""

    KIND = "view"

    scale: str = "linear"
    sample_rate: int = 44100
    n_fft: int = 2048
    hop_length: int = 442
    fmin: float = 0.0
    fmax: float = 20000.0
    rows: int = 256
    """Rows of a linear view (a log view's rows follow from ``pixels_per_octave``)."""
    pixels_per_octave: float = 24.0
    """Rows per octave of a log view."""
    range_db: float = 80.0
    gain_db: float = 0.0
    """Added to the decibels before the range: 0 puts picture white at a full-scale sinusoid per row."""

    def __post_init__(self) -> None:
        problems = []
        if self.scale not in ("linear", "log"):
            problems.append("scale must be linear or log (mel views are CanvasSpecs)")
        if self.sample_rate <= 0 or self.n_fft <= 0 or self.hop_length <= 0:
            problems.append("sample_rate, n_fft and hop_length must be positive")
        if (self.n_fft - self.hop_length) % 2:
            problems.append("n_fft - hop_length must be even")
        if not (math.isfinite(self.fmin) and math.isfinite(self.fmax) and 0 <= self.fmin < self.fmax
                <= self.sample_rate / 2):
            problems.append("need 0 <= fmin < fmax <= sample_rate / 2")
        if self.scale == "log" and not self.fmin > 0:
            problems.append("a log view needs fmin > 0")
        if not (math.isfinite(self.pixels_per_octave) and self.pixels_per_octave > 0):
            problems.append("pixels_per_octave must be positive")
        if not (math.isfinite(self.range_db) and self.range_db > 0 and math.isfinite(self.gain_db)):
            problems.append("range_db must be positive and gain_db finite")
        if not problems and not 8 <= self.height <= MAX_ROWS:
            problems.append(f"the view must have 8 … {MAX_ROWS} rows, not {self.height}")
        if problems:
            raise ValueError("invalid ViewSpec: " + "; ".join(problems))

    # ---- geometry --------------------------------------------------------------------------
    @property
    def height(self) -> int:
        """Picture rows."""
        if self.scale == "log":
            return max(1, round(math.log2(self.fmax / self.fmin) * self.pixels_per_octave))
        return self.rows

    @property
    def padding(self) -> int:
        return (self.n_fft - self.hop_length) // 2

    @property
    def reference(self) -> float:
        """STFT magnitude of a sinusoid of amplitude 1 on a bin: sum(window) / 2."""
        return self.n_fft / 4.0  # periodic Hann sums to n_fft / 2

    def edges(self) -> torch.Tensor:
        """Row edges in Hz, float64 (height + 1,): row r covers [edges[r], edges[r + 1])."""
        steps = torch.arange(self.height + 1, dtype=torch.float64)
        if self.scale == "log":
            return self.fmin * torch.pow(torch.tensor(2.0, dtype=torch.float64), steps / self.pixels_per_octave)
        return self.fmin + steps * (self.fmax - self.fmin) / self.height

    def centres(self) -> torch.Tensor:
        """Row centres in Hz, float64 (height,), low rows first (geometric middles for log)."""
        edges = self.edges()
        if self.scale == "log":
            return torch.sqrt(edges[:-1] * edges[1:])
        return 0.5 * (edges[:-1] + edges[1:])

    def row_of(self, frequency: float) -> float:
        """Fractional row (0 = lowest, counted from the bottom) whose centre is ``frequency``."""
        if self.scale == "log":
            return math.log2(frequency / self.fmin) * self.pixels_per_octave - 0.5
        return (frequency - self.fmin) / (self.fmax - self.fmin) * self.height - 0.5

    def stft_spec(self) -> CanvasSpec:
        """The STFT of this view in the canvas convention (full-length window), for analysis and Griffin-Lim."""
        return CanvasSpec(sample_rate=self.sample_rate, n_fft=self.n_fft, hop_length=self.hop_length,
                          win_length=self.n_fft, n_mels=self.height, f_min=0.0, f_max=self.sample_rate / 2)


    def viewer_settings(self, extra_gain_db: float = 0.0) -> dict[str, Any]:
        """The settings under which a viewer shows the picture; ``extra_gain_db``: the gain the sound
        file lost (−20·log10 of the gain applied when writing it), added to the viewer's gain."""
        gain = self.gain_db + extra_gain_db
        scale = "Linear" if self.scale == "linear" else "Logarithmic"
        text = (f"Audacity or Sonic Visualiser: Spectrogram, {scale} scale, Hann window {self.n_fft}, "
                f"range {self.fmin:g}–{self.fmax:g} Hz, gain {gain:.1f} dB, range {self.range_db:g} dB")
        if self.scale == "log":
            text += f" ({self.pixels_per_octave:g} pixels per octave, {self.height} rows: Photosounder/ARSS)"
        return {"scale": self.scale, "window": "hann", "window_size": self.n_fft, "hop": self.hop_length,
                "min_frequency": self.fmin, "max_frequency": self.fmax, "gain_db": gain,
                "range_db": self.range_db, "rows": self.height, "description": text}


def default_view(scale: str, sample_rate: int = 44100, **changes: Any) -> ViewSpec:
    """The default linear or log view at ``sample_rate``: hop ≈ 1/100 s (even); linear: window 2048
    (Audacity's default), 256 rows, 0 … min(20 kHz, Nyquist); log: window ≈ 0.19 s (8192 at 44.1 kHz,
    so rows above about 180 Hz are at least a bin wide), 24 rows per octave from 27.5 Hz (A0)."""
    hop = 2 * round(sample_rate / 200)
    nyquist = sample_rate / 2
    if scale == "log":
        n_fft = 2 ** round(math.log2(sample_rate * 0.186))
        base = dict(scale="log", n_fft=n_fft, fmin=27.5, fmax=min(20000.0, nyquist), pixels_per_octave=24.0)
    else:
        n_fft = 2 ** round(math.log2(sample_rate * 2048 / 44100))
        base = dict(scale="linear", n_fft=n_fft, fmin=0.0, fmax=min(20000.0, nyquist), rows=256)
    return ViewSpec(sample_rate=sample_rate, hop_length=hop, **{**base, **changes})


def check_view_options(*, scale: str, sample_rate: int | None, fmin: float | None, fmax: float | None,
                       pixels_per_octave: float | None) -> None:
    """Refuse bad viewer options in one line each (SpectrocanvasError)."""
    if scale not in SCALES:
        raise SpectrocanvasError(f"--scale must be one of {', '.join(SCALES)}, not '{scale}'")
    if sample_rate is not None and sample_rate not in VIEW_RATES:
        raise SpectrocanvasError("--sample-rate must be one of " + ", ".join(map(str, VIEW_RATES))
                                 + f" Hz, not {sample_rate}")
    rate = sample_rate or (16000 if scale == "mel" else 44100)
    for name, value in (("--fmin", fmin), ("--fmax", fmax), ("--pixels-per-octave", pixels_per_octave)):
        if value is not None and not math.isfinite(value):
            raise SpectrocanvasError(f"{name} must be a finite number, not {value}")
    if fmin is not None and fmin < 0:
        raise SpectrocanvasError(f"--fmin must not be negative, not {fmin:g}")
    if fmax is not None and fmax > rate / 2:
        raise SpectrocanvasError(f"--fmax {fmax:g} Hz is above the Nyquist frequency of {rate} Hz ({rate / 2:g} Hz)")
    if fmax is not None and fmax <= 0:
        raise SpectrocanvasError(f"--fmax must be positive, not {fmax:g}")
    if fmin is not None and fmax is not None and fmin >= fmax:
        raise SpectrocanvasError(f"--fmin ({fmin:g} Hz) must be below --fmax ({fmax:g} Hz)")
    if pixels_per_octave is not None:
        if scale != "log":
            raise SpectrocanvasError("--pixels-per-octave is for --scale log only")
        if pixels_per_octave <= 0:
            raise SpectrocanvasError(f"--pixels-per-octave must be positive, not {pixels_per_octave:g}")
    if scale == "log" and fmin is not None and fmin <= 0:
        raise SpectrocanvasError("--scale log needs --fmin above 0 Hz")


def filterbank(view: ViewSpec, device=None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Row weights of shape (height, n_fft // 2 + 1), low rows first; cached on every parameter."""
    return _filterbank_cpu(view).to(device=device, dtype=dtype)


@functools.lru_cache(maxsize=16)
def _filterbank_cpu(view: ViewSpec) -> torch.Tensor:
    bins = torch.linspace(0, view.sample_rate / 2, view.n_fft // 2 + 1, dtype=torch.float64)
    bin_width = view.sample_rate / view.n_fft
    centres = view.centres()
    # the row coordinate of every bin: row r's centre sits at r
    if view.scale == "log":
        coordinate = torch.log2(bins.clamp(min=1e-3) / view.fmin) * view.pixels_per_octave - 0.5
    else:
        coordinate = (bins - view.fmin) / (view.fmax - view.fmin) * view.height - 0.5
    rows = torch.arange(view.height, dtype=torch.float64)
    by_rows = (1.0 - (coordinate[None, :] - rows[:, None]).abs()).clamp(min=0.0)
    by_bins = (1.0 - (bins[None, :] - centres[:, None]).abs() / bin_width).clamp(min=0.0)
    return torch.maximum(by_rows, by_bins).to(torch.float32).contiguous()


@functools.lru_cache(maxsize=8)
def _pseudo_inverse_cpu(view: ViewSpec) -> torch.Tensor:
    return torch.linalg.pinv(filterbank(view).double()).float()


def rows_to_picture(rows: torch.Tensor, view: ViewSpec) -> torch.Tensor:
    """Row magnitudes (..., height, frames), low rows first → picture in [0, 1], low rows at the bottom."""
    floor = view.reference * 10.0 ** (-(view.gain_db + view.range_db) / 20.0)
    decibels = 20.0 * torch.log10(rows.clamp(min=floor * 1e-3) / view.reference)
    return ((decibels + view.gain_db + view.range_db) / view.range_db).clamp(0.0, 1.0).flip(-2)


def picture_to_rows(picture: torch.Tensor, view: ViewSpec) -> torch.Tensor:
    """Picture (..., height, frames) in [0, 1] → row magnitudes, low rows first (0 maps to the floor)."""
    decibels = picture.flip(-2) * view.range_db - view.range_db - view.gain_db
    return view.reference * torch.pow(10.0, decibels / 20.0)


def rows_to_linear(rows: torch.Tensor, view: ViewSpec, iterations: int = 10) -> torch.Tensor:
    """Non-negative STFT magnitude (..., n_fft // 2 + 1, frames) whose rows are ``rows`` (..., height,
    frames): clamped pseudo-inverse, then multiplicative NNLS updates (as the mel inversion)."""
    bank = filterbank(view, rows.device, rows.dtype)
    linear = torch.clamp(_pseudo_inverse_cpu(view).to(rows.device, rows.dtype) @ rows, min=0.0)
    linear = linear + 1e-9 * view.reference
    if iterations:
        target = bank.transpose(0, 1) @ rows
        for _ in range(iterations):
            linear = linear * target / (bank.transpose(0, 1) @ (bank @ linear) + 1e-12)
    return linear


def make_view(*, scale: str = "mel", sample_rate: int | None = None, fmin: float | None = None,
              fmax: float | None = None, pixels_per_octave: float | None = None,
              base_mel: CanvasSpec | None = None) -> CanvasSpec | ViewSpec:
    """The view the options name (checked, one line for a bad value).

    ``mel`` with no other option is ``base_mel`` (the Auffusion canvas) itself; with a rate or a
    range it is that canvas with the STFT scaled to the rate (hop ≈ 1/100 s, n_fft and window in
    proportion) and the range changed (fmax defaults to 8 kHz as before, at most Nyquist).
    """
    check_view_options(scale=scale, sample_rate=sample_rate, fmin=fmin, fmax=fmax,
                       pixels_per_octave=pixels_per_octave)
    if scale == "mel":
        base = base_mel if base_mel is not None else CanvasSpec()
        if sample_rate is None and fmin is None and fmax is None:
            return base
        rate = sample_rate or base.sample_rate
        changes: dict[str, Any] = {}
        if rate != base.sample_rate:
            n_fft = 2 ** round(math.log2(base.n_fft * rate / base.sample_rate))
            changes.update(sample_rate=rate, n_fft=n_fft, win_length=n_fft // 2, hop_length=2 * round(rate / 200))
        low = base.f_min if fmin is None else fmin
        high = min(base.f_max, rate / 2) if fmax is None else fmax
        if low >= high:
            raise SpectrocanvasError(f"--fmin ({low:g} Hz) must be below the top of the mel range ({high:g} Hz)")
        return base.with_(f_min=low, f_max=high, **changes)
    rate = sample_rate or 44100
    changes = {}
    if fmin is not None:
        changes["fmin"] = fmin
    if fmax is not None:
        changes["fmax"] = fmax
    if pixels_per_octave is not None:
        changes["pixels_per_octave"] = pixels_per_octave
    try:
        view = default_view(scale, rate, **changes)
    except ValueError as error:  # e.g. --fmin above the default fmax, or too many rows
        low = changes.get("fmin", "default")
        raise SpectrocanvasError(f"no {scale} view with --fmin {low} and --fmax {changes.get('fmax', 'default')} at "
                                 f"{rate} Hz ({str(error).removeprefix('invalid ViewSpec: ')})") from None
    return view


def describe_viewer(spec: CanvasSpec | ViewSpec, *, file_gain: float = 1.0) -> dict[str, Any]:
    """meta.json's ``viewer``: the settings under which the picture shows. ``file_gain``: the gain
    applied when the sound file was written (its level is then 20·log10(file_gain) dB off the view's)."""
    if isinstance(spec, ViewSpec):
        extra = -20.0 * math.log10(file_gain) if file_gain > 0 else 0.0
        return {**spec.viewer_settings(extra_gain_db=extra), "file_gain": file_gain}
    return {"scale": "mel", "window": "hann", "window_size": spec.win_length, "fft_size": spec.n_fft,
            "hop": spec.hop_length, "min_frequency": spec.f_min, "max_frequency": spec.f_max, "rows": spec.n_mels,
            "description": (f"spectrocanvas analyze (the mel canvas: {spec.n_mels} Slaney mel bands "
                            f"{spec.f_min:g}–{spec.f_max:g} Hz, Hann window {spec.win_length} in n_fft {spec.n_fft}, "
                            f"hop {spec.hop_length} at {spec.sample_rate} Hz, log magnitude over "
                            f"{spec.dynamic_range_db:.0f} dB); Sonic Visualiser's Mel scale comes close"),
            "file_gain": file_gain}
