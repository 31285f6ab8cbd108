"""Drawing samples in batches: the method runs, latents are decoded to a picture and a canvas,
the tail is cropped. The same path serves `generate` (one prompt pair at a time) and in-memory
studies (many prompt pairs per batch).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch

from spectrocanvas.canvas.vocoders import play_looped
from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.generate.methods import run_method
from spectrocanvas.generate.settings import GenerateSettings
from spectrocanvas.pairs.interface import ModelPair
from spectrocanvas.support.batching import batched
from spectrocanvas.support.threads import cpu_threads


@dataclass(frozen=True)
class Drawn:
    """One batch of drawn samples: their positions in the request, pictures (b, 3, H, W) and
    canvases (b, H, W) in [0, 1] on the CPU (tails cropped), and seconds spent."""

    positions: list[int]
    image_pixels: torch.Tensor
    canvases: torch.Tensor
    sampling_seconds: float
    decoding_seconds: float


def crop_tail(pixels: torch.Tensor, columns: int) -> torch.Tensor:
    """Drop the last ``columns`` pixel columns (the silent tail of Auffusion's 10 s clips)."""
    if columns <= 0 or columns >= pixels.shape[-1]:
        return pixels
    return pixels[..., : pixels.shape[-1] - columns]


def _guard_resources(run: Callable[[], object], *, batch: int, device: str) -> object:
    """Run a batch, turning out-of-memory into one line that says what to change."""
    advice = (f"out of memory for a batch of {batch} on {device}; try a smaller --batch-size "
              "(finished samples are kept)")
    try:
        return run()
    except torch.OutOfMemoryError:
        raise SpectrocanvasError(advice) from None
    except RuntimeError as error:
        if "out of memory" in str(error).lower() or "can't allocate memory" in str(error).lower():
            raise SpectrocanvasError(advice) from None
        raise


LOOP_MARGIN = 4
"""Latent columns wrapped onto each side of a loop before decoding, so the decoder sees its ends joined."""


def decode(pair: ModelPair, latents: torch.Tensor, *, loop: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Latents (B, C, h, w) → pictures (B, 3, H, W) and canvases (B, H, W) through the pair's decoders;
    a loop is decoded with its ends wrapped on, then cut back, so its decoded edges meet too."""
    if not loop:
        return pair.decode_image(latents), pair.decode_canvas(latents)
    margin = min(LOOP_MARGIN, latents.shape[-1])
    wrapped = torch.cat([latents[..., -margin:], latents, latents[..., :margin]], dim=-1)
    cut = margin * pair.entry.latent_scale
    return pair.decode_image(wrapped)[..., cut:-cut], pair.decode_canvas(wrapped)[..., cut:-cut]


def play(pair: ModelPair, canvas: torch.Tensor, *, loop: bool = False) -> torch.Tensor:
    """One canvas (H, W) → its waveform (W · hop,) float32 on the CPU, through the pair's vocoder
    (a loop so that its end runs on into its start), with the pair's CPU threads."""
    with torch.no_grad(), cpu_threads(pair.entry.cpu_threads):
        batch = canvas[None].float()
        wave = play_looped(pair.vocoder, batch) if loop else pair.vocoder(batch)
    return wave[0].float().cpu()


def draw(settings: Sequence[GenerateSettings], seeds: Sequence[int], pair: ModelPair, *, batch_size: int = 8,
         on_step: Callable[[int], None] | None = None) -> Iterator[Drawn]:
    """Draw sample i with ``settings[i]`` from seed ``seeds[i]``, in batches of at most ``batch_size``
    samples that share everything but their prompts (so a batch may span prompt pairs).

    ``on_step(b)`` is called after each step of a batch of b samples. Yields batches as they finish;
    NaN or infinite results end in one line, after the batches before them were yielded.
    """
    groups: dict[tuple, list[int]] = {}
    for position, item in enumerate(settings):
        groups.setdefault(item.sampling_key(), []).append(position)
    for positions in (chunk for group in groups.values() for chunk in batched(group, batch_size)):
        batch = [settings[p] for p in positions]
        batch_seeds = [seeds[p] for p in positions]
        step = (lambda n=len(positions): on_step(n)) if on_step is not None else None
        started = time.perf_counter()
        with cpu_threads(pair.entry.cpu_threads):
            output = _guard_resources(lambda: run_method(batch, batch_seeds, pair, on_step=step),
                                      batch=len(positions), device=str(pair.device))
        sampling = time.perf_counter() - started
        parts = (output,) if isinstance(output, torch.Tensor) else output
        finite = torch.stack([p.flatten(1).isfinite().all(1) for p in parts]).all(0)
        bad = [batch_seeds[i] for i, ok in enumerate(finite.tolist()) if not ok]
        if bad:
            raise SpectrocanvasError(f"sampling produced NaN or infinite values for seed(s) {bad}; "
                                     "try --dtype float32 (finished samples are kept)")
        started = time.perf_counter()
        if isinstance(output, torch.Tensor):
            image_pixels, canvases = decode(pair, output, loop=batch[0].loop)
        else:  # the method made the picture and the canvas itself
            image_pixels, canvases = (x.float().cpu() for x in output)
        crop = batch[0].crop_columns
        yield Drawn(positions=positions, image_pixels=crop_tail(image_pixels, crop), canvases=crop_tail(canvases, crop),
                    sampling_seconds=sampling, decoding_seconds=time.perf_counter() - started)


def draw_canvases(settings: Sequence[GenerateSettings], seeds: Sequence[int], pair: ModelPair, *,
                  batch_size: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    """Every sample of :func:`draw` in request order: pictures (N, 3, H, W) and canvases (N, H, W)."""
    pictures: list[torch.Tensor | None] = [None] * len(settings)
    canvases: list[torch.Tensor | None] = [None] * len(settings)
    for drawn in draw(settings, seeds, pair, batch_size=batch_size):
        for row, position in enumerate(drawn.positions):
            pictures[position], canvases[position] = drawn.image_pixels[row], drawn.canvases[row]
    return torch.stack(pictures), torch.stack(canvases)
