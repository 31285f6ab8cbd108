"""Audio files: read anything soundfile reads (resampled to the canvas rate, mono); write WAV.

WAVs are written as 32-bit float at the canvas's absolute level: the canvas spans about
143 dB (mel magnitude 1e-5 … 200) and 16-bit PCM holds about 96 dB, so a 16-bit file loses
the darkest parts of a picture (see BENCHMARKS.md, "WAV sample format").
"""

from __future__ import annotations

import struct
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile
import soxr
import torch

from spectrocanvas.errors import SpectrocanvasError, require_file

WAV_SUBTYPE = "FLOAT"


class AudioError(SpectrocanvasError):
    """An audio file that cannot be used."""


@dataclass(frozen=True)
class AudioSource:
    """What was read from an audio file, before resampling."""

    path: str
    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate

    def describe(self) -> dict:
        return {**asdict(self), "seconds": self.seconds}


def read_audio(path: str | Path, *, sample_rate: int | None) -> tuple[torch.Tensor, AudioSource]:
    """Read an audio file as mono float32 at ``sample_rate`` (None: the file's own rate): (samples,)
    and its description (which holds the file's rate)."""
    path = Path(path)
    require_file(path, "audio file", AudioError)
    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        info = soundfile.info(str(path))
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as error:
        raise AudioError(f"'{path}' is not an audio file this tool can read ({error})") from None
    if data.shape[0] == 0:
        raise AudioError(f"audio file '{path}' holds no samples")
    if not np.isfinite(data).all():
        raise AudioError(f"audio file '{path}' holds NaN or infinite samples")
    source = AudioSource(path=str(path), sample_rate=int(rate), channels=int(data.shape[1]),
                         frames=int(data.shape[0]), format=info.format, subtype=info.subtype)
    mono = data.mean(axis=1)
    if sample_rate is not None and rate != sample_rate:
        mono = soxr.resample(mono, rate, sample_rate, quality="VHQ").astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(mono)), source


def fit_length(waveform: torch.Tensor, samples: int) -> tuple[torch.Tensor, str]:
    """Cut or zero-pad the last axis to ``samples``; says which ('cut', 'padded', 'exact')."""
    length = waveform.shape[-1]
    if length > samples:
        return waveform[..., :samples], "cut"
    if length < samples:
        return torch.nn.functional.pad(waveform, (0, samples - length)), "padded"
    return waveform, "exact"


def write_wav(path: str | Path, waveform: torch.Tensor, *, sample_rate: int) -> None:
    """Write a mono waveform (samples,) as 32-bit float WAV at its absolute level.

    The file is the plain IEEE-float layout (fmt, fact, data chunks) and depends on the samples
    alone: libsndfile would add a PEAK chunk stamped with the time of writing, so the same sound
    written twice would differ.
    """
    samples = waveform.detach().float().cpu().numpy().astype("<f4").reshape(-1)
    data = samples.tobytes()
    fmt = struct.pack("<HHIIHHH", 3, 1, sample_rate, sample_rate * 4, 4, 32, 0)  # IEEE float, mono, cbSize 0
    chunks = (b"fmt " + struct.pack("<I", len(fmt)) + fmt
              + b"fact" + struct.pack("<II", 4, len(samples))
              + b"data" + struct.pack("<I", len(data)) + data)
    Path(path).write_bytes(b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks)
