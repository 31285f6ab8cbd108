"""Audio files: read anything soundfile reads (resampled to the canvas rate, mono); write WAV or FLAC.

What a user keeps is brought to a stated peak (−1 dBFS unless told otherwise; the gain is recorded)
and written as 32-bit float WAV by default: the canvas spans about 143 dB (mel magnitude
1e-5 … 200) and 16-bit PCM holds about 96 dB, so a 16-bit file loses the darkest parts of a
picture (see BENCHMARKS.md, "WAV sample format"). 24-bit and 16-bit (TPDF-dithered) WAV and
24-bit FLAC are there for tools that want them; any output rate is made with soxr.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
import soxr
import torch

from spectrocanvas.canvas.levels import DEFAULT_PEAK_DB, PEAK_DB_RANGE, gain_to_db, peak, peak_gain, rms
from spectrocanvas.errors import SpectrocanvasError, require_file, write_failure

WAV_SUBTYPE = "FLOAT"
AUDIO_FORMATS = {
    "float": ("WAV", "FLOAT", "wav"),
    "pcm24": ("WAV", "PCM_24", "wav"),
    "pcm16": ("WAV", "PCM_16", "wav"),
    "flac": ("FLAC", "PCM_24", "flac"),
}
"""--audio-format → (container, sample format, file extension)."""
OUTPUT_RATES = (8000, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000)
DITHER_SEED = 0
MAX_DECODED_SAMPLES = 1 << 28
"""Frames × channels a recording may decode to (1 GiB of float32; 46 minutes of 48 kHz stereo)."""
DECODE_BLOCK = 1 << 20
"""16-bit files are dithered with the same noise every time, so a sound written twice is the same file."""


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


@contextmanager
def _decoder_notes_hidden() -> Iterator[None]:
    """Send what C decoders print on stderr while reading (mpg123's "Note: Illegal Audio-MPEG-Header"
    lines for a corrupt file) to /dev/null: the one-line error says what went wrong."""
    try:
        saved, quiet = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    except OSError:
        yield
        return
    os.dup2(quiet, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(quiet)


def _decode(path: Path) -> tuple[np.ndarray, int]:
    """All frames (frames, channels) float32 and the rate. A header that claims more than
    :data:`MAX_DECODED_SAMPLES` (a corrupt MP3's frame count can claim billions) is not trusted:
    the data is read in blocks, and only data that really goes past the limit is refused."""
    with soundfile.SoundFile(str(path)) as sound:
        if sound.frames * sound.channels <= MAX_DECODED_SAMPLES:
            return sound.read(dtype="float32", always_2d=True), sound.samplerate
        blocks, total = [], 0
        while block := len(chunk := sound.read(DECODE_BLOCK, dtype="float32", always_2d=True)):
            blocks.append(chunk)
            total += block * sound.channels
            if total > MAX_DECODED_SAMPLES:
                raise AudioError(f"audio file '{path}' decodes to more than {MAX_DECODED_SAMPLES:,} samples; "
                                 "cut it shorter first")
        if not blocks:
            return np.zeros((0, sound.channels), dtype=np.float32), sound.samplerate
        return np.concatenate(blocks), sound.samplerate


def read_audio(path: str | Path, *, sample_rate: int | None,
               keep_channels: bool = False) -> tuple[torch.Tensor, AudioSource]:
    """Read an audio file as mono float32 at ``sample_rate`` (None: the file's own rate): (samples,)
    and its description (which holds the file's rate). ``keep_channels``: (channels, samples) instead."""
    path = Path(path)
    require_file(path, "audio file", AudioError)
    try:
        with _decoder_notes_hidden():
            data, rate = _decode(path)
            info = soundfile.info(str(path))
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as error:
        detail = str(error)
        if "possibly a pipe" in detail or "Format not recognised" in detail or "Error opening" in detail:
            detail = "unrecognised or corrupt data; WAV, FLAC, OGG, MP3, AIFF and the other formats libsndfile reads work"
        raise AudioError(f"'{path}' is not an audio file this tool can read ({detail})") from None
    if data.shape[0] == 0:
        raise AudioError(f"audio file '{path}' holds no samples")
    if not np.isfinite(data).all():
        raise AudioError(f"audio file '{path}' holds NaN or infinite samples")
    source = AudioSource(path=str(path), sample_rate=int(rate), channels=int(data.shape[1]),
                         frames=int(data.shape[0]), format=info.format, subtype=info.subtype)
    if keep_channels:
        if sample_rate is not None and rate != sample_rate:
            data = soxr.resample(data, rate, sample_rate, quality="VHQ").astype(np.float32)
        return torch.from_numpy(np.ascontiguousarray(data.T)), source
    mono = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1)  # a mono file: its samples, no copy
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


def _frames(waveform: torch.Tensor) -> np.ndarray:
    """(samples,) or (channels, samples) → float32 (samples, channels)."""
    data = waveform.detach().float().cpu()
    return np.ascontiguousarray((data[None] if data.dim() == 1 else data).numpy().T)


def write_wav(path: str | Path, waveform: torch.Tensor, *, sample_rate: int) -> None:
    """Write a waveform (samples,) or (channels, samples) as 32-bit float WAV, samples as they are.

    The file is the plain IEEE-float layout (fmt, fact, data chunks) and depends on the samples
    alone: libsndfile would add a PEAK chunk stamped with the time of writing, so the same sound
    written twice would differ.
    """
    frames = _frames(waveform).astype("<f4", copy=False)
    channels = frames.shape[1]
    size = frames.nbytes
    fmt = struct.pack("<HHIIHHH", 3, channels, sample_rate, sample_rate * 4 * channels, 4 * channels, 32, 0)
    header = (b"fmt " + struct.pack("<I", len(fmt)) + fmt
              + b"fact" + struct.pack("<II", 4, frames.shape[0])
              + b"data" + struct.pack("<I", size))
    try:
        with Path(path).open("wb") as sink:  # the samples go out as they are: no copy of a long sound in memory
            sink.write(b"RIFF" + struct.pack("<I", 4 + len(header) + size) + b"WAVE" + header)
            sink.write(memoryview(np.ascontiguousarray(frames)).cast("B"))
    except OSError as error:
        raise write_failure(path, error) from None


def _write_bytes(path: str | Path, data: bytes) -> None:
    """Write a finished file's bytes; a full disk or another OS error ends in one line."""
    try:
        Path(path).write_bytes(data)
    except OSError as error:
        raise write_failure(path, error) from None


@dataclass(frozen=True)
class AudioOutput:
    """How the sound a user keeps is written: its level, sample format and rate."""

    peak_db: float | None = DEFAULT_PEAK_DB
    """The peak the file is brought to (dBFS); None keeps the canvas's own level (research)."""
    format: str = "float"
    """A key of :data:`AUDIO_FORMATS`."""
    sample_rate: int | None = None
    """The file's rate; None: the canvas's."""

    def __post_init__(self) -> None:
        low, high = PEAK_DB_RANGE
        if self.peak_db is not None and not (np.isfinite(self.peak_db) and low <= self.peak_db <= high):
            raise SpectrocanvasError(f"--peak-db must be between {low:g} and {high:g} dBFS, not {self.peak_db:g}")
        if self.format not in AUDIO_FORMATS:
            raise SpectrocanvasError(f"--audio-format must be one of {', '.join(AUDIO_FORMATS)}, not '{self.format}'")
        if self.sample_rate is not None and self.sample_rate not in OUTPUT_RATES:
            raise SpectrocanvasError("--sample-rate must be one of " + ", ".join(map(str, OUTPUT_RATES))
                                     + f" Hz, not {self.sample_rate}")

    @property
    def file_name(self) -> str:
        """``audio.wav`` or ``audio.flac``."""
        return f"audio.{AUDIO_FORMATS[self.format][2]}"


def _pcm(frames: np.ndarray, subtype: str) -> np.ndarray:
    """Float frames in [-1, 1] → the integers soundfile writes as they are: int16 with TPDF dither
    (±1 LSB) for PCM_16; int32 holding 24 significant bits for PCM_24."""
    if subtype == "PCM_16":
        rng = np.random.default_rng(DITHER_SEED)
        dither = rng.random(frames.shape) - rng.random(frames.shape)
        return np.clip(np.round(frames * 32767.0 + dither), -32768, 32767).astype(np.int16)
    return (np.clip(np.round(frames.astype(np.float64) * 8388607.0), -8388608, 8388607).astype(np.int32) << 8)


def write_sound(folder: str | Path, waveform: torch.Tensor, *, sample_rate: int, output: AudioOutput = AudioOutput(),
                gain: float | None = None, level: str | None = None) -> dict[str, Any]:
    """Write ``folder/audio.wav`` (or .flac) the way ``output`` says; returns its meta.json record.

    waveform: (samples,) or (channels, samples) at ``sample_rate``, at the canvas's level. ``gain``:
    the factor to apply (with ``level`` saying what it matches, as imprint's recording loudness);
    unset, the one that brings the peak to ``output.peak_db`` (1 with ``peak_db=None``). The
    record holds the gain: the canvas-level sound is the file's samples divided by it.
    """
    container, subtype, _ = AUDIO_FORMATS[output.format]
    rate = output.sample_rate or sample_rate
    sound = _resampled(waveform.detach().float().cpu(), sample_rate, rate)
    if gain is None:
        gain = 1.0 if output.peak_db is None else peak_gain(sound, output.peak_db)
        level = "canvas" if output.peak_db is None else f"peak {output.peak_db:g} dBFS"
    sound = sound * gain
    top = peak(sound)
    if subtype != "FLOAT" and top > 1.0:
        raise SpectrocanvasError(f"the sound peaks at {top:.3g} × full scale, which {output.format} would "
                                 "clip; leave out --keep-level or use --audio-format float")
    path = Path(folder) / output.file_name
    if subtype == "FLOAT":
        write_wav(path, sound, sample_rate=rate)
    else:
        encoded = io.BytesIO()  # encoded in memory, so that a disk error reaches us with its errno
        try:
            soundfile.write(encoded, _pcm(_frames(sound), subtype), rate, subtype=subtype, format=container)
        except (soundfile.LibsndfileError, RuntimeError) as error:
            raise SpectrocanvasError(f"cannot encode '{path}': {error}") from None
        _write_bytes(path, encoded.getvalue())
    return {"file": output.file_name, "format": output.format, "subtype": subtype, "sample_rate": rate,
            "channels": 1 if sound.dim() == 1 else int(sound.shape[0]), "samples": int(sound.shape[-1]),
            "seconds": sound.shape[-1] / rate, "peak": top, "peak_dbfs": gain_to_db(top),
            "rms_dbfs": gain_to_db(rms(sound)), "gain": gain, "gain_db": gain_to_db(gain), "level": level}


def read_canvas_level(folder: str | Path, record: dict[str, Any], *, sample_rate: int,
                      keep_channels: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """The sound a sample folder's audio file holds, as written (mono (samples,) at ``sample_rate``;
    ``keep_channels``: (channels, samples)) and at the canvas's level (divided by the gain its
    meta.json ``record`` states; 1 for files made before levels were recorded)."""
    heard, _ = read_audio(Path(folder) / record.get("file", "audio.wav"), sample_rate=sample_rate,
                          keep_channels=keep_channels)
    return heard, heard / float(record.get("gain", 1.0))


def _resampled(sound: torch.Tensor, rate: int, target: int) -> torch.Tensor:
    """(…, samples) at ``rate`` → at ``target``, by soxr's very-high-quality resampler."""
    if rate == target:
        return sound
    frames = soxr.resample(_frames(sound), rate, target, quality="VHQ").astype(np.float32)
    out = torch.from_numpy(np.ascontiguousarray(frames.T))
    return out[0] if sound.dim() == 1 else out
