"""HiFi-GAN (V1-style generator) as Auffusion ships it, and the vocoder that plays canvases with it.

Pure model code: the generator is built from the standard HiFi-GAN config dict, and a checkpoint saved
with the old ``torch.nn.utils.weight_norm`` (``X.weight_g`` / ``X.weight_v``) is folded into plain
weights by :func:`fold_weight_norm` before loading. Finding the files is :mod:`spectrocanvas.pairs.sd_models`'s job.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from spectrocanvas.canvas.analysis import canvas_to_log_mel
from spectrocanvas.canvas.spec import AUFFUSION, CanvasSpec
from spectrocanvas.errors import SpectrocanvasError


class VocoderConfigError(SpectrocanvasError):
    """A HiFi-GAN config or checkpoint that cannot drive this canvas."""


AUFFUSION_HIFIGAN_CONFIG: dict[str, Any] = {
    "resblock": "1",
    "upsample_rates": [5, 4, 4, 2],
    "upsample_kernel_sizes": [11, 8, 8, 4],
    "upsample_initial_channel": 512,
    "resblock_kernel_sizes": [3, 7, 11],
    "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
    "num_mels": 256,
    "sampling_rate": 16000,
}
"""Best-known shape of ``auffusion/auffusion-full-no-adapter/vocoder/config.json``, for benchmarks.

How sure: certain of num_mels 256, sampling_rate 16000 and prod(upsample_rates) = 160 (the canvas
hop); HiFi-GAN V1 blocks (resblock "1", kernels [3, 7, 11], dilations [1, 3, 5]) as Auffusion's
code builds them. Rates [5, 4, 4, 2], kernels [11, 8, 8, 4] and 512 initial channels are what the
project's design notes report; their size agrees with the hub file: 13.67 M parameters, 54.7 MB in
float32 against the 54.8 MB of ``vocoder.pt`` (the 1024-channel AudioLDM layout guessed before
would be 56.6 M, 227 MB). Not read from the file itself (no network here); real runs read it.
"""

REQUIRED_KEYS = ("upsample_rates", "upsample_kernel_sizes", "upsample_initial_channel", "resblock",
                 "resblock_kernel_sizes", "resblock_dilation_sizes", "num_mels")


def _same_padding(kernel_size: int, dilation: int = 1) -> int:
    return (kernel_size * dilation - dilation) // 2


def upsample_padding(kernel_size: int, rate: int) -> tuple[int, int]:
    """(padding, output_padding) that make a ConvTranspose1d turn L frames into exactly L · rate.

    Length out = (L − 1)·u − 2p + k + op. Even k − u: p = (k − u)/2, op = 0. Odd k − u:
    p = (k − u)//2 + 1, op = 1.
    """
    if kernel_size < rate:
        raise VocoderConfigError(f"HiFi-GAN upsample kernel {kernel_size} is smaller than its rate {rate}")
    if (kernel_size - rate) % 2 == 0:
        return (kernel_size - rate) // 2, 0
    return (kernel_size - rate) // 2 + 1, 1


class ResBlock1(nn.Module):
    """Per dilation d: x += conv2(lrelu(conv1_d(lrelu(x)))); conv2 has dilation 1. (B, C, T) → (B, C, T)."""

    def __init__(self, channels: int, kernel_size: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel_size, dilation=d, padding=_same_padding(kernel_size, d))
            for d in dilations)
        self.convs2 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel_size, padding=_same_padding(kernel_size))
            for _ in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv1, conv2 in zip(self.convs1, self.convs2):
            x = x + conv2(F.leaky_relu(conv1(F.leaky_relu(x, 0.1)), 0.1))
        return x


class ResBlock2(nn.Module):
    """Per dilation d: x += conv_d(lrelu(x)). (B, C, T) → (B, C, T)."""

    def __init__(self, channels: int, kernel_size: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel_size, dilation=d, padding=_same_padding(kernel_size, d))
            for d in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = x + conv(F.leaky_relu(x, 0.1))
        return x


class HiFiGANGenerator(nn.Module):
    """Log-mel (B, num_mels, frames) → waveform (B, 1, frames · prod(upsample_rates)) in [-1, 1]."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__()
        check_config(config)
        self.config = dict(config)
        rates = list(config["upsample_rates"])
        kernels = list(config["upsample_kernel_sizes"])
        channels = int(config["upsample_initial_channel"])
        block = ResBlock1 if str(config["resblock"]) == "1" else ResBlock2
        self.num_kernels = len(config["resblock_kernel_sizes"])

        self.conv_pre = nn.Conv1d(int(config["num_mels"]), channels, 7, padding=3)
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        for i, (rate, kernel) in enumerate(zip(rates, kernels)):
            padding, output_padding = upsample_padding(kernel, rate)
            c_in, c_out = channels // 2 ** i, channels // 2 ** (i + 1)
            self.ups.append(nn.ConvTranspose1d(c_in, c_out, kernel, rate, padding=padding,
                                               output_padding=output_padding))
            for k, dilations in zip(config["resblock_kernel_sizes"], config["resblock_dilation_sizes"]):
                self.resblocks.append(block(c_out, int(k), tuple(int(d) for d in dilations)))
        self.conv_post = nn.Conv1d(channels // 2 ** len(rates), 1, 7, padding=3)

    @property
    def hop_length(self) -> int:
        return math.prod(int(r) for r in self.config["upsample_rates"])

    def forward(self, log_mel: torch.Tensor) -> torch.Tensor:
        x = self.conv_pre(log_mel)
        for i, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, 0.1))
            blocks = self.resblocks[i * self.num_kernels:(i + 1) * self.num_kernels]
            x = sum(block(x) for block in blocks) / self.num_kernels
        # HiFi-GAN V1 uses leaky ReLU's default slope (0.01) before conv_post, not 0.1.
        return torch.tanh(self.conv_post(F.leaky_relu(x)))


def check_config(config: Mapping[str, Any]) -> None:
    """Raise :class:`VocoderConfigError` (one line) when the config cannot build a generator."""
    missing = [key for key in REQUIRED_KEYS if key not in config]
    if missing:
        raise VocoderConfigError(f"HiFi-GAN config lacks {', '.join(missing)}")
    if len(config["upsample_rates"]) != len(config["upsample_kernel_sizes"]):
        raise VocoderConfigError("HiFi-GAN config has different numbers of upsample rates and kernel sizes")
    if len(config["resblock_kernel_sizes"]) != len(config["resblock_dilation_sizes"]):
        raise VocoderConfigError("HiFi-GAN config has different numbers of resblock kernel and dilation sizes")
    if str(config["resblock"]) not in ("1", "2"):
        raise VocoderConfigError(f"HiFi-GAN resblock must be \"1\" or \"2\", not {config['resblock']!r}")
    if int(config["upsample_initial_channel"]) % 2 ** len(config["upsample_rates"]):
        raise VocoderConfigError("HiFi-GAN upsample_initial_channel is not divisible by 2 per upsampling layer")


def fold_weight_norm(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Replace every ``X.weight_g`` / ``X.weight_v`` pair by ``X.weight = g · v / ‖v‖``.

    The old ``torch.nn.utils.weight_norm`` defaults to dim 0 for every layer (Conv1d and
    ConvTranspose1d alike): g has shape (size(0), 1, …, 1) and the norm runs over all other dims.
    The newer parametrization naming (``X.parametrizations.weight.original0`` / ``original1``) is
    folded the same way. Other entries pass through unchanged.
    """
    folded: dict[str, torch.Tensor] = {}
    pairs = (("weight_g", "weight_v"), ("parametrizations.weight.original0", "parametrizations.weight.original1"))
    consumed: set[str] = set()
    for key in state_dict:
        for g_name, v_name in pairs:
            if key.endswith("." + g_name) or key == g_name:
                prefix = key[: -len(g_name)]
                v_key = prefix + v_name
                if v_key not in state_dict:
                    raise VocoderConfigError(f"HiFi-GAN checkpoint has {key} without {v_key}")
                g, v = state_dict[key].float(), state_dict[v_key].float()
                dims = tuple(range(1, v.dim()))
                weight = g * v / v.norm(p=2, dim=dims, keepdim=True)
                folded[prefix + "weight"] = weight.to(state_dict[v_key].dtype)
                consumed.update((key, v_key))
    for key, value in state_dict.items():
        if key not in consumed:
            folded.setdefault(key, value)
    return folded


def build_generator(config: Mapping[str, Any], state_dict: Mapping[str, torch.Tensor]) -> HiFiGANGenerator:
    """Generator from a config and a (possibly weight-normed) state dict, in eval mode, frozen."""
    generator = HiFiGANGenerator(config)
    weights = fold_weight_norm(state_dict)
    result = generator.load_state_dict(weights, strict=False)
    if result.missing_keys or result.unexpected_keys:
        def listed(keys: list[str]) -> str:
            return ", ".join(keys[:3]) + (" …" if len(keys) > 3 else "")

        parts = []
        if result.missing_keys:
            parts.append(f"missing {listed(result.missing_keys)}")
        if result.unexpected_keys:
            parts.append(f"unexpected {listed(result.unexpected_keys)}")
        raise VocoderConfigError(f"HiFi-GAN weights do not match its config.json ({'; '.join(parts)})")
    return generator.eval().requires_grad_(False)


class HiFiGANVocoder:
    """The Vocoder protocol over a HiFi-GAN: canvas → natural-log mel → generator → waveform.

    canvas (..., n_mels, frames) in [0, 1] → waveform (..., frames · hop) float32 at ``spec.sample_rate``.
    Gradients flow to the canvas when it requires them (the weights are frozen).
    """

    def __init__(self, generator: HiFiGANGenerator, spec: CanvasSpec = AUFFUSION,
                 source: dict[str, Any] | None = None) -> None:
        config = generator.config
        if int(config["num_mels"]) != spec.n_mels:
            raise VocoderConfigError(f"the HiFi-GAN vocoder takes {config['num_mels']} mel bands but the canvas "
                                     f"has {spec.n_mels}")
        if generator.hop_length != spec.hop_length:
            raise VocoderConfigError(f"the HiFi-GAN vocoder's upsampling rates multiply to {generator.hop_length}, "
                                     f"not the canvas hop of {spec.hop_length}")
        rate = config.get("sampling_rate")
        if rate is not None and int(rate) != spec.sample_rate:
            raise VocoderConfigError(f"the HiFi-GAN vocoder runs at {rate} Hz but the canvas at {spec.sample_rate} Hz")
        self.generator = generator
        self.spec = spec
        self.source = dict(source or {})

    @property
    def device(self) -> torch.device:
        return self.generator.conv_pre.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.generator.conv_pre.weight.dtype

    def __call__(self, canvas: torch.Tensor) -> torch.Tensor:
        if canvas.shape[-2] != self.spec.n_mels:
            raise ValueError(f"canvas has {canvas.shape[-2]} rows, the vocoder expects {self.spec.n_mels}")
        batch_shape, frames = canvas.shape[:-2], canvas.shape[-1]
        log_mel = canvas_to_log_mel(canvas.reshape(-1, self.spec.n_mels, frames).float(), self.spec)
        waveform = self.generator(log_mel.to(self.device, self.dtype))
        return waveform.float().reshape(*batch_shape, frames * self.spec.hop_length)

    def describe(self) -> dict[str, Any]:
        config = self.generator.config
        return {
            "name": "hifigan",
            **self.source,
            "dtype": str(self.dtype).removeprefix("torch."),
            "sampling_rate": config.get("sampling_rate"),
            "num_mels": config["num_mels"],
            "upsample_rates": list(config["upsample_rates"]),
            "upsample_kernel_sizes": list(config["upsample_kernel_sizes"]),
            "upsample_initial_channel": config["upsample_initial_channel"],
            "resblock": str(config["resblock"]),
            "parameters": sum(p.numel() for p in self.generator.parameters()),
        }
