"""Tiny random pocket weights in the shipped format (what the pocket export writes), and drawing
pocket canvases in memory, for tests."""

from pathlib import Path

import torch

from spectrocanvas.generate.drawing import draw_canvases
from spectrocanvas.generate.resolve import resolve_settings
from spectrocanvas.generate.runs import load_pair
from spectrocanvas.pairs.interface import Runtime
from spectrocanvas.pairs.pocket.classifier import ClassifierConfig, PocketClassifier
from spectrocanvas.pairs.pocket.unet import PocketUNet, UNetConfig
from spectrocanvas.pairs.pocket.weights import save_module, weights_file

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


def pocket_canvases(image: str, audio: str, seeds, *, method: str = "denoise", **options) -> torch.Tensor:
    """Canvases (len(seeds), 32, 128) of one prompt pair drawn in memory by the pocket pair whose weights
    ``$SPECTROCANVAS_POCKET_WEIGHTS`` names (the settings as `generate` resolves them)."""
    settings = resolve_settings({"image_prompt": image, "audio_prompt": audio, **options}, pair="pocket",
                                method=method)
    return draw_canvases([settings] * len(seeds), list(seeds), load_pair(Runtime(pair="pocket")))[1]
