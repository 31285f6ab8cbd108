"""Griffin-Lim phase reconstruction vs librosa's ``mel_to_audio``, fidelity and speed.

Four standard photographs that ship with scikit-image (no download) are turned into
256 × 1024 canvases. Each is made into sound twice: by librosa (``mel_to_audio``: NNLS mel
inversion and 32 Griffin-Lim iterations, power 1, the same STFT and Slaney filterbank) and by
spectrocanvas' default ``GriffinLimVocoder``. Each waveform is written as a 32-bit float WAV,
read back, re-analysed with :func:`spectrocanvas.canvas.analysis.audio_to_canvas`, and compared with
the target canvas by SSIM. Prints a Markdown table.

    PYTHONPATH=src python benchmarks/bench_griffinlim.py --threads 2
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
import torch

from spectrocanvas.canvas.analysis import audio_to_canvas, canvas_to_mel
from spectrocanvas.canvas.metrics import ssim
from spectrocanvas.canvas.spec import AUFFUSION, CanvasSpec
from spectrocanvas.canvas.vocoders import GriffinLimVocoder

PHOTOGRAPHS = ("astronaut", "camera", "coffee", "chelsea")


def photograph_canvas(name: str, spec: CanvasSpec = AUFFUSION, frames: int = 1024) -> torch.Tensor:
    """A scikit-image sample photograph as a grayscale canvas (n_mels, frames) in [0, 1]."""
    import skimage.data
    from skimage.color import rgb2gray
    from skimage.transform import resize

    image = getattr(skimage.data, name)()
    gray = rgb2gray(image) if image.ndim == 3 else image / 255.0
    return torch.from_numpy(resize(gray, (spec.n_mels, frames), anti_aliasing=True)).float().clamp(0, 1)


def librosa_waveform(canvas: torch.Tensor, spec: CanvasSpec, iterations: int) -> np.ndarray:
    """librosa's reference reconstruction, padded to ``frames * hop`` samples."""
    import librosa

    mel = canvas_to_mel(canvas, spec).double().numpy()
    # mel_to_audio does not pass a random_state on: librosa's initial phase is unseeded, so its
    # SSIM varies by about ±0.0005 from run to run.
    audio = librosa.feature.inverse.mel_to_audio(
        mel, sr=spec.sample_rate, n_fft=spec.n_fft, hop_length=spec.hop_length,
        win_length=spec.win_length, window="hann", center=True, power=1.0, n_iter=iterations,
        fmin=spec.f_min, fmax=spec.f_max, htk=False, norm="slaney")
    target_length = spec.samples_for_frames(canvas.shape[-1])
    return np.pad(audio, (0, max(0, target_length - audio.shape[-1])))[:target_length].astype(np.float32)


def wav_round_trip(waveform: np.ndarray, spec: CanvasSpec, folder: Path, name: str,
                   subtype: str = "FLOAT") -> torch.Tensor:
    """Write a WAV, read it back as float32, re-analyse: → canvas (n_mels, frames)."""
    path = folder / f"{name}.wav"
    soundfile.write(path, waveform, spec.sample_rate, subtype=subtype)
    audio, _ = soundfile.read(path, dtype="float32")
    return audio_to_canvas(torch.from_numpy(audio), spec)


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def limit_threads(threads: int):
    """Give torch and numpy's BLAS (used by librosa's NNLS) the same thread count."""
    torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # librosa normally brings it (through scikit-learn)
        return contextlib.nullcontext()
    return threadpool_limits(limits=threads)


def run(threads: int, iterations: int | None, librosa_iterations: int) -> str:
    with limit_threads(threads):
        return _run(threads, iterations, librosa_iterations)


def _run(threads: int, iterations: int | None, librosa_iterations: int) -> str:
    spec = AUFFUSION
    vocoder = GriffinLimVocoder(spec) if iterations is None else GriffinLimVocoder(spec, iterations=iterations)
    # Warm both paths up on a short canvas so one-off costs (allocations, caches) are not timed.
    warm = photograph_canvas(PHOTOGRAPHS[0], spec, frames=64)
    vocoder(warm[None])
    librosa_waveform(warm, spec, 2)

    rows = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in PHOTOGRAPHS:
            canvas = photograph_canvas(name, spec)
            reference, reference_s = _timed(lambda: librosa_waveform(canvas, spec, librosa_iterations))
            ours, ours_s = _timed(lambda: vocoder(canvas[None])[0])
            reference_ssim = float(ssim(wav_round_trip(reference, spec, folder, name + "-librosa"), canvas))
            ours_ssim = float(ssim(wav_round_trip(ours.numpy(), spec, folder, name + "-ours"), canvas))
            rows.append((name, reference_ssim, reference_s, ours_ssim, ours_s))
            print(f"  {name}: librosa {reference_ssim:.4f} in {reference_s:.2f} s, "
                  f"ours {ours_ssim:.4f} in {ours_s:.2f} s", flush=True)

    means = [sum(row[i] for row in rows) / len(rows) for i in range(1, 5)]
    lines = [
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs: {cpu_name()}; "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}",
        f"ours: {vocoder.describe()}; librosa: mel_to_audio, {librosa_iterations} iterations, power 1",
        f"1-minute load average before / after: {load_before:.2f} / {os.getloadavg()[0]:.2f} "
        f"(above {os.cpu_count()} means other processes shared the CPUs)",
        "",
        "| photograph (256 × 1024) | librosa SSIM | librosa s | ours SSIM | ours s |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [f"| {n} | {a:.4f} | {b:.2f} | {c:.4f} | {d:.2f} |" for n, a, b, c, d in rows]
    lines.append(f"| **mean** | **{means[0]:.4f}** | **{means[1]:.2f}** | **{means[2]:.4f}** | **{means[3]:.2f}** |")
    lines += ["", f"time ratio ours / librosa: {means[3] / means[1]:.3f} "
                  f"(librosa takes {means[1] / means[3]:.1f}× as long); "
                  f"SSIM difference ours − librosa: {means[2] - means[0]:+.4f}"]
    return "\n".join(lines)


def sweep(threads: int, counts: list[int]) -> str:
    """Mean SSIM (through a float WAV) and seconds of ours for several iteration counts."""
    with limit_threads(threads):
        spec = AUFFUSION
        canvases = [photograph_canvas(name, spec) for name in PHOTOGRAPHS]
        GriffinLimVocoder(spec)(canvases[0][None, :, :64])
        lines = ["| Griffin-Lim iterations | mean SSIM | mean s per canvas |", "|---:|---:|---:|"]
        with tempfile.TemporaryDirectory() as tmp:
            for count in counts:
                vocoder = GriffinLimVocoder(spec, iterations=count)
                scores, seconds = [], []
                for name, canvas in zip(PHOTOGRAPHS, canvases):
                    ours, elapsed = _timed(lambda: vocoder(canvas[None])[0])
                    scores.append(float(ssim(wav_round_trip(ours.numpy(), spec, Path(tmp), name), canvas)))
                    seconds.append(elapsed)
                lines.append(f"| {count} | {sum(scores) / len(scores):.4f} | {sum(seconds) / len(seconds):.2f} |")
                print("  " + lines[-1], flush=True)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch threads")
    parser.add_argument("--iterations", type=int, default=None,
                        help="Griffin-Lim iterations for ours (default: the vocoder's default)")
    parser.add_argument("--librosa-iterations", type=int, default=32, help="librosa's n_iter")
    parser.add_argument("--sweep", type=str, default=None, metavar="N,N,...",
                        help="instead: ours alone at these iteration counts (e.g. 8,16,32,64,128)")
    args = parser.parse_args(argv)
    if args.sweep:
        print(sweep(args.threads, [int(n) for n in args.sweep.split(",")]))
    else:
        print(run(args.threads, args.iterations, args.librosa_iterations))


if __name__ == "__main__":
    main()
