"""What the WAV sample format does to the picture in the sound.

The canvas spans about 143 dB (mel magnitude 1e-5 … 200) and a bright photograph becomes a
waveform with peaks near 50, far above a PCM file's full scale of 1. Each of the four
photographs of ``bench_griffinlim`` is made into sound by the default ``GriffinLimVocoder``,
written in several formats, read back, re-analysed and compared with the target canvas: SSIM,
and the fraction of dark pixels (target < 0.3) reproduced within 0.05. Prints a Markdown table.

    PYTHONPATH=src python benchmarks/bench_wav_format.py
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_griffinlim import PHOTOGRAPHS, cpu_name, photograph_canvas  # noqa: E402

from spectrocanvas.canvas import AUFFUSION  # noqa: E402
from spectrocanvas.canvas.analysis import audio_to_canvas  # noqa: E402
from spectrocanvas.canvas.metrics import ssim  # noqa: E402
from spectrocanvas.canvas.vocoders import GriffinLimVocoder  # noqa: E402

DARK = 0.3
TOLERANCE = 0.05

# (label, soundfile subtype or None for no file, peak after scaling or None for absolute level,
#  whether the gain is undone after reading)
VARIANTS = (
    ("no file (the waveform itself)", None, None, True),
    ("FLOAT (32-bit float), absolute level", "FLOAT", None, True),
    ("PCM_24, absolute level, clipped at ±1", "PCM_24", None, True),
    ("PCM_16, absolute level, clipped at ±1", "PCM_16", None, True),
    ("PCM_24, peak-normalised to 0.99, gain undone", "PCM_24", 0.99, True),
    ("PCM_16, peak-normalised to 0.99, gain undone", "PCM_16", 0.99, True),
    ("PCM_24, peak-normalised to 0.99, read as is", "PCM_24", 0.99, False),
)


def through_file(waveform: np.ndarray, subtype: str | None, peak: float | None, path: Path,
                 sample_rate: int) -> tuple[np.ndarray, float, float]:
    """→ (waveform read back at the original level, fraction of samples clipped, gain used)."""
    if subtype is None:
        return waveform, 0.0, 1.0
    gain = 1.0 if peak is None else peak / float(np.abs(waveform).max())
    scaled = waveform * gain
    clipped = float(np.mean(np.abs(scaled) > 1.0)) if subtype.startswith("PCM") else 0.0
    if subtype.startswith("PCM"):
        scaled = np.clip(scaled, -1.0, 1.0)
    soundfile.write(path, scaled.astype(np.float32), sample_rate, subtype=subtype)
    audio, _ = soundfile.read(path, dtype="float32")
    return audio / gain, clipped, gain


def dark_fraction(rebuilt: torch.Tensor, target: torch.Tensor) -> float:
    dark = target < DARK
    return float(((rebuilt - target).abs() <= TOLERANCE)[dark].float().mean())


def run(threads: int) -> str:
    torch.set_num_threads(threads)
    spec = AUFFUSION
    vocoder = GriffinLimVocoder(spec)
    canvases = {name: photograph_canvas(name, spec) for name in PHOTOGRAPHS}
    waveforms = {name: vocoder(canvas[None])[0].numpy() for name, canvas in canvases.items()}
    peaks = ", ".join(f"{name} {np.abs(w).max():.1f}" for name, w in waveforms.items())
    header = "| format | " + " | ".join(f"{n} SSIM" for n in PHOTOGRAPHS) + \
        " | mean SSIM | dark pixels within 0.05 | samples clipped |"
    lines = [f"torch {torch.__version__}, {threads} threads, {cpu_name()}; vocoder {vocoder.describe()}",
             f"waveform peaks: {peaks}", "", header, "|---|" + "---:|" * (len(PHOTOGRAPHS) + 3)]
    with tempfile.TemporaryDirectory() as tmp:
        for label, subtype, peak, undo_gain in VARIANTS:
            scores, darks, clips = [], [], []
            for name, canvas in canvases.items():
                audio, clipped, gain = through_file(waveforms[name], subtype, peak,
                                                    Path(tmp) / f"{name}.wav", spec.sample_rate)
                if not undo_gain:
                    audio = audio * gain
                rebuilt = audio_to_canvas(torch.from_numpy(np.ascontiguousarray(audio)), spec)
                scores.append(float(ssim(rebuilt, canvas)))
                darks.append(dark_fraction(rebuilt, canvas))
                clips.append(clipped)
            lines.append(f"| {label} | " + " | ".join(f"{s:.4f}" for s in scores) +
                         f" | {np.mean(scores):.4f} | {np.mean(darks):.3f} | {np.mean(clips):.4f} |")
    lines += ["", f"dark pixels: target canvas value < {DARK}; a pixel counts if re-analysed within "
                  f"{TOLERANCE}; \"gain undone\": the file is read back and divided by its gain (which must then "
                  "be stored beside it); \"read as is\": re-analysed at the level in the file."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args(argv)
    print(run(args.threads))


if __name__ == "__main__":
    main()
