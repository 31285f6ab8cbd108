"""The names a view can be chosen by (scales, rates, phase methods), apart from the maths so that
the web page can list them without loading torch."""

SCALES: tuple[str, ...] = ("mel", "linear", "log")
VIEW_RATES: tuple[int, ...] = (16000, 22050, 24000, 32000, 44100, 48000)
"""Rates a view (and its sound) can be made at."""
METHODS: tuple[str, ...] = ("griffinlim", "additive", "rows")
"""griffinlim: rows → spectrum (NNLS) → fast Griffin-Lim; additive: one sinusoid per row; rows: Griffin-Lim
whose magnitude step matches the view's rows, started from additive synthesis."""
