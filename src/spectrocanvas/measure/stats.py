"""Statistics of scores: mean with a t confidence interval, rates with a Wilson interval, and the
paper's top-fraction re-ranking.

Pure Python (no scipy): the Student t quantile comes from the exact closed-form t CDF for
integer degrees of freedom (Abramowitz & Stegun 26.7.3–4), inverted by bisection, and from the
Cornish–Fisher expansion (A&S 26.7.5) beyond 1000 degrees of freedom.

The official evaluation reported ``1.96 · σ / √n`` with the population σ (ddof 0); here the
half width is ``t(1 − α/2, n − 1) · s / √n`` with the sample s (ddof 1), the textbook interval,
a little wider for small n (about 4 % at n = 30, 0.5 % at n = 400).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from statistics import NormalDist
from typing import Any

from spectrocanvas.errors import SpectrocanvasError

_EXACT_DF_LIMIT = 1000


def t_cdf(t: float, df: int) -> float:
    """P(T ≤ t) for Student's t with integer ``df`` ≥ 1 (exact finite sums)."""
    if df < 1 or int(df) != df:
        raise ValueError("df must be a positive integer")
    df = int(df)
    theta = math.atan(abs(t) / math.sqrt(df))
    sin, cos = math.sin(theta), math.cos(theta)
    cos2 = cos * cos
    if df % 2 == 0:  # A = sinθ · Σ (1·3…(2k−1))/(2·4…2k) cos^2k θ, k < df/2
        term, total = 1.0, 1.0
        for k in range(1, df // 2):
            term *= cos2 * (2 * k - 1) / (2 * k)
            total += term
        both_sides = sin * total
    else:  # A = (2/π)(θ + sinθ cosθ · Σ (2·4…2k)/(3·5…(2k+1)) cos^2k θ), k ≤ (df−3)/2
        total = 0.0
        if df > 1:
            term, total = 1.0, 1.0
            for k in range(1, (df - 1) // 2):
                term *= cos2 * (2 * k) / (2 * k + 1)
                total += term
        both_sides = 2 / math.pi * (theta + sin * cos * total)
    upper = 0.5 + 0.5 * both_sides
    return upper if t >= 0 else 1.0 - upper


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t with integer ``df`` ≥ 1 (``scipy.stats.t.ppf``)."""
    if not 0 < p < 1:
        raise ValueError("p must be strictly between 0 and 1")
    if df < 1 or int(df) != df:
        raise ValueError("df must be a positive integer")
    if p < 0.5:
        return -t_quantile(1 - p, df)
    if p == 0.5:
        return 0.0
    if df == 1:
        return math.tan(math.pi * (p - 0.5))
    if df > _EXACT_DF_LIMIT:
        return _cornish_fisher(p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        low, high = high, high * 2
    for _ in range(200):
        middle = 0.5 * (low + high)
        if middle in (low, high):
            break
        low, high = (middle, high) if t_cdf(middle, df) < p else (low, middle)
    return 0.5 * (low + high)


def _cornish_fisher(p: float, df: int) -> float:
    x = NormalDist().inv_cdf(p)
    g1 = (x**3 + x) / 4
    g2 = (5 * x**5 + 16 * x**3 + 3 * x) / 96
    g3 = (3 * x**7 + 19 * x**5 + 17 * x**3 - 15 * x) / 384
    g4 = (79 * x**9 + 776 * x**7 + 1482 * x**5 - 1920 * x**3 - 945 * x) / 92160
    return x + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


def mean_ci(values: Iterable[float], confidence: float = 0.95) -> tuple[float, float, int]:
    """(mean, half width of the two-sided t interval, count); half width is NaN for one value."""
    data = [float(v) for v in values]
    if not data:
        raise SpectrocanvasError("no values to summarise")
    if any(math.isnan(v) for v in data):
        raise SpectrocanvasError("cannot summarise scores that contain NaN")
    if not 0 < confidence < 1:
        raise SpectrocanvasError(f"confidence must be between 0 and 1, got {confidence}")
    n = len(data)
    mean = math.fsum(data) / n
    if n == 1:
        return mean, math.nan, 1
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in data) / (n - 1))
    return mean, t_quantile(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n), n


def top_count(n: int, fraction: float) -> int:
    """How many samples a top list of ``fraction`` of ``n`` holds: ⌊F·n⌋, as the official
    ``int(n · F)``, but immune to binary fractions (0.29 · 100 gives 29, not 28)."""
    return math.floor(n * fraction + 1e-9)


def keep_top_indices(records: Sequence[Mapping[str, Any]], fraction: float, keys: Sequence[str]) -> list[int]:
    """Indices (ascending) of the samples in the top ``fraction`` of every score in ``keys``.

    The official re-ranking: for each score, sort descending and take the first ⌊F·N⌋ samples;
    keep the samples that are in every one of these lists. Ties go to the earlier sample.
    """
    if not 0 < fraction <= 1:
        raise SpectrocanvasError(f"--keep-top takes a fraction in (0, 1], got {fraction}")
    if not keys:
        raise SpectrocanvasError("keep_top needs at least one score to rank by")
    k = top_count(len(records), fraction)
    kept: set[int] | None = None
    for key in keys:
        scores = []
        for index, record in enumerate(records):
            value = record.get(key)
            if value is None or math.isnan(float(value)):
                raise SpectrocanvasError(f"sample {index} has no {key}; score every sample before --keep-top")
            scores.append(float(value))
        top = set(sorted(range(len(scores)), key=lambda i: -scores[i])[:k])
        kept = top if kept is None else kept & top
    return sorted(kept or ())


def keep_top(records: Sequence[Mapping[str, Any]], fraction: float, keys: Sequence[str]) -> list[Mapping[str, Any]]:
    """The records in the top ``fraction`` of every score (see :func:`keep_top_indices`), in order."""
    return [records[i] for i in keep_top_indices(records, fraction, keys)]


def wilson_interval(successes: int, trials: int, z: float = 1.959964) -> tuple[float, float]:
    """95 % Wilson score interval (low, high) for ``successes`` out of ``trials`` (z = 1.96)."""
    if trials == 0:
        return (0.0, 1.0)
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return (max(0.0, centre - half), min(1.0, centre + half))
