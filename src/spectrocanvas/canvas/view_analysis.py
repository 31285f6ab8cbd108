"""Sound → picture in any view (mel canvas, linear, log), in blocks of columns so long sounds fit in memory.

Each block's STFT frames are cut from the once-padded waveform, so the blocks join into exactly the
columns one STFT over the whole sound would give; peak memory follows the block, not the sound.
"""

from __future__ import annotations

from typing import Union

import torch
import torch.nn.functional as F

from spectrocanvas.canvas.analysis import analysis_window, audio_to_canvas, linear_to_mel, mel_to_canvas
from spectrocanvas.canvas.spec import CanvasSpec
from spectrocanvas.canvas.views import ViewSpec, filterbank, rows_to_picture

AnySpec = Union[CanvasSpec, ViewSpec]
BLOCK_SAMPLES = 1 << 22
"""STFT samples analysed at once: 2048 columns at n_fft 2048, 512 at 8192."""


def block_frames_of(spec: "AnySpec") -> int:
    """Columns analysed at once for a view."""
    return max(256, BLOCK_SAMPLES // stft_of(spec).n_fft)


def stft_of(spec: AnySpec) -> CanvasSpec:
    """The STFT settings (canvas convention) of a mel canvas or a view."""
    return spec if isinstance(spec, CanvasSpec) else spec.stft_spec()


def _magnitude_block(padded: torch.Tensor, start: int, end: int, stft: CanvasSpec) -> torch.Tensor:
    """STFT magnitude of columns [start, end) of the padded waveform (..., samples) → (..., bins, end - start)."""
    segment = padded[..., start * stft.hop_length: (end - 1) * stft.hop_length + stft.n_fft]
    flat = segment.reshape(-1, segment.shape[-1])
    spectrum = torch.stft(flat, n_fft=stft.n_fft, hop_length=stft.hop_length, win_length=stft.win_length,
                          window=analysis_window(stft, flat.device, flat.dtype), center=False, return_complex=True)
    power = torch.view_as_real(spectrum).square().sum(-1)
    return torch.sqrt(power + stft.magnitude_eps).reshape(*segment.shape[:-1], *spectrum.shape[-2:])


def _rows_to_picture(magnitude: torch.Tensor, spec: AnySpec) -> torch.Tensor:
    if isinstance(spec, CanvasSpec):
        return mel_to_canvas(linear_to_mel(magnitude, spec), spec)
    return rows_to_picture(filterbank(spec, magnitude.device, magnitude.dtype) @ magnitude, spec)


def analyse(waveform: torch.Tensor, spec: AnySpec, *, block_frames: int | None = None) -> torch.Tensor:
    """Waveform (..., samples) at ``spec.sample_rate`` → picture (..., height, samples // hop) in [0, 1].

    ``block_frames``: columns analysed at once (default :func:`block_frames_of`). A mel canvas no
    longer than one block is :func:`audio_to_canvas` itself (the same bytes).
    """
    stft = stft_of(spec)
    block_frames = block_frames or block_frames_of(spec)
    frames = waveform.shape[-1] // stft.hop_length
    if isinstance(spec, CanvasSpec) and frames <= block_frames:
        return audio_to_canvas(waveform, spec)
    if waveform.shape[-1] <= stft.padding or frames < 1:
        raise ValueError(f"waveform of {waveform.shape[-1]} samples is too short for the view")
    flat = waveform.reshape(-1, 1, waveform.shape[-1])
    padded = F.pad(flat, (stft.padding, stft.padding), mode="reflect")[:, 0].reshape(
        *waveform.shape[:-1], -1)
    blocks = [_rows_to_picture(_magnitude_block(padded, start, min(start + block_frames, frames), stft), spec)
              for start in range(0, frames, block_frames)]
    return torch.cat(blocks, dim=-1)
