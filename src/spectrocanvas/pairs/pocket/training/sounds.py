"""Procedural sounds, one synthesiser per sound class (pure torch, seeded by a generator).

Every function maps a ``torch.Generator`` to a waveform of :data:`spec.SAMPLES` samples at
16 kHz in [-1, 1]. Pitches, timing and levels are random; several classes are textures that
fill the time–frequency plane (rain, noise, drone, chord, chirps), so a shape can be carved
into them.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

from spectrocanvas.pairs.pocket.spec import POCKET, SAMPLES
from spectrocanvas.pairs.pocket.vocab import SOUND_CLASSES

SR = POCKET.sample_rate
NYQUIST = SR / 2


def _u(g: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=g))


def _i(g: torch.Generator, lo: int, hi: int) -> int:
    """Integer in [lo, hi] inclusive."""
    return int(torch.randint(lo, hi + 1, (), generator=g))


def _time() -> torch.Tensor:
    return torch.arange(SAMPLES, dtype=torch.float64) / SR


def _tone(freq: torch.Tensor, harmonics: list[float], phase0: float = 0.0) -> torch.Tensor:
    """Harmonic tone following an instantaneous frequency curve freq (SAMPLES,) in Hz."""
    phase = 2 * math.pi * torch.cumsum(freq, 0) / SR + phase0
    out = torch.zeros_like(freq)
    for k, amp in enumerate(harmonics, start=1):
        alive = (freq * k < NYQUIST - 200).to(freq.dtype)
        out = out + amp * alive * torch.sin(k * phase)
    return out


def _envelope(t: torch.Tensor, start: float, stop: float, ramp: float) -> torch.Tensor:
    """Gate from start to stop seconds with linear ramps of ``ramp`` seconds."""
    rise = ((t - start) / ramp).clamp(0, 1)
    fall = ((stop - t) / ramp).clamp(0, 1)
    return rise * fall


def siren(g: torch.Generator) -> torch.Tensor:
    t = _time()
    centre, depth, rate = _u(g, 600, 1800), _u(g, 200, 500), _u(g, 0.75, 2.5)
    freq = centre + depth * torch.sin(2 * math.pi * rate * t + _u(g, 0, 2 * math.pi))
    return _tone(freq, [1.0, 0.5, 0.25])


def chirps(g: torch.Generator) -> torch.Tensor:
    t = _time()
    out = torch.zeros_like(t)
    count, up = _i(g, 3, 6), bool(torch.rand((), generator=g) < 0.75)
    length = _u(g, 0.2, 0.45)
    for k in range(count):
        start = (k + _u(g, 0.0, 0.4)) * 2.0 / count - 0.1
        lo, hi = _u(g, 150, 500), _u(g, 2500, 6500)
        x = ((t - start) / length).clamp(0, 1)
        curve = x if up else 1 - x
        freq = lo * (hi / lo) ** curve
        gate = _envelope(t, start, start + length, 0.01)
        out = out + gate * _tone(freq, [1.0, 0.3])
    return out


def beeps(g: torch.Generator) -> torch.Tensor:
    t = _time()
    freq = _u(g, 600, 3500)
    period, length = _u(g, 0.18, 0.4), _u(g, 0.05, 0.12)
    offset = _u(g, 0.0, period)
    position = torch.remainder(t - offset, period)
    gate = _envelope(position, 0.0, length, 0.005)
    return gate * torch.sin(2 * math.pi * freq * t)


def chord(g: torch.Generator) -> torch.Tensor:
    t = _time()
    root = _u(g, 130, 400)
    minor = bool(torch.rand((), generator=g) < 0.5)
    ratios = [1.0, 2 ** ((3 if minor else 4) / 12), 2 ** (7 / 12), 2.0][: _i(g, 3, 4)]
    start, stop = _u(g, 0.0, 0.3), _u(g, 1.7, 2.1)
    gate = _envelope(t, start, stop, 0.05)
    harmonics = [1.0 / k for k in range(1, 7)]
    return gate * sum(_tone(torch.full_like(t, root * r), harmonics, _u(g, 0, 6.3)) for r in ratios)


def noise(g: torch.Generator) -> torch.Tensor:
    t = _time()
    white = torch.randn(SAMPLES, generator=g, dtype=torch.float64)
    gate = torch.zeros_like(t)
    for _ in range(_i(g, 3, 6)):
        start = _u(g, -0.05, 1.9)
        gate = torch.maximum(gate, _envelope(t, start, start + _u(g, 0.08, 0.3), 0.005))
    return gate * white


def bell(g: torch.Generator) -> torch.Tensor:
    t = _time()
    base = _u(g, 250, 900)
    partials = [(0.5, 0.6), (1.0, 1.0), (1.19, 0.7), (1.5, 0.5), (2.0, 0.8), (2.51, 0.4), (2.66, 0.35),
                (3.01, 0.3), (4.1, 0.25), (5.4, 0.15)]
    out = torch.zeros_like(t)
    strikes, gap = _i(g, 2, 4), _u(g, 0.4, 0.6)
    for k in range(strikes):
        start = _u(g, 0.0, 0.25) + k * gap
        after = (t - start).clamp(min=0)
        for ratio, amp in partials:
            if base * ratio >= NYQUIST - 200:
                continue
            decay = _u(g, 0.15, 0.4) / ratio ** 0.5
            out = out + (t >= start) * amp * torch.exp(-after / decay) * torch.sin(2 * math.pi * base * ratio * after)
    return out


def rain(g: torch.Generator) -> torch.Tensor:
    drops = _i(g, 250, 600)
    impulses = torch.zeros(SAMPLES, dtype=torch.float64)
    where = torch.randint(0, SAMPLES, (drops,), generator=g)
    impulses.index_add_(0, where, torch.rand(drops, generator=g, dtype=torch.float64) * 2 - 1)
    # each drop rings briefly: a decaying burst of noise ~3 ms long
    ring = torch.exp(-torch.arange(96, dtype=torch.float64) / 24) * torch.randn(96, generator=g, dtype=torch.float64)
    drops_sound = torch.nn.functional.conv1d(impulses[None, None], ring.flip(0)[None, None], padding=95)[0, 0, :SAMPLES]
    bed = torch.randn(SAMPLES, generator=g, dtype=torch.float64) * _u(g, 0.02, 0.08)
    return drops_sound + bed


def drone(g: torch.Generator) -> torch.Tensor:
    t = _time()
    f0 = _u(g, 55, 130)
    freq = f0 * (1 + 0.01 * torch.sin(2 * math.pi * _u(g, 0.1, 0.5) * t))
    bright = _u(g, 0.6, 1.0)
    harmonics = [bright ** (k - 1) / k ** 0.7 for k in range(1, 40)]
    swell = 0.75 + 0.25 * torch.sin(2 * math.pi * _u(g, 0.3, 1.0) * t + _u(g, 0, 6.3))
    return swell * _tone(freq, harmonics)


SYNTHS: dict[str, Callable[[torch.Generator], torch.Tensor]] = {
    "siren": siren, "chirps": chirps, "beeps": beeps, "chord": chord,
    "noise": noise, "bell": bell, "rain": rain, "drone": drone,
}
assert tuple(SYNTHS) == SOUND_CLASSES


def synthesise(label: int, g: torch.Generator) -> torch.Tensor:
    """One waveform (SAMPLES,) float32 of sound class ``label``: peak level random in
    [0.1, 0.9], plus a faint noise floor (−80 … −60 dB) as recordings have."""
    wave = SYNTHS[SOUND_CLASSES[label]](g)
    wave = wave / wave.abs().max().clamp(min=1e-9) * _u(g, 0.1, 0.9)
    floor = 10 ** (_u(g, -80, -60) / 20)
    wave = wave + floor * torch.randn(SAMPLES, generator=g, dtype=torch.float64)
    return wave.clamp(-1, 1).float()
