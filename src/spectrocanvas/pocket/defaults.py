"""The pocket pair's sampling defaults: what its author found to work on the 32 × 128 canvas.

Light on purpose (no torch): the CLI reads these to fill options the user left unset when
``--preset pocket`` is given. They differ from the paper's real-model values: CFG 3 instead of
10 (small class-conditional models saturate under strong guidance), 50 DDIM steps, no warm
start (both models denoise from the first step), no crop (the pocket canvas has no silent
tail), and Griffin-Lim (the pocket pair has no neural vocoder).
"""

from __future__ import annotations

GUIDANCE = 3.0
"""Classifier-free guidance scale of both pocket denoisers."""

STEPS = 50
"""DDIM steps."""

IMAGE_START = 0
"""The step at which the image model joins: the pocket pair needs no warm start."""

VOCODER = "griffinlim"
"""The pocket pair has no HiFi-GAN; its canvases are heard through Griffin-Lim."""

SETTINGS_DEFAULTS: tuple[dict[str, object], ...] = (
    {"steps": STEPS}, {"image_guidance": GUIDANCE}, {"audio_guidance": GUIDANCE},
    {"image_start": IMAGE_START}, {"crop_columns": 0},
)
"""Default groups for :func:`spectrocanvas.methods.method_settings` (each applies when the user set none of it)."""
