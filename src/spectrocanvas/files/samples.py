"""The folders `generate` writes, as readers find them.

A run folder holds ``run.json`` and ``sample_000/``, ``sample_001/``, …; a sample folder holds
``meta.json`` (``"command": "generate"``), ``canvas.png``, ``audio.wav`` and the rest. Hidden
folders are staging folders of unfinished work and are never samples.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.files.audio import read_audio
from spectrocanvas.files.pictures import open_picture, picture_to_gray
from spectrocanvas.files.records import read_json

SAMPLE_PREFIX = "sample_"
RUN_FILE = "run.json"
SAMPLE_FILES = ("meta.json", "canvas.png", "audio.wav")
"""What every sample folder holds (and what scoring reads); the sound may be audio.flac instead."""
AUDIO_FILES = ("audio.wav", "audio.flac")


def sample_name(index: int) -> str:
    """``sample_000`` for index 0."""
    return f"{SAMPLE_PREFIX}{index:03d}"


def run_samples(run: Path) -> list[Path]:
    """The finished sample folders of one run folder, in order."""
    return sorted(p for p in run.glob(f"{SAMPLE_PREFIX}[0-9][0-9][0-9]*") if p.is_dir())


def find_samples(root: str | Path) -> list[Path]:
    """Every sample folder that `generate` wrote under ``root`` (itself included), sorted."""
    root = Path(root)
    if not root.is_dir():
        raise SpectrocanvasError(f"'{root}' is not a folder")
    found = []
    for meta in root.rglob("meta.json"):
        folder = meta.parent
        if any(part.startswith(".") for part in folder.relative_to(root).parts):
            continue
        has_sound = any((folder / name).is_file() for name in AUDIO_FILES)
        if has_sound and all((folder / name).is_file() for name in SAMPLE_FILES[:2]) and _is_generated(meta):
            found.append(folder)
    return sorted(found)


def _is_generated(meta: Path) -> bool:
    try:
        return read_json(meta).get("command") == "generate"
    except (ValueError, OSError):
        return False


def read_canvas(path: str | Path) -> torch.Tensor:
    """canvas.png → (H, W) in [0, 1]."""
    return picture_to_gray(open_picture(path))


def read_sound(path: str | Path) -> tuple[torch.Tensor, int]:
    """audio.wav → (mono float32 samples (N,), the file's sample rate)."""
    waveform, source = read_audio(path, sample_rate=None)
    return waveform, source.sample_rate


def read_sample_sound(folder: str | Path, meta: dict[str, Any]) -> tuple[torch.Tensor, int]:
    """A sample's sound as drawn: at the canvas's rate and level (the file resampled back and divided
    by the gain its meta.json records): (mono float32 (N,), that rate)."""
    record = meta.get("audio", {})
    rate = meta.get("canvas", {}).get("sample_rate")
    waveform, source = read_audio(Path(folder) / record.get("file", "audio.wav"), sample_rate=rate)
    return waveform / float(record.get("gain", 1.0)), rate or source.sample_rate


def prompt_of(meta: dict[str, Any], role: str) -> str:
    """The prompt of ``role`` ("image" or "audio") a sample's meta.json records ("" where it was
    composed without one: a run that started from that side's input)."""
    return meta.get(f"{role}_prompt") or meta.get("prompts", {}).get(role) or ""
