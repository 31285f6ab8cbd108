"""Assets the demo draws and synthesises itself, so it runs offline with nothing downloaded."""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont


def draw_demo_picture(width: int = 1024, height: int = 256) -> Image.Image:
    """A night scene with a moon, hills and the word 'spectrocanvas' (RGB)."""
    image = Image.new("RGB", (width, height), (0, 0, 0))
    draw = ImageDraw.Draw(image)
    for row in range(height):  # sky glow brighter towards the horizon
        level = int(40 * row / height)
        draw.line([(0, row), (width, row)], fill=(level, level, level + 10))
    draw.ellipse([width * 0.78, 24, width * 0.78 + 84, 108], fill=(235, 235, 220))
    hills = [(0, height)] + [(x, height - 60 - 35 * math.sin(x / 90.0) - 20 * math.sin(x / 37.0))
                             for x in range(0, width + 1, 8)] + [(width, height)]
    draw.polygon(hills, fill=(120, 120, 120))
    for star in range(40):
        x, y = (star * 397) % width, (star * 113) % (height // 2)
        draw.point([(x, y), (x + 1, y), (x, y + 1)], fill=(255, 255, 255))
    try:
        font = ImageFont.load_default(size=72)
    except TypeError:  # Pillow without FreeType: the small bitmap font still draws
        font = ImageFont.load_default()
    draw.text((40, 40), "spectrocanvas", fill=(255, 255, 255), font=font)
    return image


def synthesise_demo_sound(seconds: float = 10.24, sample_rate: int = 16000, seed: int = 0) -> torch.Tensor:
    """Bells over a soft drone and rain: a sound with energy across the spectrum. (samples,)"""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    drone = sum(0.08 / k * np.sin(2 * np.pi * 110.0 * k * t) for k in range(1, 12))
    rain = 0.02 * rng.standard_normal(t.size)
    bells = np.zeros_like(t)
    for onset, base in [(0.3, 440.0), (2.8, 660.0), (5.1, 550.0), (7.6, 880.0)]:
        tail = np.clip(t - onset, 0, None)
        envelope = np.where(t >= onset, np.exp(-tail * 1.2), 0.0)
        for ratio, level in [(1.0, 0.3), (2.76, 0.15), (5.4, 0.1), (8.93, 0.05)]:
            bells += level * envelope * np.sin(2 * np.pi * base * ratio * tail)
    return torch.from_numpy((drone + rain + bells).astype(np.float32))
