"""Train a pocket model, resumably: ``python -m spectrocanvas.pairs.pocket.training.train --model image --steps N --out DIR``.

Models: ``image`` and ``audio`` (class-conditional ε-prediction denoisers sharing the pocket
noise schedule, null class dropped in 10 % of the time) and ``image-classifier`` /
``audio-classifier`` (the judges). Batch k depends only on (data seed, model, k) and the noise
of step k only on (seed, k), so a run stopped and resumed sees exactly the data and noise of an
uninterrupted one.

The run folder holds ``checkpoint.pt`` (model, EMA, optimiser, step; written atomically every
``--checkpoint-minutes`` and on exit, SIGINT or SIGTERM), ``loss.csv`` (one row per step),
``eval.csv`` (held-out accuracy of classifiers) and ``run.json`` (settings and every command
that worked on the run). Running the same command again resumes; ``--steps`` may grow.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import signal
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.files.atomic import atomic_path, write_text
from spectrocanvas.pairs.pocket.classifier import ClassifierConfig
from spectrocanvas.pairs.pocket.networks import KINDS, build_model
from spectrocanvas.pairs.pocket.schedule import alphas_cumprod
from spectrocanvas.pairs.pocket.spec import to_model
from spectrocanvas.pairs.pocket.training import data
from spectrocanvas.pairs.pocket.unet import UNetConfig
from spectrocanvas.pairs.pocket.vocab import IMAGE_CLASSES, SOUND_CLASSES

MODELS = KINDS
CHECKPOINT = "checkpoint.pt"
LOSS_LOG = "loss.csv"
EVAL_LOG = "eval.csv"
RUN_FILE = "run.json"


@dataclass(frozen=True)
class TrainSettings:
    """Everything that decides what a run computes (the step count excepted)."""

    model: str
    data_seed: int = 0
    seed: int = 0
    batch: int = 64
    lr: float = 3e-4
    warmup: int = 200
    ema: float = 0.999
    grad_clip: float = 1.0
    null_prob: float = 0.1
    bank_size: int = 16384
    channels: tuple[int, ...] = (48, 96, 128)
    unshuffle: int = 4

    @property
    def is_denoiser(self) -> bool:
        return self.model in ("image", "audio")

    @property
    def num_classes(self) -> int:
        return len(IMAGE_CLASSES if self.model.startswith("image") else SOUND_CLASSES)

    def model_config(self) -> dict[str, Any]:
        if self.is_denoiser:
            return UNetConfig(num_classes=self.num_classes, channels=self.channels, unshuffle=self.unshuffle).to_dict()
        return ClassifierConfig(num_classes=self.num_classes, channels=self.channels,
                                pool="global" if self.model == "image-classifier" else "time").to_dict()

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "channels": list(self.channels)}


DEFAULTS = {
    "image": {},
    "audio": {},
    "image-classifier": {"lr": 1e-3, "warmup": 100, "ema": 0.995, "channels": (16, 32, 64, 128), "bank_size": 4096},
    "audio-classifier": {"lr": 1e-3, "warmup": 100, "ema": 0.995, "channels": (16, 32, 64, 128), "bank_size": 8192},
}


class Batches:
    """Training batches of one run: ``batch(step)`` → (canvases (B, 1, 32, 128), labels (B,))."""

    def __init__(self, settings: TrainSettings, *, data_seed: int | None = None) -> None:
        self.settings = settings
        self.data_seed = settings.data_seed if data_seed is None else data_seed
        self.bank = data.SoundBank(self.data_seed, settings.bank_size)
        self.judged = data.JudgedSoundBank(self.bank) if settings.model == "audio-classifier" else None

    def batch(self, step: int, size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.settings
        g = data.stream_generator(self.data_seed, s.model, step)
        size = size or s.batch
        if s.model == "image":
            return data.image_batch(self.bank, g, size)
        if s.model == "audio":
            return data.sound_batch(self.bank, g, size)
        if s.model == "image-classifier":
            return data.judged_image_batch(self.bank, g, size)
        return data.judged_sound_batch(self.judged, g, size)


def learning_rate(settings: TrainSettings, step: int) -> float:
    """Linear warm-up to ``lr`` over ``warmup`` steps, then constant (so runs can be extended)."""
    return settings.lr * min(1.0, (step + 1) / max(1, settings.warmup))


def diffusion_loss(model: nn.Module, canvases: torch.Tensor, labels: torch.Tensor, g: torch.Generator,
                   acp: torch.Tensor, null_prob: float, null_class: int) -> torch.Tensor:
    """ε-prediction MSE at uniform timesteps; labels replaced by the null class with ``null_prob``."""
    x0 = to_model(canvases)
    b = x0.shape[0]
    t = torch.randint(0, acp.shape[0], (b,), generator=g)
    noise = torch.randn(x0.shape, generator=g)
    a = acp[t].float()[:, None, None, None]
    xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
    drop = torch.rand(b, generator=g) < null_prob
    cond = torch.where(drop, torch.full_like(labels, null_class), labels)
    return F.mse_loss(model(xt, t, cond), noise)


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float, step: int) -> None:
    d = min(decay, (1 + step) / (10 + step))
    for e, p in zip(ema.parameters(), model.parameters()):
        e.lerp_(p, 1 - d)


def _atomic_save(obj: Any, path: Path) -> None:
    with atomic_path(path) as temporary:
        torch.save(obj, temporary)


def _truncate_log(path: Path, last_step: int) -> None:
    """Keep the header and the rows of steps ≤ last_step (rows after a checkpoint are redone)."""
    if not path.exists():
        return
    lines = path.read_text().splitlines()
    kept = lines[:1] + [ln for ln in lines[1:] if ln and int(ln.split(",")[0]) <= last_step]
    write_text(path, "\n".join(kept) + "\n")


class Stop:
    """Set by SIGINT/SIGTERM so the loop checkpoints and exits cleanly."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self, *_: Any) -> None:
        self.requested = True


@torch.no_grad()
def held_out_accuracy(model: nn.Module, held: tuple[torch.Tensor, torch.Tensor]) -> float:
    model.eval()
    canvases, labels = held
    correct = sum(int((model(canvases[i:i + 128]).argmax(1) == labels[i:i + 128]).sum())
                  for i in range(0, len(labels), 128))
    model.train()
    return correct / len(labels)


def train(settings: TrainSettings, *, steps: int, out: str | Path, checkpoint_minutes: float = 5.0,
          max_minutes: float | None = None, eval_every: int = 500, eval_size: int = 512,
          command: list[str] | None = None, quiet: bool = False) -> dict[str, Any]:
    """Train (or resume) the run in ``out`` up to ``steps`` steps; returns a summary dict."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    run_path, ckpt_path = out / RUN_FILE, out / CHECKPOINT
    run = json.loads(run_path.read_text()) if run_path.exists() else None
    if run is not None and run["settings"] != settings.to_dict():
        changed = sorted(k for k in run["settings"] if run["settings"][k] != settings.to_dict().get(k))
        raise SpectrocanvasError(f"'{out}' holds a run with other settings ({', '.join(changed)}); "
                                 "use another --out or the same settings")
    config = settings.model_config()
    with torch.random.fork_rng(devices=[]):  # the initial weights come from the run's seed
        torch.manual_seed(settings.seed)
        model = build_model(settings.model, config)
    ema = build_model(settings.model, config)
    ema.load_state_dict(model.state_dict())
    ema.requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr,
                                  weight_decay=0.0 if settings.is_denoiser else 1e-4)
    step, elapsed = 0, 0.0
    if ckpt_path.exists():
        state = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        step, elapsed = int(state["step"]), float(state["elapsed"])
    _truncate_log(out / LOSS_LOG, step)
    _truncate_log(out / EVAL_LOG, step)
    run = run or {"settings": settings.to_dict(), "model_config": config, "commands": []}
    run["commands"].append({"argv": command or [], "from_step": step, "to_step": steps,
                            "started": time.strftime("%Y-%m-%dT%H:%M:%S")})
    write_text(run_path, json.dumps(run, indent=2))

    batches = Batches(settings)
    held = None
    if not settings.is_denoiser and eval_size > 0:  # held-out data: another data seed
        held = Batches(settings, data_seed=settings.data_seed + 1_000).batch(0, eval_size)
    acp = alphas_cumprod()
    stop = Stop()
    previous = [signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)]

    def save() -> None:
        _atomic_save({"step": step, "elapsed": elapsed, "model": model.state_dict(), "ema": ema.state_dict(),
                      "optimizer": optimizer.state_dict(), "settings": settings.to_dict(), "config": config}, ckpt_path)

    new_log = not (out / LOSS_LOG).exists()
    log = open(out / LOSS_LOG, "a", newline="")
    writer = csv.writer(log)
    if new_log:
        writer.writerow(["step", "loss", "accuracy", "lr", "elapsed_s"])
    started = time.perf_counter()
    base_elapsed = elapsed
    last_save = started
    model.train()
    caller_rng = torch.get_rng_state()
    try:
        while step < steps and not stop.requested:
            canvases, labels = batches.batch(step)
            g = torch.Generator().manual_seed(settings.seed * 1_000_003 + step)
            torch.manual_seed(settings.seed * 1_000_003 + step)  # dropout draws from the global generator
            lr = learning_rate(settings, step)
            for group in optimizer.param_groups:
                group["lr"] = lr
            accuracy = ""
            if settings.is_denoiser:
                loss = diffusion_loss(model, canvases, labels, g, acp, settings.null_prob, settings.num_classes)
            else:
                logits = model(canvases)
                loss = F.cross_entropy(logits, labels, label_smoothing=0.05)
                accuracy = f"{float((logits.argmax(1) == labels).float().mean()):.4f}"
            value = float(loss.detach())
            if not math.isfinite(value):
                raise SpectrocanvasError(f"loss became {value} at step {step}; lower --lr")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
            optimizer.step()
            update_ema(ema, model, settings.ema, step)
            step += 1
            now = time.perf_counter()
            elapsed = base_elapsed + now - started
            writer.writerow([step, f"{value:.6f}", accuracy, f"{lr:.3g}", f"{elapsed:.1f}"])
            if held is not None and step % eval_every == 0:
                with open(out / EVAL_LOG, "a") as f:
                    if f.tell() == 0:
                        f.write("step,held_out_accuracy,ema_held_out_accuracy\n")
                    f.write(f"{step},{held_out_accuracy(model, held):.4f},{held_out_accuracy(ema, held):.4f}\n")
            if not quiet and step % 50 == 0:
                print(f"step {step}/{steps} loss {value:.4f} {accuracy} ({elapsed / 60:.1f} min)", flush=True)
            if now - last_save > checkpoint_minutes * 60:
                log.flush()
                save()
                last_save = now
            if max_minutes is not None and now - started > max_minutes * 60:
                break
    finally:
        torch.set_rng_state(caller_rng)
        log.close()
        save()
        for sig, handler in zip((signal.SIGINT, signal.SIGTERM), previous):
            signal.signal(sig, handler)
    return {"step": step, "elapsed_s": elapsed, "out": str(out)}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m spectrocanvas.pairs.pocket.training.train",
                                description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, choices=MODELS)
    p.add_argument("--steps", type=int, required=True, help="total steps to reach (resumes below it)")
    p.add_argument("--out", required=True, help="run folder (created, or resumed)")
    p.add_argument("--data-seed", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float)
    p.add_argument("--bank-size", type=int)
    p.add_argument("--channels", help="comma-separated widths, e.g. 48,96,128")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--checkpoint-minutes", type=float, default=5.0)
    p.add_argument("--max-minutes", type=float, help="stop (with a checkpoint) after this long")
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def settings_from_args(args: argparse.Namespace) -> TrainSettings:
    values: dict[str, Any] = {"model": args.model, "data_seed": args.data_seed, "seed": args.seed,
                              "batch": args.batch, **DEFAULTS[args.model]}
    if args.lr is not None:
        values["lr"] = args.lr
    if args.bank_size is not None:
        values["bank_size"] = args.bank_size
    if args.channels:
        values["channels"] = tuple(int(c) for c in args.channels.split(","))
    return TrainSettings(**values)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        summary = train(settings_from_args(args), steps=args.steps, out=args.out,
                        checkpoint_minutes=args.checkpoint_minutes, max_minutes=args.max_minutes,
                        eval_every=args.eval_every, command=sys.argv if argv is None else list(argv),
                        quiet=args.quiet)
    except SpectrocanvasError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
