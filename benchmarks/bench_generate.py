"""Generation speed of the paper's method on the full-size architectures (random weights).

Compute does not depend on the weights' values, so SD 1.5's UNet (×2: Auffusion's has the same
architecture), SD's VAE and the CLIP ViT-L/14 text encoder (×2) are built from their configs
with random weights. Generation runs through the project's own `compose_sample` at the paper's
settings (DDIM 100 steps, guidance 10, weights 0.5/0.5, warm start 10 steps: 190 UNet calls of
batch 2 per sample) in two modes:

- official: the reference implementation's pattern — one sample at a time, eager fp16, each
  model's conditional and unconditional pass as one batch of 2;
- optimised: bf16, PyTorch SDPA, channels_last, fused QKV, samples batched, optionally
  `torch.compile` (`--compile reduce-overhead` adds CUDA graphs).

Prints a Markdown table for BENCHMARKS.md. `--steps` shortens the schedule; per-UNet-call time is
then extrapolated to the paper's 190 calls (scheduler work scales with it; stated in the output).

    python benchmarks/bench_generate.py --device cuda              # H100: the real measurement
    python benchmarks/bench_generate.py --reduced                  # CPU smoke run, tiny models
    python benchmarks/bench_generate.py --flops-only --device cpu  # FLOPs of one full UNet call
    python benchmarks/bench_generate.py --device meta --steps 3    # full-size plumbing, no compute

FlopCounterMode gives 0.803 TFLOP per sample per UNet call at a 4×32×128 latent, attention
included (0.126 of it); on CPU the default SDPA kernel is invisible to the counter, which then
reports 0.677. The paper's schedule is 190 calls of batch 2: 305 TFLOP per sample.
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from spectrocanvas.diffusion.sampler import Member, compose_sample, initial_latents
from spectrocanvas.diffusion.schedulers import make_scheduler

SD15_UNET = dict(
    sample_size=64, in_channels=4, out_channels=4, block_out_channels=(320, 640, 1280, 1280),
    layers_per_block=2, cross_attention_dim=768, attention_head_dim=8,
    down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
    up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3)
SD15_VAE = dict(
    in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(128, 256, 512, 512),
    down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
    layers_per_block=2, norm_num_groups=32, sample_size=512)
CLIP_L14_TEXT = dict(
    vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
    num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu", projection_dim=768)
SD15_SCHEDULE = dict(
    beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000,
    set_alpha_to_one=False, skip_prk_steps=True, steps_offset=1, clip_sample=False)

TINY_UNET = dict(
    sample_size=8, in_channels=4, out_channels=4, block_out_channels=(32, 64), layers_per_block=1,
    cross_attention_dim=32, attention_head_dim=8, norm_num_groups=16,
    down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"))
TINY_VAE = dict(
    in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(16, 32),
    down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
    layers_per_block=1, norm_num_groups=8, sample_size=32)
TINY_TEXT = dict(
    vocab_size=1000, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
    num_attention_heads=4, max_position_embeddings=77, projection_dim=32)

# Dense bf16 tensor-core peak, TFLOP/s (vendor datasheets).
PEAK_BF16 = {"H100 PCIe": 756.0, "H100": 989.0, "H200": 989.0, "A100": 312.0, "L40S": 362.0}

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}


@dataclass
class Models:
    audio_unet: torch.nn.Module
    image_unet: torch.nn.Module
    vae: torch.nn.Module
    text_encoders: list[torch.nn.Module]
    vocoder: torch.nn.Module | None
    vocoder_note: str


@dataclass
class Mode:
    name: str
    dtype: torch.dtype
    channels_last: bool
    fuse_qkv: bool
    compile: str  # "none" or a torch.compile mode


@dataclass
class Row:
    mode: str
    batch: int
    denoise_s: float       # per batch, extrapolated to the paper's schedule
    decode_s: float        # VAE + vocoder per batch
    vocoder_s: float       # the vocoder's part of decode_s
    unet_flop: float       # UNet FLOPs per batch for the paper's schedule
    unet_only_s: float     # one bare UNet call at batch 2B
    call_flop: float       # FLOPs of that call
    peak_mem_gb: float | None

    @property
    def batch_s(self) -> float:
        return self.denoise_s + self.decode_s


# ---------------------------------------------------------------- models


def build_models(device: torch.device, reduced: bool) -> Models:
    """Random-weight models at full size (or tiny with ``reduced``), created on ``device``."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    unet_cfg, vae_cfg, text_cfg = (TINY_UNET, TINY_VAE, TINY_TEXT) if reduced else (
        SD15_UNET, SD15_VAE, CLIP_L14_TEXT)
    torch.manual_seed(0)
    with torch.device(device):
        unets = [UNet2DConditionModel(**unet_cfg).eval() for _ in range(2)]
        vae = AutoencoderKL(**vae_cfg).eval()
        texts = [CLIPTextModel(CLIPTextConfig(**text_cfg)).eval() for _ in range(2)]
    vocoder, note = build_vocoder(device, reduced)
    return Models(unets[0], unets[1], vae, texts, vocoder, note)


def build_vocoder(device: torch.device, reduced: bool) -> tuple[torch.nn.Module | None, str]:
    """Auffusion-size HiFi-GAN (random weights) from spectrocanvas.canvas.hifigan; skipped in --reduced."""
    if reduced:
        return None, "vocoder skipped in --reduced"
    from spectrocanvas.canvas.hifigan import AUFFUSION_HIFIGAN_CONFIG, HiFiGANGenerator

    with torch.device(device):
        generator = HiFiGANGenerator(AUFFUSION_HIFIGAN_CONFIG).eval()
    return generator, "vocoder: HiFiGANGenerator, Auffusion-size config (random weights)"


def prepare(models: Models, mode: Mode) -> None:
    """Cast (in place, so only one copy is resident) and lay out the models for ``mode``."""
    fmt = torch.channels_last if mode.channels_last else torch.contiguous_format
    for m in (models.audio_unet, models.image_unet, models.vae):
        m.to(dtype=mode.dtype, memory_format=fmt)
        if hasattr(m, "fuse_qkv_projections"):
            if mode.fuse_qkv:
                m.fuse_qkv_projections()
            elif getattr(m, "original_attn_processors", None) is not None:
                m.unfuse_qkv_projections()
    for m in models.text_encoders + ([models.vocoder] if models.vocoder is not None else []):
        m.to(dtype=mode.dtype)


def unet_denoiser(unet: torch.nn.Module, mode: Mode) -> Callable[..., torch.Tensor]:
    """The UNet as a ``denoiser(latents, t, cond) -> eps`` in ``mode``'s dtype."""
    forward = unet
    if mode.compile != "none":
        # One static graph per batch shape (2B = 2, 8, 16, 32) and per UNet.
        for knob in ("recompile_limit", "cache_size_limit"):
            if hasattr(torch._dynamo.config, knob):
                setattr(torch._dynamo.config, knob, 64)
        forward = torch.compile(unet, dynamic=False,
                                mode=None if mode.compile == "default" else mode.compile)
    graphs = "reduce-overhead" in mode.compile

    @torch.inference_mode()
    def denoiser(latents: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        eps = forward(latents.to(mode.dtype), t, encoder_hidden_states=cond, return_dict=False)[0]
        return eps.clone() if graphs else eps  # CUDA-graph outputs are reused by the next replay

    return denoiser


# ---------------------------------------------------------------- measuring


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@contextlib.contextmanager
def sync_debug(device: torch.device, on: bool):
    """Warn on every GPU→CPU synchronisation inside the block (the loop should have none)."""
    if not (on and device.type == "cuda"):
        yield
        return
    torch.cuda.set_sync_debug_mode("warn")
    try:
        yield
    finally:
        torch.cuda.set_sync_debug_mode("default")


def count_flops(fn: Callable[[], Any], device: torch.device) -> float:
    """FLOPs of ``fn()``. On CPU attention runs the math backend: the CPU flash kernel is not in
    FlopCounterMode's registry and would count as zero."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    backend = sdpa_kernel(SDPBackend.MATH) if device.type != "cuda" else contextlib.nullcontext()
    with torch.inference_mode(), backend, FlopCounterMode(display=False) as counter:
        fn()
    return float(counter.get_total_flops())


def encode_prompts(models: Models, device: torch.device, dtype: torch.dtype,
                   vocab: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(cond, uncond) embeddings (1, 77, D) per text encoder, from random token ids."""
    g = torch.Generator().manual_seed(0)
    out = []
    with torch.inference_mode():
        for enc in models.text_encoders:
            ids = torch.randint(0, vocab, (2, 77), generator=g).to(device)
            hidden = enc(ids).last_hidden_state.to(dtype)
            out.append((hidden[:1], hidden[1:]))
    return out


def decode(models: Models, latents: torch.Tensor, dtype: torch.dtype, chunk: int, device: torch.device) -> float:
    """VAE decode and vocoder on the decoded canvas, in chunks of ``chunk`` samples; returns the
    vocoder's seconds (timed apart, with the device synchronised around it)."""
    vocoder_s = 0.0
    with torch.inference_mode():
        for part in latents.split(chunk):
            image = models.vae.decode(part.to(dtype) / 0.18215, return_dict=False)[0]
            if models.vocoder is not None:
                mel = image.float().mean(dim=1)  # (b, 256, frames) stands in for the canvas
                sync(device)
                started = time.perf_counter()
                models.vocoder(mel.to(dtype))
                sync(device)
                vocoder_s += time.perf_counter() - started
    return vocoder_s


def video_seconds(latent_width: int, repeats: int = 3) -> float:
    """Seconds to write one sample's video.mp4 (CPU: libx264 and AAC through PyAV): a canvas of the
    latent's width × 8 columns and its sound, as generate writes them; the best of ``repeats``."""
    import tempfile

    import numpy as np

    from spectrocanvas.files.video import write_spectrogram_video

    columns = latent_width * 8
    picture = np.random.default_rng(0).integers(0, 256, (256, columns), dtype=np.uint8)
    sound = np.random.default_rng(1).standard_normal(columns * 160).astype(np.float32) * 0.1
    best = float("inf")
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(repeats):
            started = time.perf_counter()
            write_spectrogram_video(Path(folder) / "video.mp4", picture=picture, waveform=sound, sample_rate=16000)
            best = min(best, time.perf_counter() - started)
    return best


def paper_calls(steps: int, warm: int) -> int:
    """UNet calls (of batch 2B) for a schedule: both models after the warm start."""
    return 2 * steps - warm


def run_config(models: Models, mode: Mode, denoisers: tuple[Callable, Callable], batch: int,
               args: argparse.Namespace, device: torch.device, conds: list,
               calls_flop: float) -> Row:
    """Time one batch size: a 2-step warm-up, the schedule, decoding, and bare UNet calls."""
    audio, image = denoisers
    (a_c, a_u), (i_c, i_u) = conds

    def members(warm: int) -> list[Member]:
        return [Member(audio, a_c, a_u, guidance=10.0, weight=0.5, name="audio"),
                Member(image, i_c, i_u, guidance=10.0, weight=0.5, start=warm, name="image")]

    shape = (4, args.latent_height, args.latent_width)

    def generate(steps: int, warm: int) -> tuple[float, float]:
        latents = initial_latents(list(range(batch)), shape, device=device)
        scheduler = make_scheduler("ddim", SD15_SCHEDULE)
        sync(device)
        t0 = time.perf_counter()
        with sync_debug(device, args.sync_debug):
            out = compose_sample(latents, scheduler, members(warm), num_steps=steps)
        sync(device)
        t1 = time.perf_counter()
        vocoder_s = decode(models, out, mode.dtype, args.decode_batch, device)
        sync(device)
        return t1 - t0, time.perf_counter() - t1, vocoder_s

    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    generate(2, 1)  # warm-up: compilation, cuDNN autotuning, allocator
    denoise_s, decode_s, vocoder_s = generate(args.steps, args.warm_start)
    calls = paper_calls(args.steps, args.warm_start)
    per_call = denoise_s / calls
    full_calls = paper_calls(100, 10)

    # One bare UNet call at batch 2B, to separate the UNet's own efficiency from the loop's.
    x = torch.randn(2 * batch, *shape, device=device)
    cond = torch.cat([a_u.expand(batch, -1, -1), a_c.expand(batch, -1, -1)])
    t = torch.tensor(500, device=device)
    for _ in range(2):
        audio(x, t, cond)
    sync(device)
    t0 = time.perf_counter()
    for _ in range(args.unet_repeats):
        audio(x, t, cond)
    sync(device)
    unet_only = (time.perf_counter() - t0) / args.unet_repeats

    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    return Row(mode.name, batch, per_call * full_calls, decode_s, vocoder_s, full_calls * calls_flop * batch,
               unet_only, calls_flop * batch, peak)


# ---------------------------------------------------------------- report


def peak_tflops(device: torch.device, given: float | None) -> tuple[float | None, str]:
    if given:
        return given, f"{given:g} TFLOP/s (given)"
    if device.type != "cuda":
        return None, "n/a (CPU)"
    name = torch.cuda.get_device_name(device)
    for key, value in PEAK_BF16.items():
        if key in name:
            return value, f"{value:g} TFLOP/s dense bf16 ({key}, datasheet)"
    return None, f"unknown for {name}; pass --peak-tflops"


def run_time(rows: dict[int, Row], n: int, batch: int) -> float:
    """Seconds for ``n`` samples in batches of ``batch``; a remainder batch uses its measured
    time when that size was run, else the full batch's time (an upper bound)."""
    full, rest = divmod(n, batch)
    t = full * rows[batch].batch_s
    if rest:
        t += rows[rest].batch_s if rest in rows else rows[batch].batch_s
    return t


def table(rows: list[Row], peak: float | None) -> str:
    def pct(flop: float, s: float) -> str:
        return f"{100 * flop / s / 1e12 / peak:.0f}%" if peak else "n/a"

    lines = ["| mode | batch | s/sample | samples/min | denoise s/batch | decode s/batch | of it vocoder "
             "| UNet TFLOP/s in loop | % peak | bare UNet TFLOP/s | % peak | peak mem GiB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        mem = f"{r.peak_mem_gb:.1f}" if r.peak_mem_gb is not None else "n/a"
        loop_tf = r.unet_flop / r.denoise_s / 1e12
        bare_tf = r.call_flop / r.unet_only_s / 1e12
        lines.append(
            f"| {r.mode} | {r.batch} | {r.batch_s / r.batch:.3g} | {60 * r.batch / r.batch_s:.3g} "
            f"| {r.denoise_s:.3g} | {r.decode_s:.3g} | {r.vocoder_s:.3g} | {loop_tf:.3g} "
            f"| {pct(r.unet_flop, r.denoise_s)} "
            f"| {bare_tf:.3g} | {pct(r.call_flop, r.unet_only_s)} | {mem} |")
    return "\n".join(lines)


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--reduced", action="store_true",
                   help="tiny models, 4 steps, batches 1 and 2: proves the script works on CPU")
    p.add_argument("--flops-only", action="store_true",
                   help="count FLOPs of one full-size UNet call (batch 1) and exit")
    p.add_argument("--steps", type=int, default=None, help="DDIM steps to run (default 100)")
    p.add_argument("--warm-start", type=int, default=None,
                   help="steps with the audio model alone (default steps/10)")
    p.add_argument("--batch-sizes", default=None, help="comma-separated (default 1,4,8,16)")
    p.add_argument("--run-samples", type=int, default=100, help="size of the run to project")
    p.add_argument("--skip-official", action="store_true",
                   help="do not time the official pattern (one sample at a time, eager fp16)")
    p.add_argument("--dtype", choices=DTYPES, default=None, help="optimised dtype (default bf16)")
    p.add_argument("--official-dtype", choices=DTYPES, default=None, help="default fp16")
    p.add_argument("--compile", default="none",
                   choices=["none", "default", "reduce-overhead", "max-autotune",
                            "max-autotune-no-cudagraphs"], help="torch.compile mode for the UNets")
    p.add_argument("--no-channels-last", action="store_true")
    p.add_argument("--no-fuse-qkv", action="store_true")
    p.add_argument("--decode-batch", type=int, default=4, help="VAE decode chunk size")
    p.add_argument("--unet-repeats", type=int, default=None, help="bare UNet calls timed")
    p.add_argument("--peak-tflops", type=float, default=None,
                   help="device peak dense bf16 TFLOP/s (default from the device name)")
    p.add_argument("--sync-debug", action="store_true",
                   help="warn on each GPU→CPU sync inside the denoising loop")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for torch (default: torch's own; 1 with --reduced, where tiny "
                        "ops on shared cores run faster on one thread)")
    p.add_argument("--latent-width", type=int, default=None, help="default 128 (16 reduced)")
    p.add_argument("--no-video", action="store_true", help="skip timing video.mp4")
    args = p.parse_args(argv)
    cpu = args.device == "cpu"
    defaults = dict(steps=4 if args.reduced else 100, batch_sizes="1,2" if args.reduced else "1,4,8,16",
                    dtype="fp32" if cpu else "bf16", official_dtype="fp32" if cpu else "fp16",
                    unet_repeats=2 if args.reduced else 10, latent_width=16 if args.reduced else 128)
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.warm_start is None:
        args.warm_start = max(1, round(args.steps / 10)) if args.steps > 1 else 0
    args.latent_height = 8 if args.reduced else 32
    args.batch_sizes = sorted({int(b) for b in args.batch_sizes.split(",")})
    return args


def flops_only(device: torch.device, latent_width: int) -> None:
    from diffusers import UNet2DConditionModel

    with torch.device(device):
        unet = UNet2DConditionModel(**SD15_UNET).eval()
    x = torch.randn(1, 4, 32, latent_width, device=device)
    cond = torch.randn(1, 77, 768, device=device)
    t = torch.tensor(999, device=device)
    t0 = time.perf_counter()
    flop = count_flops(lambda: unet(x, t, encoder_hidden_states=cond), device)
    print(f"SD 1.5 UNet, batch 1, latent 4×32×{latent_width}, {device}: {flop / 1e12:.4f} TFLOP "
          f"per call ({time.perf_counter() - t0:.1f} s); paper schedule (190 calls of batch 2): "
          f"{flop * 2 * 190 / 1e12:.0f} TFLOP per sample")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    device = torch.device(args.device)
    threads = args.threads or (1 if args.reduced and device.type == "cpu" else None)
    if threads:
        torch.set_num_threads(threads)
    if args.flops_only:
        flops_only(device, args.latent_width)
        return
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True

    models = build_models(device, args.reduced)
    vocab = (TINY_TEXT if args.reduced else CLIP_L14_TEXT)["vocab_size"]
    peak, peak_note = peak_tflops(device, args.peak_tflops)
    modes = []
    if not args.skip_official:
        modes.append(Mode("official", DTYPES[args.official_dtype], False, False, "none"))
    modes.append(Mode("optimised", DTYPES[args.dtype], not args.no_channels_last,
                      not args.no_fuse_qkv, args.compile))

    rows: list[Row] = []
    by_mode: dict[str, dict[int, Row]] = {}
    text_s: dict[str, float] = {}
    for mode in modes:
        prepare(models, mode)
        sync(device)
        t0 = time.perf_counter()
        conds = encode_prompts(models, device, mode.dtype, vocab)
        sync(device)
        text_s[mode.name] = time.perf_counter() - t0
        shape = (4, args.latent_height, args.latent_width)
        x = torch.randn(2, *shape, device=device, dtype=mode.dtype)
        c = torch.cat([conds[0][1], conds[0][0]])
        call_flop = count_flops(lambda: models.audio_unet(x, torch.tensor(500, device=device),
                                                          encoder_hidden_states=c), device)
        sizes = [1] if mode.name == "official" else args.batch_sizes
        denoisers = (unet_denoiser(models.audio_unet, mode), unet_denoiser(models.image_unet, mode))
        for batch in sizes:
            row = run_config(models, mode, denoisers, batch, args, device, conds, call_flop)
            rows.append(row)
            by_mode.setdefault(mode.name, {})[batch] = row
            print(f"  measured {mode.name} batch {batch}: {row.batch_s / batch:.3f} s/sample",
                  flush=True)

    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "CPU"
    print(f"\n### Generation, {'reduced (tiny models)' if args.reduced else 'full-size'} — {gpu}\n")
    print(f"torch {torch.__version__}; latent 4×{args.latent_height}×{args.latent_width}; "
          f"UNet {call_flop / 2 / 1e12:.4g} TFLOP per sample per call (FlopCounterMode); "
          f"peak {peak_note}; {models.vocoder_note}.")
    extrap = args.steps != 100 or args.warm_start != 10
    print(f"Ran DDIM {args.steps} steps, warm start {args.warm_start} "
          f"({paper_calls(args.steps, args.warm_start)} UNet calls)"
          + ("; denoising time extrapolated per UNet call to the paper's 190 calls "
             "(100 steps, warm start 10)." if extrap else " — the paper's schedule, no extrapolation."))
    print(f"official: one sample at a time, eager {args.official_dtype}; optimised: {args.dtype}, SDPA, "
          f"channels_last {not args.no_channels_last}, fused QKV {not args.no_fuse_qkv}, "
          f"compile {args.compile}; VAE decode in chunks of {args.decode_batch}.\n")
    print(table(rows, peak))

    n = args.run_samples
    opt = by_mode["optimised"]
    best = max(opt, key=lambda b: n / run_time(opt, n, b))
    opt_s = run_time(opt, n, best) + text_s["optimised"]
    print(f"\n{n}-sample run: optimised (batch {best}) {opt_s / 60:.2f} min, "
          f"{60 * n / opt_s:.1f} samples/min", end="")
    if "official" in by_mode:
        off_s = n * by_mode["official"][1].batch_s + text_s["official"]
        print(f"; official {off_s / 60:.2f} min, {60 * n / off_s:.1f} samples/min; "
              f"speed-up {off_s / opt_s:.2f}×")
    else:
        print()
    one = opt[min(opt)]
    print(f"One sample at batch {one.batch}: {one.batch_s:.2f} s"
          + (f"; peak memory {one.peak_mem_gb:.2f} GiB" if one.peak_mem_gb is not None else "")
          + f". Text encoding (once per run): {text_s['optimised']:.3f} s.")
    if not args.no_video:
        print(f"video.mp4 of one sample (CPU, libx264 + AAC, {args.latent_width * 8} columns): "
              f"{video_seconds(args.latent_width):.2f} s")


if __name__ == "__main__":
    main()
