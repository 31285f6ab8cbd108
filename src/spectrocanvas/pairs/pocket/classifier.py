"""Small CNN judges: which image class a canvas shows, which sound class it sounds like.

Input (B, 1, 32, 128) canvases in [0, 1]; output logits (B, classes). The image judge pools
over all positions (a shape may be anywhere); the sound judge pools over time only and keeps
the frequency rows (a drone is low, beeps are high).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn


@dataclass(frozen=True)
class ClassifierConfig:
    num_classes: int = 8
    channels: tuple[int, ...] = (32, 64, 96, 128)
    pool: str = "global"
    """'global' (mean and max over rows and columns) or 'time' (over columns; rows kept)."""
    groups: int = 8

    def to_dict(self) -> dict:
        return {**asdict(self), "channels": list(self.channels)}

    @classmethod
    def from_dict(cls, data: dict) -> "ClassifierConfig":
        return cls(**{**data, "channels": tuple(data["channels"])})


class PocketClassifier(nn.Module):
    """Conv blocks (3 × 3, GroupNorm, SiLU), halving after each but the first; pooled; linear."""

    def __init__(self, config: ClassifierConfig = ClassifierConfig(), height: int = 32) -> None:
        super().__init__()
        if config.pool not in ("global", "time"):
            raise ValueError(f"pool must be 'global' or 'time', not {config.pool!r}")
        self.config = config
        layers: list[nn.Module] = []
        c = 1
        for i, c_out in enumerate(config.channels):
            layers += [nn.Conv2d(c, c_out, 3, padding=1, stride=1 if i == 0 else 2),
                       nn.GroupNorm(config.groups, c_out), nn.SiLU(),
                       nn.Conv2d(c_out, c_out, 3, padding=1), nn.GroupNorm(config.groups, c_out), nn.SiLU()]
            c = c_out
        self.features = nn.Sequential(*layers)
        rows = height // 2 ** (len(config.channels) - 1)
        width = 2 * c * (rows if config.pool == "time" else 1)
        self.head = nn.Sequential(nn.Dropout(0.1), nn.Linear(width, config.num_classes))

    def forward(self, canvas: torch.Tensor) -> torch.Tensor:
        h = self.features(canvas * 2.0 - 1.0)
        dims = (-1,) if self.config.pool == "time" else (-2, -1)
        pooled = torch.cat([h.mean(dim=dims), h.amax(dim=dims)], dim=1)
        return self.head(pooled.flatten(1))
