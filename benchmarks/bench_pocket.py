"""Pocket models on one CPU thread: training steps per second (denoiser and judge, batch 64),
data time per batch, and the time to sample 4 composed canvases (50 DDIM steps, two members).

Random weights (compute does not depend on their values). Prints a table.

    PYTHONPATH=src nice -n 10 python benchmarks/bench_pocket.py [--threads 1] [--repeats 5]
"""

from __future__ import annotations

import argparse
import contextlib
import time

import torch
import torch.nn.functional as F


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    started = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - started) / repeats


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batch", type=int, default=64)
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    from spectrocanvas.canvas.vocoders import GriffinLimVocoder
    from spectrocanvas.generate.drawing import draw_canvases
    from spectrocanvas.generate.resolve import resolve_settings
    from spectrocanvas.pairs.pocket.networks import build_model
    from spectrocanvas.pairs.pocket.pair import ENTRY, PocketPair
    from spectrocanvas.pairs.pocket.schedule import scheduler_config
    from spectrocanvas.pairs.pocket.spec import POCKET
    from spectrocanvas.pairs.pocket.training import data
    from spectrocanvas.pairs.pocket.training.train import DEFAULTS, TrainSettings
    from spectrocanvas.pairs.pocket.weights import PocketDenoiser, PocketModels

    rows = []
    for kind in ("image", "audio-classifier"):
        settings = TrainSettings(model=kind, **DEFAULTS[kind])
        model = build_model(kind, settings.model_config())
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
        x = torch.rand(args.batch, 1, 32, 128)
        labels = torch.randint(0, 8, (args.batch,))
        variants = {"fp32": contextlib.nullcontext}
        variants["bf16 autocast"] = lambda: torch.autocast("cpu", dtype=torch.bfloat16)
        for name, ctx in variants.items():
            def step():
                with ctx():
                    out = model(x, torch.randint(0, 1000, (args.batch,)), labels) if kind == "image" else model(x)
                    loss = F.mse_loss(out.float(), x) if kind == "image" else F.cross_entropy(out.float(), labels)
                opt.zero_grad()
                loss.backward()
                opt.step()
            seconds = timed(step, args.repeats)
            params = sum(q.numel() for q in model.parameters())
            rows.append((f"train {kind} ({params / 1e6:.2f} M), {name}", seconds, 1 / seconds))

    bank = data.SoundBank(0, 256)
    bank.get(torch.arange(256))  # a filled bank, as after the first few hundred steps
    g = torch.Generator().manual_seed(0)
    rows.append(("data: image batch", timed(lambda: data.image_batch(bank, g, args.batch), args.repeats), None))
    rows.append(("data: sound batch (filled bank)",
                 timed(lambda: data.sound_batch(bank, g, args.batch), args.repeats), None))
    rows.append(("data: one new bank entry (synth + analysis)",
                 timed(lambda: bank.waveform(int(torch.randint(0, 10**6, ()))), args.repeats), None))
    rows.append(("data: vocoder round trip, one canvas",
                 timed(lambda: data.vocoder_round_trip(torch.rand(1, 1, 32, 128)), args.repeats), None))

    unets = {k: build_model(k, TrainSettings(model=k).model_config()).eval() for k in ("image", "audio")}
    models = PocketModels(image=PocketDenoiser(unets["image"], "image"), audio=PocketDenoiser(unets["audio"], "audio"),
                          scheduler_config=scheduler_config())
    pair = PocketPair(entry=ENTRY, models=models, vocoder=GriffinLimVocoder(spec=POCKET), weights_dir=None)
    for steps in (25, 50):
        settings = resolve_settings({"image_prompt": "triangle", "audio_prompt": "bell", "steps": steps}, pair=ENTRY)
        seconds = timed(lambda: draw_canvases([settings] * 4, [0, 1, 2, 3], pair), 1)
        rows.append((f"sample 4 composed canvases, {steps} DDIM steps", seconds, None))

    print(f"threads {args.threads}, batch {args.batch}, repeats {args.repeats}")
    print(f"{'what':58s} {'seconds':>8s} {'per s':>7s}")
    for what, seconds, rate in rows:
        print(f"{what:58s} {seconds:8.3f} {'' if rate is None else f'{rate:7.2f}'}")


if __name__ == "__main__":
    main()
