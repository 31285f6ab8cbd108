"""The pocket networks by kind, from the config stored next to their weights."""

from __future__ import annotations

from typing import Any

import torch.nn as nn

from spectrocanvas.pairs.pocket.classifier import ClassifierConfig, PocketClassifier
from spectrocanvas.pairs.pocket.unet import PocketUNet, UNetConfig

KINDS = ("image", "audio", "image-classifier", "audio-classifier")
"""The two denoisers and the two judges."""


def build_model(kind: str, config: dict[str, Any]) -> nn.Module:
    """A fresh model of ``kind`` ('image', 'audio', '…-classifier') from its config dict."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    if kind in ("image", "audio"):
        return PocketUNet(UNetConfig.from_dict(config))
    return PocketClassifier(ClassifierConfig.from_dict(config))
