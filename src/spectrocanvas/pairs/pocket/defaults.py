"""The pocket pair's sampling defaults, chosen by the sweep in BENCHMARKS.md (``python -m
spectrocanvas.measure.study --pair pocket --sweep``) on the shipped weights.

They fill the options a user leaves unset with ``--preset pocket`` (see :mod:`~.pair`). They
differ from the paper's real-model values: the image model's
guidance is the paper's 10 but the audio model's is 5, and the audio model's share is a quarter
(a pocket sound class fills the whole canvas with its pattern, while a shape is a small object
that the composition must keep: at equal shares the sound drowns the shape), 50 DDIM steps, no
warm start (both models denoise from the first step), no crop (the pocket canvas has no silent
tail), and Griffin-Lim (the pocket pair has no neural vocoder).
"""

from __future__ import annotations

IMAGE_GUIDANCE = 10.0
"""Classifier-free guidance scale of the pocket image denoiser."""

AUDIO_GUIDANCE = 5.0
"""Classifier-free guidance scale of the pocket audio denoiser."""

AUDIO_WEIGHT = 0.25
"""The audio model's share of the composed noise estimate (the image model has the rest)."""

STEPS = 50
"""DDIM steps."""

IMAGE_START = 0
"""The step at which the image model joins: no warm start (5 steps of one was within the noise of
128 samples on two sets of seeds: +6 and −2 points; BENCHMARKS.md)."""

AUDIO_START = 0
"""The step at which the audio model joins (the reverse warm start: the image model alone first)."""

THREADS = 1
"""CPU threads for sampling and Griffin-Lim (unless OMP_NUM_THREADS is set). The pocket UNets' layers are so small
that a second thread mostly waits: on the 2-core machine, 4 samples took 2.5 s with one thread,
4.1 s with two passive threads (the CLI's OMP_WAIT_POLICY) and 1.7 s with two that spin before
sleeping — 10 to 26 s once other work held the cores; one thread kept 2.5 s (BENCHMARKS.md)."""

VOCODER = "griffinlim"
"""The pocket pair has no HiFi-GAN; its canvases are heard through Griffin-Lim."""

RECORDING_PEAK = 0.5
"""A recording is normalised to this peak before it becomes a pocket canvas: the middle of the
training sounds' peak levels (drawn from 0.1 … 0.9, ``training/sounds.synthesise``)."""
