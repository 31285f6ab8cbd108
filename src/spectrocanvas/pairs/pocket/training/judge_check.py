"""How often each pocket judge is right on freshly synthesised data of a seed no training run used:
``python -m spectrocanvas.pairs.pocket.training.judge_check --seed 271828 [--n 512] [--weights-dir W]``."""

from __future__ import annotations

import argparse
import json
import sys

import torch

from spectrocanvas.pairs.pocket.training import data
from spectrocanvas.pairs.pocket.weights import PocketModels, load_pocket


def judge_accuracy(models: PocketModels, data_seed: int, n: int = 512) -> dict[str, float]:
    """Each judge's accuracy on ``n`` freshly synthesised samples of ``data_seed``: shapes in every
    style (with the noise the judge is trained to ignore), and sounds after the vocoder round trip,
    60 % of them with a shape imprinted."""
    bank = data.SoundBank(data_seed, max(n, 64))
    shapes, shape_labels = data.image_batch(bank, data.stream_generator(data_seed, "image", 0), n)
    sounds, sound_labels = data.judged_sound_batch(data.JudgedSoundBank(bank),
                                                   data.stream_generator(data_seed, "audio", 0), n)
    return {"image": float((models.image_judge.predict(shapes) == shape_labels).float().mean()),
            "sound": float((models.audio_judge.predict(sounds) == sound_labels).float().mean()),
            "data_seed": data_seed, "n": n}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m spectrocanvas.pairs.pocket.training.judge_check",
                                description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, required=True, help="data seed (use one no training run used)")
    p.add_argument("--n", type=int, default=512, help="samples per judge")
    p.add_argument("--weights-dir")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(json.dumps(judge_accuracy(load_pocket(args.weights_dir, judges=True), args.seed, args.n)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
