"""Viewer scales (mel, linear, log): fidelity and time of spectrocanvas' sound against plain additive
synthesis and librosa, on eight photographs; and long sounds (memory, time per second).

For each scale and photograph the photograph (grayscale) is resized to the view's rows × 1024
columns and made into sound three ways:

- **ours**: :func:`spectrocanvas.canvas.view_synthesis.reconstruct` with the scale's default method
  (mel: Griffin-Lim, the vocoder of ``sonify``; linear and log: Griffin-Lim matched in the view's
  rows, started from additive synthesis);
- **additive**: the spectrographic/Coagula method, written here in numpy: one sinusoid per row at
  the row's centre frequency (random phase, seed 0), its envelope the row's amplitude (the view's
  level mapping undone), interpolated linearly between columns;
- **librosa**: mel: ``librosa.feature.inverse.mel_to_audio`` (NNLS + 32 Griffin-Lim iterations);
  linear and log: ``librosa.griffinlim`` (32 iterations, ``random_state=0``) on the STFT magnitude
  spectrocanvas inverts from the rows (that inversion is not timed for librosa).

Every sound is then analysed **independently of spectrocanvas** (numpy FFT of reflect-padded Hann
frames; mel rows by librosa's Slaney filterbank, linear/log rows by the formula) and scored by
scikit-image's SSIM (Gaussian, σ 1.5) against the target picture.

    PYTHONPATH=src python benchmarks/bench_scales.py --threads 2            # the photographs
    PYTHONPATH=src python benchmarks/bench_scales.py --threads 2 --long     # 10 s vs 10 min, per scale

``--long`` runs ``sonify`` and ``imprint`` (no video) on a 10.24-s and a 600-s canvas in a fresh
subprocess per case and reads the peak resident memory (VmHWM of /proc/self/status).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from spectrocanvas.canvas.analysis import canvas_to_mel
from spectrocanvas.canvas.spec import AUFFUSION, CanvasSpec
from spectrocanvas.canvas.view_synthesis import DEFAULT_METHOD, picture_rows, reconstruct
from spectrocanvas.canvas.views import ViewSpec, default_view, rows_to_linear

PHOTOGRAPHS = ("astronaut", "camera", "coffee", "chelsea", "rocket", "coins", "moon", "hubble_deep_field")
"""The four photographs of the earlier benchmarks, and four more that ship with scikit-image."""
COLUMNS = 1024


def views() -> dict[str, CanvasSpec | ViewSpec]:
    return {"mel": AUFFUSION, "linear": default_view("linear", 44100), "log": default_view("log", 44100)}


def height_of(spec) -> int:
    return spec.n_mels if isinstance(spec, CanvasSpec) else spec.height


def photograph(name: str, height: int) -> np.ndarray:
    """A scikit-image photograph, grayscale, resized to (height, COLUMNS), float64 in [0, 1]."""
    import skimage.data
    from skimage.color import rgb2gray
    from skimage.transform import resize

    image = getattr(skimage.data, name)()
    gray = rgb2gray(image) if image.ndim == 3 else image / 255.0
    return np.clip(resize(gray, (height, COLUMNS), anti_aliasing=True), 0, 1)


# ---- the independent view ----------------------------------------------------------------------

def _stft_magnitude(waveform: np.ndarray, n_fft: int, hop: int, win: int) -> np.ndarray:
    """|STFT| (bins, frames) of the canvas convention: reflect padding (n_fft − hop)/2, Hann of ``win``
    centred in n_fft, frames = len // hop; numpy only, in blocks of frames."""
    pad = (n_fft - hop) // 2
    padded = np.pad(waveform.astype(np.float64), pad, mode="reflect")
    window = np.zeros(n_fft)
    start = (n_fft - win) // 2
    window[start: start + win] = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)
    frames = waveform.size // hop
    out = np.empty((n_fft // 2 + 1, frames))
    for first in range(0, frames, 256):
        count = min(256, frames - first)
        index = np.arange(n_fft)[None, :] + hop * (first + np.arange(count))[:, None]
        out[:, first: first + count] = np.abs(np.fft.rfft(padded[index] * window, axis=-1)).T
    return out


def independent_view(waveform: np.ndarray, spec) -> np.ndarray:
    """The picture (height, frames) a viewer draws, computed without spectrocanvas."""
    import librosa

    if isinstance(spec, CanvasSpec):
        magnitude = np.sqrt(_stft_magnitude(waveform, spec.n_fft, spec.hop_length, spec.win_length) ** 2 + 1e-9)
        bank = librosa.filters.mel(sr=spec.sample_rate, n_fft=spec.n_fft, n_mels=spec.n_mels, fmin=spec.f_min,
                                   fmax=spec.f_max, htk=False, norm="slaney")
        log = np.log(np.maximum(bank @ magnitude, spec.mel_floor))
        return np.clip((log - np.log(spec.mel_floor)) / (np.log(spec.mel_ceiling) - np.log(spec.mel_floor)), 0, 1)[::-1]
    magnitude = _stft_magnitude(waveform, spec.n_fft, spec.hop_length, spec.n_fft)
    bins = np.fft.rfftfreq(spec.n_fft, 1 / spec.sample_rate)
    rows = np.arange(spec.height)
    centres = _centres(spec)
    if spec.scale == "log":
        position = np.log2(np.maximum(bins, 1e-3) / spec.fmin) * spec.pixels_per_octave - 0.5
    else:
        position = (bins - spec.fmin) / (spec.fmax - spec.fmin) * spec.height - 0.5
    weights = np.maximum(np.clip(1 - np.abs(position[None, :] - rows[:, None]), 0, None),
                         np.clip(1 - np.abs(bins[None, :] - centres[:, None]) / (bins[1] - bins[0]), 0, None))
    level = 20 * np.log10(np.maximum(weights @ magnitude, 1e-12) / (spec.n_fft / 4))
    return np.clip((level + spec.gain_db + spec.range_db) / spec.range_db, 0, 1)[::-1]


def _centres(spec) -> np.ndarray:
    """Row centre frequencies, low rows first."""
    import librosa

    if isinstance(spec, CanvasSpec):
        return librosa.mel_frequencies(spec.n_mels + 2, fmin=spec.f_min, fmax=spec.f_max, htk=False)[1:-1]
    rows = np.arange(spec.height)
    if spec.scale == "log":
        return spec.fmin * 2.0 ** ((rows + 0.5) / spec.pixels_per_octave)
    return spec.fmin + (rows + 0.5) * (spec.fmax - spec.fmin) / spec.height


# ---- the plain additive reference ----------------------------------------------------------------

def plain_additive(picture: np.ndarray, spec, seed: int = 0) -> np.ndarray:
    """One sinusoid per row, the row as its envelope (numpy): picture (height, frames) → (frames · hop,)."""
    import librosa

    rows = picture[::-1]  # low rows first
    if isinstance(spec, CanvasSpec):
        mel = np.exp(rows * (np.log(spec.mel_ceiling) - np.log(spec.mel_floor)) + np.log(spec.mel_floor))
        edges = librosa.mel_frequencies(spec.n_mels + 2, fmin=spec.f_min, fmax=spec.f_max, htk=False)
        peak_weight = 2.0 / (edges[2:] - edges[:-2])  # Slaney: the triangle's height
        amplitude = mel / (peak_weight[:, None] * spec.win_length / 4)
        hop, rate = spec.hop_length, spec.sample_rate
    else:
        amplitude = 10.0 ** ((rows * spec.range_db - spec.range_db - spec.gain_db) / 20.0)
        hop, rate = spec.hop_length, spec.sample_rate
    frequencies = _centres(spec)
    phases = np.random.default_rng(seed).uniform(0, 2 * np.pi, size=frequencies.size)
    frames = picture.shape[-1]
    length = frames * hop
    middles = np.arange(frames) * hop + hop / 2
    out = np.zeros(length)
    for start in range(0, length, 16384):
        n = np.arange(start, min(start + 16384, length))
        column = np.clip((n - hop / 2) / hop, 0, frames - 1)
        left = np.floor(column).astype(int)
        right = np.minimum(left + 1, frames - 1)
        frac = column - left
        envelope = amplitude[:, left] * (1 - frac) + amplitude[:, right] * frac
        out[n] = (envelope * np.cos(2 * np.pi * frequencies[:, None] * n[None, :] / rate + phases[:, None])).sum(0)
    del middles
    return out


# ---- librosa ---------------------------------------------------------------------------------------

def librosa_waveform(picture: np.ndarray, spec) -> tuple[np.ndarray, float]:
    """librosa's Griffin-Lim reconstruction and its time (s)."""
    import librosa

    tensor = torch.from_numpy(picture).float()
    if isinstance(spec, CanvasSpec):
        mel = canvas_to_mel(tensor, spec).double().numpy()
        start = time.perf_counter()
        audio = librosa.feature.inverse.mel_to_audio(
            mel, sr=spec.sample_rate, n_fft=spec.n_fft, hop_length=spec.hop_length, win_length=spec.win_length,
            window="hann", center=True, power=1.0, n_iter=32, fmin=spec.f_min, fmax=spec.f_max, htk=False,
            norm="slaney")
        seconds = time.perf_counter() - start
    else:
        linear = rows_to_linear(picture_rows(tensor, spec), spec).double().numpy()
        start = time.perf_counter()
        audio = librosa.griffinlim(linear, n_iter=32, hop_length=spec.hop_length, win_length=spec.n_fft,
                                   n_fft=spec.n_fft, window="hann", center=True, random_state=0)
        seconds = time.perf_counter() - start
    length = picture.shape[-1] * spec.hop_length
    return np.pad(audio, (0, max(0, length - audio.size)))[:length], seconds


def score(picture: np.ndarray, waveform: np.ndarray, spec) -> float:
    from skimage.metrics import structural_similarity

    heard = independent_view(waveform, spec)
    return float(structural_similarity(picture, heard, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                       use_sample_covariance=False))


def photographs(threads: int, names: tuple[str, ...], scales: list[str]) -> None:
    rows = []
    for scale in scales:
        spec = views()[scale]
        for name in names:
            picture = photograph(name, height_of(spec))
            tensor = torch.from_numpy(picture).float()
            start = time.perf_counter()
            ours = reconstruct(tensor[None], spec, method=DEFAULT_METHOD[scale])[0].double().numpy()
            ours_s = time.perf_counter() - start
            start = time.perf_counter()
            reference = plain_additive(picture, spec)
            additive_s = time.perf_counter() - start
            theirs, librosa_s = librosa_waveform(picture, spec)
            row = {"scale": scale, "photo": name, "ours": score(picture, ours, spec), "ours_s": ours_s,
                   "additive": score(picture, reference, spec), "additive_s": additive_s,
                   "librosa": score(picture, theirs, spec), "librosa_s": librosa_s}
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    print(f"threads {threads}; {len(names)} photographs; {COLUMNS} columns each\n")
    print("| scale | photograph | ours SSIM | additive SSIM | librosa SSIM | ours s | additive s | librosa s | ours/librosa time |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['scale']} | {r['photo']} | {r['ours']:.4f} | {r['additive']:.4f} | {r['librosa']:.4f} | "
              f"{r['ours_s']:.2f} | {r['additive_s']:.2f} | {r['librosa_s']:.2f} | {r['ours_s'] / r['librosa_s']:.3f} |")
    print()
    for scale in scales:
        mine = [r for r in rows if r["scale"] == scale]
        above_add = sum(r["ours"] > r["additive"] for r in mine)
        above_lib = sum(r["ours"] > r["librosa"] for r in mine)
        ratio = sum(r["ours_s"] for r in mine) / sum(r["librosa_s"] for r in mine)
        print(f"- {scale}: mean SSIM ours {np.mean([r['ours'] for r in mine]):.4f}, additive "
              f"{np.mean([r['additive'] for r in mine]):.4f}, librosa {np.mean([r['librosa'] for r in mine]):.4f}; "
              f"ours above additive on {above_add}/{len(mine)}, above librosa on {above_lib}/{len(mine)}; "
              f"time ours/librosa {ratio:.3f}")


# ---- long sounds -------------------------------------------------------------------------------------

def one_case(command: str, scale: str, seconds: float, picture: str, audio: str | None, threads: int) -> None:
    """Run one sonify/imprint (no video) in this process; print seconds and peak memory as JSON."""
    torch.set_num_threads(threads)
    from spectrocanvas.canvas.views import make_view
    from spectrocanvas.tools.imprint import imprint
    from spectrocanvas.tools.sonify import sonify

    spec = make_view(scale=scale, sample_rate=None if scale == "mel" else 44100)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        if command == "sonify":
            sonify(image=picture, output=Path(folder) / "out", seconds=seconds, video=False, spec=spec)
        else:
            imprint(image=picture, audio=audio, output=Path(folder) / "out", seconds=seconds, video=False, spec=spec)
        elapsed = time.perf_counter() - start
    peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
    print(json.dumps({"command": command, "scale": scale, "seconds": seconds, "elapsed": elapsed,
                      "peak_mb": peak_kb / 1024}))


def long_sounds(threads: int, scales: list[str], commands: list[str]) -> None:
    from PIL import Image

    with tempfile.TemporaryDirectory() as folder:
        picture = Path(folder) / "photo.png"
        Image.fromarray((photograph("astronaut", 256) * 255).astype(np.uint8)).save(picture)
        audio = Path(folder) / "ten-minutes.wav"
        import soundfile

        rate = 44100
        with soundfile.SoundFile(audio, "w", rate, 1, "PCM_16") as sink:  # 10 min of tones in noise
            rng = np.random.default_rng(0)
            for minute in range(10):
                t = np.arange(60 * rate) / rate + 60 * minute
                sink.write(0.05 * rng.standard_normal(t.size) + 0.2 * np.sin(2 * np.pi * (220 + 20 * minute) * t))
        results = []
        for command in commands:
            for scale in scales:
                for seconds in (10.24, 600.0):
                    out = subprocess.run(
                        [sys.executable, __file__, "--case", command, "--scale", scale, "--seconds", str(seconds),
                         "--picture", str(picture), "--audio", str(audio), "--threads", str(threads)],
                        capture_output=True, text=True, check=True, env={**os.environ})
                    result = json.loads(out.stdout.strip().splitlines()[-1])
                    results.append(result)
                    print(json.dumps(result), file=sys.stderr, flush=True)
    print("| command | scale | 10.24 s: s, MB | 600 s: s, MB | time per second, 600 s / 10.24 s |")
    print("|---|---|---:|---:|---:|")
    for command in commands:
        for scale in scales:
            short, long = (r for r in results if r["command"] == command and r["scale"] == scale)
            ratio = (long["elapsed"] / long["seconds"]) / (short["elapsed"] / short["seconds"])
            print(f"| {command} | {scale} | {short['elapsed']:.1f}, {short['peak_mb']:.0f} | "
                  f"{long['elapsed']:.1f}, {long['peak_mb']:.0f} | {ratio:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--scales", default="mel,linear,log")
    parser.add_argument("--photos", default=",".join(PHOTOGRAPHS))
    parser.add_argument("--long", action="store_true", help="10-minute sounds instead of the photographs")
    parser.add_argument("--commands", default="sonify,imprint")
    parser.add_argument("--case", choices=["sonify", "imprint"], help=argparse.SUPPRESS)
    parser.add_argument("--scale", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--picture", help=argparse.SUPPRESS)
    parser.add_argument("--audio", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        one_case(args.case, args.scale, args.seconds, args.picture, args.audio, args.threads)
        return
    torch.set_num_threads(args.threads)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(args.threads):
        if args.long:
            long_sounds(args.threads, args.scales.split(","), args.commands.split(","))
        else:
            photographs(args.threads, tuple(args.photos.split(",")), args.scales.split(","))


if __name__ == "__main__":
    main()
