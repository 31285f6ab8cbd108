"""A small class-conditional UNet for pixel-space diffusion on the pocket canvas.

The (B, 1, 32, 128) canvas is pixel-unshuffled 2 × 2 into (B, 4, 16, 64), run through a UNet
with one halving per extra level and self-attention at the coarsest level, and shuffled back.
Timestep and class (with one extra null class for classifier-free guidance) are embedded,
summed, and applied to every residual block as a scale and shift after its first norm.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass(frozen=True)
class UNetConfig:
    """Architecture of :class:`PocketUNet` (stored next to its weights)."""

    num_classes: int = 8
    """Real classes; index ``num_classes`` is the null class."""
    channels: tuple[int, ...] = (64, 96, 128)
    blocks_per_level: int = 1
    unshuffle: int = 2
    in_channels: int = 1
    attention_heads: int = 4
    groups: int = 8
    dropout: float = 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "channels": list(self.channels)}

    @classmethod
    def from_dict(cls, data: dict) -> "UNetConfig":
        return cls(**{**data, "channels": tuple(data["channels"])})


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of timesteps (B,) → (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    angles = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)


class ResBlock(nn.Module):
    """GroupNorm → scale/shift from the embedding → SiLU → conv, twice, with a residual path."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, groups: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, 2 * c_out)
        self.norm2 = nn.GroupNorm(groups, c_out)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb(emb)[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(self.dropout(F.silu(h)))
        return self.skip(x) + h


class Attention(nn.Module):
    """Multi-head self-attention over the pixels of a (B, C, H, W) map, residual."""

    def __init__(self, channels: int, heads: int, groups: int) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.out = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.heads = heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, h * w).unbind(1)
        y = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2), v.transpose(-1, -2))
        return x + self.out(y.transpose(-1, -2).reshape(b, c, h, w))


class PocketUNet(nn.Module):
    """ε-prediction UNet: forward(x (B, 1, 32, 128), t (B,), labels (B,)) → ε (B, 1, 32, 128)."""

    def __init__(self, config: UNetConfig = UNetConfig()) -> None:
        super().__init__()
        self.config = config
        ch, g, drop = config.channels, config.groups, config.dropout
        c0 = ch[0]
        emb_dim = 4 * c0
        self.time_mlp = nn.Sequential(nn.Linear(c0, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.class_emb = nn.Embedding(config.num_classes + 1, emb_dim)
        pixels = config.in_channels * config.unshuffle ** 2
        self.conv_in = nn.Conv2d(pixels, c0, 3, padding=1)

        self.down = nn.ModuleList()
        skips = [c0]
        c = c0
        for level, c_out in enumerate(ch):
            for _ in range(config.blocks_per_level):
                self.down.append(ResBlock(c, c_out, emb_dim, g, drop))
                c = c_out
                skips.append(c)
            if level < len(ch) - 1:
                self.down.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
                skips.append(c)
        self.mid1 = ResBlock(c, c, emb_dim, g, drop)
        self.mid_attn = Attention(c, config.attention_heads, g)
        self.mid2 = ResBlock(c, c, emb_dim, g, drop)

        self.up = nn.ModuleList()
        for level, c_out in reversed(list(enumerate(ch))):
            for _ in range(config.blocks_per_level + 1):
                self.up.append(ResBlock(c + skips.pop(), c_out, emb_dim, g, drop))
                c = c_out
            if level > 0:
                self.up.append(nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                             nn.Conv2d(c, c, 3, padding=1)))
        self.norm_out = nn.GroupNorm(g, c)
        self.conv_out = nn.Conv2d(c, pixels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        r = self.config.unshuffle
        stride = r * 2 ** (len(self.config.channels) - 1)
        if x.shape[-2] % stride or x.shape[-1] % stride:
            raise ValueError(f"canvas {tuple(x.shape[-2:])} is not divisible by the UNet's strides")
        t = t.reshape(-1).expand(x.shape[0]) if t.numel() == 1 else t.reshape(-1)
        emb = self.time_mlp(timestep_embedding(t, self.config.channels[0])) + self.class_emb(labels.reshape(-1))
        h = self.conv_in(F.pixel_unshuffle(x, r))
        hs = [h]
        for layer in self.down:
            h = layer(h, emb) if isinstance(layer, ResBlock) else layer(h)
            hs.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, emb)), emb)
        for layer in self.up:
            if isinstance(layer, ResBlock):
                h = layer(torch.cat([h, hs.pop()], dim=1), emb)
            else:
                h = layer(h)
        return F.pixel_shuffle(self.conv_out(F.silu(self.norm_out(h))), r)
