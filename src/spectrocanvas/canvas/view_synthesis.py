"""Picture → sound in any view (mel canvas, linear, log): Griffin-Lim or additive synthesis, in blocks.

- **Griffin-Lim** (``griffinlim``): the rows are inverted to an STFT magnitude (pseudo-inverse and
  NNLS updates, as the mel inversion), then fast Griffin-Lim finds a phase.
- **Rows** (``rows``, the default for linear and log): fast Griffin-Lim whose magnitude step
  rescales each bin by its rows' target/current ratio, started from additive synthesis; what
  converges is the view itself, not a least-squares guess of the spectrum.
- **Additive** (the spectrographic/Coagula method, calibrated): one sinusoid per row at the row's
  centre frequency, random phase from the seed, whose envelope is the row, scaled so that the
  view reads a lone sinusoid back at the row's level. A row narrower than an FFT bin stays
  exactly at its own frequency.
- **Blocks**: long pictures are made in blocks of columns with context on both sides, cross-faded
  over a few columns, so peak memory follows the block, not the length.
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import Callable

import torch
import torch.nn.functional as F

from spectrocanvas.canvas.analysis import canvas_to_mel, mel_to_linear
from spectrocanvas.canvas.analysis import filterbank as mel_filterbank_of
from spectrocanvas.canvas.griffinlim import _Frames, griffin_lim
from spectrocanvas.canvas.mel import hz_to_mel, mel_to_hz
from spectrocanvas.canvas.spec import CanvasSpec
from spectrocanvas.canvas.view_analysis import AnySpec, stft_of
from spectrocanvas.canvas.view_names import METHODS
from spectrocanvas.canvas.views import ViewSpec, filterbank, picture_to_rows, rows_to_linear

DEFAULT_METHOD = {"mel": "griffinlim", "linear": "rows", "log": "rows"}
"""Chosen on measurements (BENCHMARKS.md, "Viewer scales"); mel keeps the vocoder it always had."""
DEFAULT_ITERATIONS = {"mel": 32, "linear": 8, "log": 14}
"""Iterations per scale when unset: where the rows method's SSIM has nearly stopped rising
(linear: 0.9927 at 8, 0.9949 at 32; log on astronaut: 0.8119 at 14, 0.8145 at 16, 0.833 at 32).
Log takes 14, not 16, for time (1/5 of librosa's): at 14 all 8 benchmark photographs still read
above librosa's 32 iterations by 0.0047 or more (BENCHMARKS.md, "Viewer scales"); at 12 one was
0.0004 above."""


def scale_of(spec: "AnySpec") -> str:
    """mel, linear or log."""
    return "mel" if isinstance(spec, CanvasSpec) else spec.scale


def _bank(spec: AnySpec) -> torch.Tensor:
    return mel_filterbank_of(spec) if isinstance(spec, CanvasSpec) else filterbank(spec)


def row_centres(spec: AnySpec) -> torch.Tensor:
    """Centre frequency of every row, low rows first, float64 (height,)."""
    if isinstance(spec, ViewSpec):
        return spec.centres()
    low, high = hz_to_mel(torch.tensor([spec.f_min, spec.f_max], dtype=torch.float64))
    return mel_to_hz(torch.linspace(float(low), float(high), spec.n_mels + 2, dtype=torch.float64))[1:-1]


def picture_rows(picture: torch.Tensor, spec: AnySpec) -> torch.Tensor:
    """Picture (..., height, frames) → row magnitudes (..., height, frames), low rows first."""
    return canvas_to_mel(picture, spec) if isinstance(spec, CanvasSpec) else picture_to_rows(picture, spec)


@functools.lru_cache(maxsize=16)
def _row_response(spec: AnySpec) -> torch.Tensor:
    """What each row reads for a sinusoid of amplitude 1 at its centre (height,), float64."""
    stft = stft_of(spec)
    window = torch.zeros(stft.n_fft, dtype=torch.float64)
    start = (stft.n_fft - stft.win_length) // 2
    window[start: start + stft.win_length] = torch.hann_window(stft.win_length, periodic=True, dtype=torch.float64)
    time = torch.arange(stft.n_fft, dtype=torch.float64) / stft.sample_rate
    tones = torch.cos(2 * math.pi * row_centres(spec)[:, None] * time[None, :]) * window
    magnitude = torch.fft.rfft(tones, dim=-1).abs()
    return (_bank(spec).double() * magnitude).sum(-1).clamp(min=1e-12)


def additive(picture: torch.Tensor, spec: AnySpec, *, seed: int = 0, block_columns: int = 16,
             first_sample: int = 0) -> torch.Tensor:
    """One sinusoid per row with the row as envelope: picture (B, height, frames) → (B, frames · hop).

    Column j's value is the envelope at the middle of its frame (sample j·hop + hop/2) and is
    interpolated linearly between columns (held before the first middle and after the last);
    phases are random from ``seed`` (CPU generator). ``first_sample``: where the picture starts in
    a longer sound (the oscillators' phase runs on from sample 0, so blocks of one sound made apart
    join without a jump). Made ``block_columns`` columns at a time: per column, the envelope's two
    ends times the block's oscillators, as batched matrix products.
    """
    stft = stft_of(spec)
    hop, rate = stft.hop_length, stft.sample_rate
    half = hop // 2
    amplitude = (picture_rows(picture.double(), spec) / _row_response(spec)[:, None]).to(picture.dtype)
    batch, height, frames = amplitude.shape
    generator = torch.Generator().manual_seed(seed)
    phase0 = torch.rand(height, generator=generator, dtype=torch.float64)
    cycles = row_centres(spec) / rate  # cycles per sample, float64
    length = frames * hop
    out = torch.empty(batch, length, dtype=picture.dtype)
    span = max(min(block_columns, frames - 1) * hop, hop)
    # cos(θ_block + ω k) = cos θ_block · cos ω k − sin θ_block · sin ω k: one table per row for every block
    steps = torch.remainder(cycles[:, None] * torch.arange(span, dtype=torch.float64)[None, :], 1.0)
    angles = ((2 * math.pi) * steps).to(picture.dtype)  # reduced in float64, so float32 keeps the phase exact
    table_cos, table_sin = torch.cos(angles), torch.sin(angles)

    def oscillators(start: int, size: int) -> torch.Tensor:
        """(height, size): every row's sinusoid over samples [start, start + size)."""
        turns = torch.remainder(cycles * (start + first_sample) + phase0, 1.0) * (2 * math.pi)
        return (torch.cos(turns).to(picture.dtype)[:, None] * table_cos[:, :size]
                - torch.sin(turns).to(picture.dtype)[:, None] * table_sin[:, :size])

    ramp = torch.arange(hop, dtype=picture.dtype) / hop
    columns = amplitude.permute(2, 0, 1)  # (frames, B, height)
    per_block = span // hop
    # the tables cut into columns: (per_block, height, hop); a block's rotation goes into its amplitudes
    cos_columns = table_cos[:, : per_block * hop].reshape(height, per_block, hop).permute(1, 0, 2).contiguous()
    sin_columns = table_sin[:, : per_block * hop].reshape(height, per_block, hop).permute(1, 0, 2).contiguous()
    for first in range(0, frames - 1, block_columns):
        last = min(first + block_columns, frames - 1)  # pairs (j, j + 1) for j in [first, last)
        count = last - first
        start = first * hop + half
        turns = torch.remainder(cycles * (start + first_sample) + phase0, 1.0) * (2 * math.pi)
        ends = torch.cat([columns[first:last], columns[first + 1: last + 1] - columns[first:last]], dim=1)
        both = (torch.bmm(ends * torch.cos(turns).to(picture.dtype), cos_columns[:count])
                - torch.bmm(ends * torch.sin(turns).to(picture.dtype), sin_columns[:count]))  # (count, 2B, hop)
        piece = both[:, :batch] + both[:, batch:] * ramp
        out[:, start: start + count * hop] = piece.permute(1, 0, 2).reshape(batch, count * hop)
    # before the first column's middle and after the last one's, the envelope is held
    if half:
        out[:, :half] = amplitude[..., 0] @ oscillators(0, half)
    tail = (frames - 1) * hop + half
    out[:, tail:] = amplitude[..., -1] @ oscillators(tail, length - tail)
    return out


def griffin_lim_picture(picture: torch.Tensor, spec: AnySpec, *, iterations: int = 32, momentum: float = 0.99,
                        seed: int = 0, callback: Callable[[int], None] | None = None,
                        initial: torch.Tensor | None = None) -> torch.Tensor:
    """Rows → STFT magnitude → fast Griffin-Lim: picture (B, height, frames) → (B, frames · hop).
    ``initial``: a waveform (B, frames · hop) whose phase starts the iterations (default: random)."""
    if isinstance(spec, CanvasSpec):
        linear = mel_to_linear(canvas_to_mel(picture, spec), spec, iterations=10)
    else:
        linear = rows_to_linear(picture_to_rows(picture, spec), spec, iterations=10)
    return griffin_lim(linear, stft_of(spec), iterations=iterations, momentum=momentum,
                       generator=torch.Generator().manual_seed(seed), callback=callback, initial=initial)


def block_frames_for(spec: AnySpec) -> int:
    """Columns per block: 1024 (a 10-s picture) up to n_fft 4096, then fewer (512 at the log view's 8192),
    so a block's Griffin-Lim buffers stay near 2²² STFT samples and a long sound costs per second what
    its 10-s pieces cost (4096-column blocks spilled the caches: 1.22× the time per second)."""
    return max(128, min(1024, (1 << 22) // stft_of(spec).n_fft))


def block_edges(frames: int, block: int, context: int) -> list[tuple[int, int]]:
    """The blocks [begin, finish) of a picture of ``frames`` columns: ``block`` columns each, a short
    remainder (under 2 · context columns) joined to the block before it; one block when the picture
    is no wider than ``block + 2 · context``."""
    if frames <= block + 2 * context:
        return [(0, frames)]
    starts = list(range(0, frames, block))
    if len(starts) > 1 and frames - starts[-1] < 2 * context:
        starts.pop()
    return [(begin, starts[i + 1] if i + 1 < len(starts) else frames) for i, begin in enumerate(starts)]


def block_count(frames: int, spec: AnySpec, method: str) -> int:
    """How many blocks :func:`reconstruct` renders a picture of ``frames`` columns in."""
    if method == "additive":
        return 1
    stft = stft_of(spec)
    return len(block_edges(frames, block_frames_for(spec), math.ceil(stft.n_fft / stft.hop_length) + 8))


def blockwise(render: Callable[[int, int], torch.Tensor], *, frames: int, hop: int, block: int, context: int,
              fade: int) -> torch.Tensor:
    """Join ``render(start, end)`` → (B, (end − start) · hop) over the blocks of :func:`block_edges`.

    Each block is rendered with ``context`` extra columns on both sides and cross-faded linearly
    with its neighbours over ``2 · fade`` columns around each join (fade ≤ context). A picture no
    wider than ``block + 2 · context`` is rendered in one call.
    """
    edges = block_edges(frames, block, context)
    if len(edges) == 1:
        return render(0, frames)
    fade = min(fade, context)
    out: torch.Tensor | None = None
    for begin, finish in edges:
        lo, hi = max(0, begin - context), min(frames, finish + context)
        wave = render(lo, hi)
        keep_lo, keep_hi = max(0, begin - fade), min(frames, finish + fade)
        piece = wave[..., (keep_lo - lo) * hop: (keep_hi - lo) * hop].clone()
        if out is None:
            out = wave.new_zeros(*wave.shape[:-1], frames * hop)
        if begin > 0:  # fade in over [begin − fade, begin + fade)
            ramp = torch.linspace(0, 1, 2 * fade * hop + 2, dtype=wave.dtype)[1:-1]
            piece[..., : 2 * fade * hop] *= ramp
        if finish < frames:  # fade out over [finish − fade, finish + fade)
            ramp = torch.linspace(1, 0, 2 * fade * hop + 2, dtype=wave.dtype)[1:-1]
            piece[..., -2 * fade * hop:] *= ramp
        out[..., keep_lo * hop: keep_hi * hop] += piece
    assert out is not None
    return out


def reconstruct(picture: torch.Tensor, spec: AnySpec, *, method: str | None = None, iterations: int | None = None,
                seed: int = 0, callback: Callable[[int], None] | None = None) -> torch.Tensor:
    """Picture (B, height, frames) → waveform (B, frames · hop) by ``method`` (one of :data:`METHODS`;
    default per scale) with ``iterations`` (default per scale), in blocks of columns when the picture
    is long (see :func:`blockwise`)."""
    method = method or DEFAULT_METHOD[scale_of(spec)]
    iterations = DEFAULT_ITERATIONS[scale_of(spec)] if iterations is None else iterations
    if method not in METHODS:
        raise ValueError(f"unknown reconstruction method '{method}'")
    stft = stft_of(spec)
    if method == "additive":
        return additive(picture, spec, seed=seed)
    context = math.ceil(stft.n_fft / stft.hop_length) + 8
    frames = picture.shape[-1]
    calls = [0]

    def render(start: int, end: int) -> torch.Tensor:
        calls[0] += 1
        if method == "rows":  # one additive seed for all blocks: their starting points join coherently
            initial = additive(picture[..., start:end], spec, seed=seed, first_sample=start * stft.hop_length)
            return row_griffin_lim(picture[..., start:end], spec, iterations=iterations, initial=initial,
                                   callback=callback)
        return griffin_lim_picture(picture[..., start:end], spec, iterations=iterations, seed=seed + calls[0] - 1,
                                   callback=callback)

    return blockwise(render, frames=frames, hop=stft.hop_length, block=block_frames_for(spec), context=context,
                     fade=4)


def row_griffin_lim(picture: torch.Tensor, spec: AnySpec, *, iterations: int = 32, momentum: float = 0.99,
                    initial: torch.Tensor | None = None, seed: int = 0,
                    callback: Callable[[int], None] | None = None) -> torch.Tensor:
    """Griffin-Lim whose magnitude step matches the rows, not an inverted spectrum.

    picture (B, height, frames) → (B, frames · hop). Each iteration rescales every bin of the
    current STFT by the mean ratio (target row / current row) of the rows it feeds, then
    projects and re-synthesises (fast Griffin-Lim's momentum), so the view of the result, not a
    least-squares guess of the spectrum, is what converges. Starts from ``initial`` (a waveform)
    or from additive synthesis.
    """
    stft = stft_of(spec)
    bank_csr, spread_t_csr = _sparse_banks(spec, picture.device, picture.dtype)
    target_rows = picture_rows(picture, spec).reshape(-1, *picture.shape[-2:])  # (B, height, T)
    floor = float(target_rows.min()) * 1e-3 + 1e-12
    if initial is None:
        initial = additive(picture, spec, seed=seed)
    ops = _Frames(stft, picture.shape[-1], picture.device, picture.dtype)
    start = (stft.n_fft - stft.win_length) // 2
    padded = F.pad(initial.reshape(-1, 1, initial.shape[-1]), (stft.padding, stft.padding), mode="reflect")[:, 0]
    signal = padded[:, start: start + ops.length]
    blend = momentum / (1.0 + momentum)
    batch, frames, bins = signal.shape[0], picture.shape[-1], stft.n_fft // 2 + 1
    # every buffer made once: fresh large tensors cost page faults on every iteration
    analysis_buffer = torch.zeros(batch, frames, stft.n_fft, device=picture.device, dtype=picture.dtype)
    synthesis_buffer = ops._frame_buffer(batch, picture.device, picture.dtype)
    rebuilt = torch.empty(batch, frames, bins, device=picture.device,
                          dtype=torch.complex64 if picture.dtype == torch.float32 else torch.complex128)
    previous = torch.empty_like(rebuilt)
    magnitude = torch.empty(batch, frames, bins, device=picture.device, dtype=picture.dtype)
    power = torch.empty_like(magnitude)
    for step in range(iterations):
        torch.fft.rfft(ops.window_frames(signal, analysis_buffer), dim=-1, out=rebuilt)
        pairs = torch.view_as_real(rebuilt)
        torch.mul(pairs[..., 0], pairs[..., 0], out=magnitude)
        magnitude.addcmul_(pairs[..., 1], pairs[..., 1]).sqrt_()
        for b in range(batch):  # the rows each frame reads, and per bin the mean ratio target / read of its rows
            read = (bank_csr @ magnitude[b].transpose(0, 1)).clamp_(min=floor)  # (height, T)
            magnitude[b].mul_((spread_t_csr @ torch.div(target_rows[b], read, out=read)).transpose(0, 1))
        # fast Griffin-Lim: accelerated = rebuilt − blend · previous, projected onto the new magnitude
        accelerated = torch.view_as_real(previous)
        if step:
            torch.add(pairs, accelerated, alpha=-blend, out=accelerated)
        else:
            accelerated.copy_(pairs)
        torch.mul(accelerated[..., 0], accelerated[..., 0], out=power)
        power.addcmul_(accelerated[..., 1], accelerated[..., 1]).add_(1e-30).rsqrt_().mul_(magnitude)
        accelerated.mul_(power[..., None])
        signal = ops.reflect(ops.synthesis(previous, synthesis_buffer))
        rebuilt, previous = previous, rebuilt  # previous ← this iteration's rebuilt spectrum
        if callback is not None:
            callback(step)
    return ops.waveform(signal)


@functools.lru_cache(maxsize=8)
def _sparse_banks_cpu(spec: AnySpec, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    bank = _bank(spec).to(dtype)  # (height, bins); each bin feeds a few rows only
    spread = bank / bank.sum(0, keepdim=True).clamp(min=1e-12)  # bin ← its rows, weights sum to 1
    with warnings.catch_warnings():  # torch warns that sparse CSR is a beta feature; only CSR @ dense is used
        warnings.simplefilter("ignore", UserWarning)
        return bank.to_sparse_csr(), spread.transpose(0, 1).contiguous().to_sparse_csr()


def _sparse_banks(spec: AnySpec, device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """The view's row weights (height, bins) and the bins' row-mean weights, transposed (bins, height),
    as sparse CSR matrices: a dense product spends most of its work on zeros (a log view's bank is
    0.8 % non-zero)."""
    bank, spread_t = _sparse_banks_cpu(spec, dtype)
    return bank.to(device), spread_t.to(device)
