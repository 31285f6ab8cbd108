"""The README's grid of pocket samples: per prompt pair, the image model alone, the audio model
alone, then composed samples (the paper's method) for a few seeds, each labelled with what the
two judges decided (I = image judge right, S = sound judge right).

    python scripts/pocket_grid.py --out docs/pocket-grid.png      (SPECTROCANVAS_POCKET_WEIGHTS=W for other weights)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

PAIRS = (("triangle", "bell"), ("circle", "chirps"), ("square", "noise"), ("heart", "drone"),
         ("star", "rain"), ("moon", "chord"))
"""One pair per row; every word of both vocabularies but two appears once."""


def tile(canvas: torch.Tensor, scale: int) -> Image.Image:
    """Canvas (32, 128) in [0, 1] → gray picture as canvas.png shows it (low frequencies at the bottom), enlarged."""
    pixels = (canvas.clamp(0, 1).numpy() * 255).astype(np.uint8)
    return Image.fromarray(pixels).resize((pixels.shape[1] * scale, pixels.shape[0] * scale), Image.NEAREST)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--seeds", type=int, default=4, help="composed samples per pair")
    p.add_argument("--scale", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(1)

    from spectrocanvas.generate.drawing import draw_canvases
    from spectrocanvas.generate.prompt_files import PromptPair
    from spectrocanvas.generate.resolve import resolve_settings
    from spectrocanvas.generate.runs import load_pair
    from spectrocanvas.measure.study import study_records
    from spectrocanvas.pairs.interface import Runtime, ScorerRequest

    pair = load_pair(Runtime(pair="pocket"))
    seeds = list(range(args.seeds))

    def alone(method: str) -> torch.Tensor:
        settings = [resolve_settings({"image_prompt": i, "audio_prompt": a}, pair=pair.entry, method=method)
                    for i, a in PAIRS]
        return draw_canvases(settings, [0] * len(PAIRS), pair)[1]

    columns = [("image only", alone("image-only")), ("audio only", alone("audio-only"))]
    rows = [PromptPair(where=str(k), options={"image_prompt": i, "audio_prompt": a}) for k, (i, a) in enumerate(PAIRS)]
    settings = [resolve_settings(row.options, pair=pair.entry) for row in rows for _ in seeds]
    composed = draw_canvases(settings, seeds * len(PAIRS), pair)[1].view(len(PAIRS), len(seeds), 32, 128)
    judged = study_records(pair, pair.entry.scoring.load(ScorerRequest()), rows, method="denoise", options={"n": len(seeds)})
    verdicts = {key: torch.tensor([r[f"{key}_right"] for r in judged]) for key in ("image", "sound", "both")}

    w, h, gap, label_w, head_h = 128 * args.scale, 32 * args.scale, 6, 130, 22
    width = label_w + (2 + len(seeds)) * (w + gap)
    sheet = Image.new("L", (width, head_h + len(PAIRS) * (h + gap + 12)), 255)
    draw = ImageDraw.Draw(sheet)
    heads = ["image model alone", "audio model alone"] + [f"composed, seed {s}" for s in seeds]
    for c, head in enumerate(heads):
        draw.text((label_w + c * (w + gap), 4), head, fill=0)
    for r, (image_word, audio_word) in enumerate(PAIRS):
        y = head_h + r * (h + gap + 12)
        draw.text((4, y + h // 2 - 6), f"{image_word} + {audio_word}", fill=0)
        tiles = [columns[0][1][r], columns[1][1][r]] + list(composed[r])
        for c, canvas in enumerate(tiles):
            x = label_w + c * (w + gap)
            sheet.paste(tile(canvas, args.scale), (x, y))
            if c >= 2:
                k = r * len(seeds) + c - 2
                mark = ("I" if verdicts["image"][k] else "-") + ("S" if verdicts["sound"][k] else "-")
                draw.text((x, y + h + 1), mark, fill=0)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out)
    rate = float(verdicts["both"].float().mean())
    print(f"wrote {args.out}: both judges right on {rate:.0%} of the {verdicts['both'].numel()} composed tiles")


if __name__ == "__main__":
    main()
