"""Fast Griffin-Lim (Perraudin et al. 2013, with momentum), pure torch and batched.

The canvas STFT reflect-pads the waveform by ``spec.padding`` per side and uses
``center=False`` with a Hann window of ``win_length`` centred in ``n_fft``. Each frame therefore
sees only ``win_length`` samples; phase retrieval runs on the free signal those frames cover
(the "support", ``(frames - 1) * hop + win_length`` samples) and the waveform is its middle part.

Work per iteration is kept small: frames hold ``win_length`` samples (not ``n_fft``), the
overlap-add is a handful of slice additions over a (frames, blocks, hop) view instead of
``F.fold``, spectra live in a (batch, frames, bins) layout so every FFT runs along contiguous
memory, and the magnitude projection uses real arithmetic (complex ``abs``/``div`` are slow on
CPU). The FFT of a window placed at the start of the ``n_fft`` buffer differs from the
centred one only by a linear phase, which leaves every magnitude unchanged, so the retrieval
works in that shifted frame throughout.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

from spectrocanvas.canvas.analysis import analysis_window
from spectrocanvas.canvas.spec import AUFFUSION, CanvasSpec


class _Frames:
    """Analysis and synthesis operators of the canvas STFT restricted to the window support."""

    def __init__(self, spec: CanvasSpec, n_frames: int, device, dtype) -> None:
        if spec.win_length < spec.hop_length:
            raise ValueError("Griffin-Lim needs win_length >= hop_length (frames must overlap or touch)")
        self.spec = spec
        self.n_frames = n_frames
        self.window = analysis_window(spec, device, dtype)
        self.blocks = math.ceil(spec.win_length / spec.hop_length)
        self.length = (n_frames - 1) * spec.hop_length + spec.win_length
        # The support starts at the first window sample of frame 0 in the padded signal.
        self.offset = spec.padding - (spec.n_fft - spec.win_length) // 2
        squares = self._frame_buffer(1, device, dtype)
        squares[..., : spec.win_length] = self.window.square()
        envelope = self._overlap_add_raw(squares)[0]
        tiny = 1e-8 * float(envelope.max())
        self.inverse_envelope = torch.where(envelope > tiny, 1.0 / envelope.clamp(min=tiny),
                                            torch.zeros_like(envelope))

    def _overlap_add_raw(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, T, blocks * hop) with zeros past ``win_length`` → (B, support length): the sum
        of the frames shifted by hop, as ``blocks`` slice additions over a (T, blocks, hop) view."""
        hop, blocks = self.spec.hop_length, self.blocks
        batch, n_frames = frames.shape[0], frames.shape[1]
        frames = frames.view(batch, n_frames, blocks, hop)
        out = frames.new_zeros(batch, n_frames + blocks - 1, hop)
        for j in range(blocks):
            out[:, j:j + n_frames] += frames[:, :, j]
        return out.view(batch, -1)[:, : self.length]

    def _frame_buffer(self, batch: int, device, dtype) -> torch.Tensor:
        return torch.zeros(batch, self.n_frames, self.blocks * self.spec.hop_length, device=device, dtype=dtype)

    def synthesis(self, spectrum: torch.Tensor, buffer: torch.Tensor | None = None) -> torch.Tensor:
        """Least-squares inverse STFT: (B, T, n_fft // 2 + 1) complex → (B, support length).

        ``buffer``: optional (B, T, blocks * hop) scratch tensor whose tail past ``win_length``
        is zero (see :meth:`_frame_buffer`); reusing it saves an allocation per call.
        """
        frames = torch.fft.irfft(spectrum, n=self.spec.n_fft, dim=-1)[..., : self.spec.win_length]
        if buffer is None:
            buffer = self._frame_buffer(spectrum.shape[0], frames.device, frames.dtype)
        torch.mul(frames, self.window, out=buffer[..., : self.spec.win_length])
        return self._overlap_add_raw(buffer) * self.inverse_envelope

    def analysis(self, signal: torch.Tensor, buffer: torch.Tensor | None = None) -> torch.Tensor:
        """(B, support length) → (B, T, n_fft // 2 + 1) complex (window at the buffer's start).

        ``buffer``: optional (B, T, n_fft) scratch tensor whose tail past ``win_length`` is zero;
        reusing it saves zero-padding every frame on every call.
        """
        frames = signal.unfold(-1, self.spec.win_length, self.spec.hop_length)
        if buffer is None:
            return torch.fft.rfft(frames * self.window, n=self.spec.n_fft, dim=-1)
        torch.mul(frames, self.window, out=buffer[..., : self.spec.win_length])
        return torch.fft.rfft(buffer, dim=-1)

    def window_frames(self, signal: torch.Tensor, buffer: torch.Tensor) -> torch.Tensor:
        """The windowed frames of ``signal`` written into ``buffer`` (B, T, n_fft; tail past
        ``win_length`` zero), ready for an rfft; returns ``buffer``."""
        frames = signal.unfold(-1, self.spec.win_length, self.spec.hop_length)
        torch.mul(frames, self.window, out=buffer[..., : self.spec.win_length])
        return buffer

    def reflect(self, signal: torch.Tensor) -> torch.Tensor:
        """Replace the support outside the waveform by its reflection, as the canvas STFT pads.

        (B, support length) → (B, support length); unchanged where the waveform is too short
        to reflect.
        """
        waveform = self.waveform(signal)
        if waveform.shape[-1] <= self.spec.padding:
            return signal
        padded = F.pad(waveform[:, None], (self.spec.padding, self.spec.padding), mode="reflect")[:, 0]
        start = (self.spec.n_fft - self.spec.win_length) // 2
        return padded[:, start: start + self.length]

    def waveform(self, signal: torch.Tensor) -> torch.Tensor:
        """The canvas waveform inside the support: (B, support length) → (B, T * hop)."""
        return signal[:, self.offset: self.offset + self.n_frames * self.spec.hop_length]


def _project(spectrum: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Keep the phase of ``spectrum`` and set its magnitude to ``target`` (real arithmetic)."""
    pairs = torch.view_as_real(spectrum)
    real, imag = pairs[..., 0], pairs[..., 1]
    power = torch.addcmul(real * real, imag, imag)
    return spectrum * (target * torch.rsqrt(power + 1e-30))


def griffin_lim(
    linear_magnitude: torch.Tensor,
    spec: CanvasSpec = AUFFUSION,
    *,
    iterations: int = 32,
    momentum: float = 0.99,
    generator: torch.Generator | None = None,
    callback: Callable[[int], None] | None = None,
    reflect: bool = True,
    initial: torch.Tensor | None = None,
) -> torch.Tensor:
    """Phase retrieval from a linear magnitude.

    linear_magnitude: (..., n_fft // 2 + 1, frames) → waveform (..., frames * hop).
    Phase starts random (from ``generator``, on the CPU, so results do not depend on device).
    ``reflect``: after each overlap-add, replace the signal outside the waveform by the
    waveform's reflection, as the canvas STFT pads it, so edge frames are analysed as they will
    be when the result is re-analysed. ``callback(step)`` runs after each iteration.
    ``initial``: a waveform (..., frames * hop) whose phase starts the iterations instead of a
    random one (a warm start, e.g. from additive synthesis).
    """
    batch_shape = linear_magnitude.shape[:-2]
    n_bins, n_frames = linear_magnitude.shape[-2:]
    if n_bins != spec.n_fft // 2 + 1:
        raise ValueError(f"expected {spec.n_fft // 2 + 1} frequency bins, got {n_bins}")
    target = linear_magnitude.reshape(-1, n_bins, n_frames).transpose(-1, -2).contiguous()
    device, dtype = target.device, target.dtype
    ops = _Frames(spec, n_frames, device, dtype)

    if initial is None:
        phase = torch.rand(target.shape, generator=generator, dtype=dtype).to(device) * (2 * torch.pi)
        spectrum = torch.polar(target, phase)
    else:
        start = (spec.n_fft - spec.win_length) // 2
        padded = F.pad(initial.reshape(-1, 1, initial.shape[-1]).to(device, dtype), (spec.padding, spec.padding),
                       mode="reflect")[:, 0]
        spectrum = _project(ops.analysis(padded[:, start: start + ops.length]), target)
    previous = None
    blend = momentum / (1.0 + momentum)
    synthesis_buffer = ops._frame_buffer(target.shape[0], device, dtype)
    analysis_buffer = torch.zeros(target.shape[0], n_frames, spec.n_fft, device=device, dtype=dtype)
    for step in range(iterations):
        signal = ops.synthesis(spectrum, synthesis_buffer)
        if reflect:
            signal = ops.reflect(signal)
        rebuilt = ops.analysis(signal, analysis_buffer)
        accelerated = rebuilt
        if previous is not None:  # rebuilt - blend * previous, on the real view (faster)
            accelerated = torch.view_as_complex(
                torch.add(torch.view_as_real(rebuilt), torch.view_as_real(previous), alpha=-blend))
        spectrum = _project(accelerated, target)
        previous = rebuilt
        if callback is not None:
            callback(step)
    waveform = ops.waveform(ops.synthesis(spectrum))
    return waveform.reshape(*batch_shape, waveform.shape[-1])
