"""A contact sheet of pocket samples from two training runs (their EMA weights), for a look.

Rows: image-only for each image class, audio-only for each sound class, then composed pairs.

    PYTHONPATH=src nice -n 10 python scripts/pocket_preview.py --image-run RUN --audio-run RUN --out sheet.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def pair_from_runs(image_run: Path, audio_run: Path, weights: str = "ema"):
    """The pocket pair with the denoisers of two training runs (their checkpoints, not exported files)."""
    from spectrocanvas.canvas.vocoders import GriffinLimVocoder
    from spectrocanvas.pairs.pocket.networks import build_model
    from spectrocanvas.pairs.pocket.pair import ENTRY, PocketPair
    from spectrocanvas.pairs.pocket.schedule import scheduler_config
    from spectrocanvas.pairs.pocket.spec import POCKET
    from spectrocanvas.pairs.pocket.training.train import CHECKPOINT
    from spectrocanvas.pairs.pocket.weights import PocketDenoiser, PocketModels

    nets = {}
    for kind, run in (("image", image_run), ("audio", audio_run)):
        state = torch.load(Path(run) / CHECKPOINT, map_location="cpu", weights_only=True)
        net = build_model(kind, state["config"])
        net.load_state_dict(state[weights])
        nets[kind] = net.eval()
        print(f"{kind}: step {state['step']}")
    models = PocketModels(image=PocketDenoiser(nets["image"], "image"), audio=PocketDenoiser(nets["audio"], "audio"),
                          scheduler_config=scheduler_config())
    return PocketPair(entry=ENTRY, models=models, vocoder=GriffinLimVocoder(spec=POCKET), weights_dir=None)


def sheet(rows: list[torch.Tensor], scale: int = 2) -> Image.Image:
    """rows of canvases (n, 32, 128) in [0, 1] → one grey picture with 2-px white gaps."""
    lines = []
    for row in rows:
        tiles = [torch.cat([c, torch.ones(c.shape[0], 2)], 1) for c in row]
        lines.append(torch.cat([torch.cat(tiles, 1), torch.ones(2, len(tiles) * 130)], 0))
    picture = (torch.cat(lines, 0).numpy() * 255).astype(np.uint8)
    return Image.fromarray(picture).resize((picture.shape[1] * scale, picture.shape[0] * scale), Image.NEAREST)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--image-run", required=True)
    p.add_argument("--audio-run", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--n", type=int, default=4)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--guidance", type=float, default=3.0)
    p.add_argument("--weights", choices=("ema", "model"), default="ema", help="EMA or raw weights")
    args = p.parse_args()
    torch.set_num_threads(1)

    from spectrocanvas.generate.drawing import draw_canvases
    from spectrocanvas.generate.resolve import resolve_settings
    from spectrocanvas.pairs.pocket.vocab import IMAGE_CLASSES, SOUND_CLASSES

    pair = pair_from_runs(Path(args.image_run), Path(args.audio_run), args.weights)
    seeds = list(range(args.n))
    opts = {"steps": args.steps, "image_guidance": args.guidance, "audio_guidance": args.guidance}

    def canvases(image_word: str, audio_word: str, method: str = "denoise") -> torch.Tensor:
        settings = resolve_settings({"image_prompt": image_word, "audio_prompt": audio_word, **opts},
                                    pair=pair.entry, method=method)
        return draw_canvases([settings] * len(seeds), seeds, pair)[1]

    rows = [canvases(word, "bell", "image-only") for word in IMAGE_CLASSES]
    rows += [canvases("circle", word, "audio-only") for word in SOUND_CLASSES]
    for image_word, audio_word in [("triangle", "bell"), ("circle", "rain"), ("square", "drone"), ("star", "chirps")]:
        rows.append(canvases(image_word, audio_word))
    sheet(rows).save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
