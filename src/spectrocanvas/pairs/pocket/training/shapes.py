"""Procedural shapes as signed distance fields on the pocket canvas (pure torch).

A shape is drawn from its signed distance (negative inside, in pixels) on the 32 × 128 grid:
:func:`coverage` turns it into an anti-aliased fill mask and :func:`outline` into a stroke.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

from spectrocanvas.pairs.pocket.spec import HEIGHT, WIDTH
from spectrocanvas.pairs.pocket.vocab import IMAGE_CLASSES


def _u(g: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=g))


def polygon_sdf(p: torch.Tensor, vertices: torch.Tensor) -> torch.Tensor:
    """Signed distance from points p (..., 2) to a closed polygon vertices (V, 2); negative inside."""
    a = vertices
    b = torch.roll(vertices, -1, 0)
    edge = b - a                                                     # (V, 2)
    rel = p[..., None, :] - a                                        # (..., V, 2)
    h = ((rel * edge).sum(-1) / (edge * edge).sum(-1)).clamp(0, 1)   # (..., V)
    dist = (rel - h[..., None] * edge).norm(dim=-1).amin(-1)
    # even–odd rule for the sign: count edges crossed by a ray towards +x
    py = p[..., 1:2]
    crosses = ((a[:, 1] > py) != (b[:, 1] > py))
    x_at = a[:, 0] + (py - a[:, 1]) * edge[:, 0] / torch.where(edge[:, 1] == 0, torch.ones_like(edge[:, 1]), edge[:, 1])
    inside = (crosses & (p[..., 0:1] < x_at)).sum(-1) % 2 == 1
    return torch.where(inside, -dist, dist)


def _box(p: torch.Tensor, hx: float, hy: float) -> torch.Tensor:
    d = p.abs() - torch.tensor([hx, hy], dtype=p.dtype)
    return d.clamp(min=0).norm(dim=-1) + d.amax(-1).clamp(max=0)


def _regular(points: int, radii: list[float], turn: float = 0.0) -> torch.Tensor:
    """Vertices on circles of alternating ``radii`` (star when two radii), first one pointing up."""
    n = points * len(radii)
    angle = torch.arange(n, dtype=torch.float32) * (2 * math.pi / n) - math.pi / 2 + turn
    r = torch.tensor(radii * points, dtype=torch.float32)
    return torch.stack([r * torch.cos(angle), r * torch.sin(angle)], -1)


_TRIANGLE = torch.tensor([[0.0, -1.0], [0.95, 0.75], [-0.95, 0.75]])
_STAR = _regular(5, [1.0, 0.45])
_ARROW = torch.tensor([[-1.0, -0.3], [0.15, -0.3], [0.15, -0.8], [1.0, 0.0], [0.15, 0.8], [0.15, 0.3], [-1.0, 0.3]])
_HEART = torch.stack([torch.tensor([16 * math.sin(s) ** 3,
                                    -(13 * math.cos(s) - 5 * math.cos(2 * s) - 2 * math.cos(3 * s) - math.cos(4 * s))])
                      for s in torch.linspace(0, 2 * math.pi, 48)[:-1].tolist()]) / 16.5 + torch.tensor([0.0, 0.1])

SDFS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "circle": lambda p: p.norm(dim=-1) - 0.95,
    "square": lambda p: _box(p, 0.8, 0.8),
    "triangle": lambda p: polygon_sdf(p, _TRIANGLE),
    "cross": lambda p: torch.minimum(_box(p, 0.95, 0.28), _box(p, 0.28, 0.95)),
    "star": lambda p: polygon_sdf(p, _STAR),
    "heart": lambda p: polygon_sdf(p, _HEART),
    "moon": lambda p: torch.maximum(p.norm(dim=-1) - 0.95, 0.8 - (p - torch.tensor([0.45, -0.2])).norm(dim=-1)),
    "arrow": lambda p: polygon_sdf(p, _ARROW),
}
assert tuple(SDFS) == IMAGE_CLASSES


def shape_distance(label: int, g: torch.Generator, height: int = HEIGHT, width: int = WIDTH) -> torch.Tensor:
    """Signed distance in pixels (height, width) of a random instance of image class ``label``.

    Random size (half-height 8 … 15 px), horizontal stretch (1 … 1.6), small rotation (±12°),
    mirror (arrow, moon: left or right), and position fully on the canvas.
    """
    radius = _u(g, 8.0, min(15.0, height / 2 - 0.5))
    stretch = _u(g, 1.0, 1.6)
    angle = math.radians(_u(g, -12.0, 12.0))
    mirror = -1.0 if (IMAGE_CLASSES[label] in ("arrow", "moon") and float(torch.rand((), generator=g)) < 0.5) else 1.0
    half_w = radius * stretch
    cx = _u(g, half_w + 1, width - half_w - 1)
    cy = _u(g, radius + 0.5, height - radius - 0.5)
    ys, xs = torch.meshgrid(torch.arange(height, dtype=torch.float32) + 0.5,
                            torch.arange(width, dtype=torch.float32) + 0.5, indexing="ij")
    dx, dy = xs - cx, ys - cy
    c, s = math.cos(angle), math.sin(angle)
    local = torch.stack([(c * dx + s * dy) / half_w * mirror, (-s * dx + c * dy) / radius], -1)
    return SDFS[IMAGE_CLASSES[label]](local) * radius


def coverage(distance: torch.Tensor) -> torch.Tensor:
    """Anti-aliased inside mask in [0, 1] from a signed distance in pixels."""
    return (0.5 - distance).clamp(0.0, 1.0)


def outline(distance: torch.Tensor, stroke: float) -> torch.Tensor:
    """Anti-aliased stroke of width ``stroke`` pixels along the boundary, in [0, 1]."""
    return (stroke / 2 + 0.5 - distance.abs()).clamp(0.0, 1.0)
