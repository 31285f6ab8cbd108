"""Tiny random pocket weights in the shipped format (what pocket.export writes), for tests."""

from pathlib import Path

import torch

from spectrocanvas.pocket.classifier import ClassifierConfig, PocketClassifier
from spectrocanvas.pocket.load import save_module, weights_file
from spectrocanvas.pocket.unet import PocketUNet, UNetConfig

TINY_UNET = UNetConfig(channels=(8, 16, 16), attention_heads=2)
TINY_JUDGE = ClassifierConfig(channels=(8, 8, 16))
TINY_SOUND_JUDGE = ClassifierConfig(channels=(8, 8, 16), pool="time")


def write_tiny_pocket(folder: Path, *, judges: bool = True) -> Path:
    """Write the two denoisers (and the two judges) with random weights away from their
    initialisation, so every output depends on every weight; returns ``folder``."""
    torch.manual_seed(0)
    nets = [("image", PocketUNet(TINY_UNET), TINY_UNET), ("audio", PocketUNet(TINY_UNET), TINY_UNET)]
    if judges:
        nets += [("image-classifier", PocketClassifier(TINY_JUDGE), TINY_JUDGE),
                 ("audio-classifier", PocketClassifier(TINY_SOUND_JUDGE), TINY_SOUND_JUDGE)]
    for kind, net, config in nets:
        for p in net.parameters():
            torch.nn.init.normal_(p, std=0.05)
        save_module(net, kind, config.to_dict(), weights_file(kind, folder))
    return folder
