"""Pocket weights: safetensors files in ``weights/`` (fp16, config in the metadata), loaded as
callables the composition sampler takes.

``load_pocket()`` returns the two denoisers (and, when asked, the two judges). A denoiser is
``denoiser(latents (B, 1, 32, 128), t, cond (B, 1, 1) int64) -> ε (B, 1, 32, 128)``; its
``cond(word)`` and ``uncond()`` give the (1, 1, 1) class-index tensors that
:class:`spectrocanvas.diffusion.sampler.Member` takes as ``cond`` and ``uncond`` (the null class).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from safetensors import safe_open
from safetensors.torch import save_file

from spectrocanvas.canvas.spec import CanvasSpec
from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.files.atomic import atomic_path
from spectrocanvas.pairs.cache import cached
from spectrocanvas.pairs.pocket.networks import KINDS, build_model
from spectrocanvas.pairs.pocket.schedule import scheduler_config
from spectrocanvas.pairs.pocket.spec import CANVAS_SHAPE, POCKET
from spectrocanvas.pairs.pocket.vocab import class_index, classes, null_class

WEIGHTS_DIR = Path(__file__).parent / "weights"
"""Where the shipped weights live."""
WEIGHTS_ENV = "SPECTROCANVAS_POCKET_WEIGHTS"
"""Environment variable naming another weights folder (tests, freshly exported runs)."""
RECORD = "record.json"


def weights_file(kind: str, weights_dir: Path | str = WEIGHTS_DIR) -> Path:
    return Path(weights_dir) / f"{kind}.safetensors"


def save_module(module: nn.Module, kind: str, config: dict[str, Any], path: Path | str,
                dtype: torch.dtype = torch.float16) -> Path:
    """Write ``module``'s weights (as ``dtype``) and its config to a safetensors file, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to(dtype).contiguous() for k, v in module.state_dict().items()}
    with atomic_path(path) as temporary:
        save_file(tensors, str(temporary), metadata={"kind": kind, "config": json.dumps(config)})
    return path


def load_module(path: Path | str) -> tuple[str, nn.Module]:
    """(kind, float32 module in eval mode) from a file written by :func:`save_module`."""
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k).float() for k in f.keys()}
    module = build_model(meta["kind"], json.loads(meta["config"]))
    module.load_state_dict(tensors)
    return meta["kind"], module.eval().requires_grad_(False)


class PocketDenoiser:
    """A pocket UNet as a sampler denoiser: (latents (B, 1, 32, 128), t, cond (B, 1, 1)) → ε."""

    latent_channels = CANVAS_SHAPE[0]

    def __init__(self, net: nn.Module, kind: str) -> None:
        self.net, self.kind = net, kind
        self.classes = classes(kind)
        self.scheduler_config = scheduler_config()

    def cond(self, word: str | int, batch: int = 1) -> torch.Tensor:
        """Class-index conditioning (batch, 1, 1) int64 for a vocabulary word (or an index)."""
        index = word if isinstance(word, int) else class_index(word, self.kind)
        return torch.full((batch, 1, 1), int(index), dtype=torch.int64)

    def uncond(self, batch: int = 1) -> torch.Tensor:
        """The null class as conditioning (batch, 1, 1) int64."""
        return torch.full((batch, 1, 1), null_class(self.kind), dtype=torch.int64)

    @torch.no_grad()
    def __call__(self, latents: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        labels = cond.reshape(cond.shape[0], -1)[:, 0].long()
        t = torch.as_tensor(t).reshape(-1).expand(latents.shape[0]) if torch.as_tensor(t).numel() == 1 else t
        return self.net(latents.float(), t, labels).to(latents.dtype)

    def describe(self) -> dict[str, Any]:
        return {"name": f"pocket-{self.kind}", "config": self.net.config.to_dict(),
                "parameters": sum(p.numel() for p in self.net.parameters())}


class PocketJudge:
    """A pocket classifier: canvases (B, 32, 128) or (B, 1, 32, 128) in [0, 1] → logits (B, classes)."""

    def __init__(self, net: nn.Module, kind: str) -> None:
        self.net, self.kind = net, kind
        self.classes = classes("image" if kind.startswith("image") else "audio")

    @torch.no_grad()
    def __call__(self, canvases: torch.Tensor) -> torch.Tensor:
        x = canvases[:, None] if canvases.dim() == 3 else canvases
        return torch.cat([self.net(x[i:i + 256].float()) for i in range(0, x.shape[0], 256)])

    def predict(self, canvases: torch.Tensor) -> torch.Tensor:
        """Class indices (B,)."""
        return self(canvases).argmax(1)


@dataclass
class PocketModels:
    """What ``--preset pocket`` needs: the two denoisers, their shared schedule, the canvas spec."""

    image: PocketDenoiser
    audio: PocketDenoiser
    scheduler_config: dict[str, Any]
    spec: CanvasSpec = POCKET
    image_judge: PocketJudge | None = None
    audio_judge: PocketJudge | None = None
    record: dict[str, Any] = field(default_factory=dict)


def read_record(weights_dir: Path | str = WEIGHTS_DIR) -> dict[str, Any]:
    path = Path(weights_dir) / RECORD
    return json.loads(path.read_text()) if path.is_file() else {}


def default_weights_dir() -> Path:
    """``$SPECTROCANVAS_POCKET_WEIGHTS`` when set, else the package's ``weights/``."""
    return Path(os.environ.get(WEIGHTS_ENV) or WEIGHTS_DIR)


def _require(kind: str, weights_dir: Path) -> Path:
    path = weights_file(kind, weights_dir)
    if not path.is_file():
        shipped = "the pocket weights are not shipped yet: " if weights_dir.resolve() == WEIGHTS_DIR.resolve() else ""
        raise SpectrocanvasError(
            f"{shipped}pocket weights '{path.name}' are missing from {weights_dir}; train them with "
            f"'python -m spectrocanvas.pairs.pocket.training.train --model {kind} …' and export them with "
            f"'python -m spectrocanvas.pairs.pocket.training.export --run DIR', or set {WEIGHTS_ENV} to a folder "
            "that has them")
    return path


def _load(folder: Path, judges: bool) -> PocketModels:
    nets = {kind: load_module(_require(kind, folder))[1] for kind in (KINDS if judges else KINDS[:2])}
    return PocketModels(image=PocketDenoiser(nets["image"], "image"), audio=PocketDenoiser(nets["audio"], "audio"),
                        scheduler_config=scheduler_config(),
                        image_judge=PocketJudge(nets["image-classifier"], "image-classifier") if judges else None,
                        audio_judge=PocketJudge(nets["audio-classifier"], "audio-classifier") if judges else None,
                        record=read_record(folder))


def load_pocket(weights_dir: Path | str | None = None, *, judges: bool = False) -> PocketModels:
    """Load the pocket models from ``weights_dir`` (default: :func:`default_weights_dir`), once
    per process. ``judges=True`` also loads the two classifiers. Offline; CPU; float32."""
    folder = Path(weights_dir or default_weights_dir()).resolve()
    return cached(("pocket", str(folder), judges), lambda: _load(folder, judges))
