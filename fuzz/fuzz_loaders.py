"""Fuzz the picture and audio loaders with hypothesis: mutated real files and random bytes.

    python fuzz/fuzz_loaders.py --target picture --minutes 10
    python fuzz/fuzz_loaders.py --target audio --minutes 10

Every input is written to a file and read the way a web upload or a command would read it
(``open_picture`` then ``picture_to_gray``/``picture_to_rgb``/``canvas_spec_of``/``fit_picture``;
``read_audio`` at 16 kHz then ``audio_to_canvas``). The only exception allowed out is
``SpectrocanvasError`` (the one-line error); anything else is a crash: its input is kept under
``fuzz/crashes/`` and counted. Prints how many inputs ran and how many crashed, by exception type.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import soundfile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from spectrocanvas.canvas.analysis import audio_to_canvas
from spectrocanvas.canvas.spec import AUFFUSION
from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.files.audio import read_audio
from spectrocanvas.files.pictures import canvas_spec_of, fit_picture, open_picture, picture_to_gray, picture_to_rgb

CRASHES = Path(__file__).resolve().parent / "crashes"


def picture_seeds() -> list[tuple[str, bytes]]:
    """Small valid pictures in the formats an upload may bring (suffix, bytes)."""
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 255, (12, 17, 3), dtype=np.uint8))
    found = []
    for suffix, image, options in [
        (".png", rgb, {}), (".png", rgb.convert("LA"), {}), (".png", rgb.convert("P"), {}),
        (".png", Image.fromarray((rng.random((9, 11)) * 65535).astype(np.uint16)), {}),
        (".jpg", rgb, {"quality": 80}), (".gif", rgb.convert("P"), {}), (".bmp", rgb, {}),
        (".tiff", rgb, {}), (".webp", rgb, {}), (".tiff", Image.fromarray(rng.random((5, 6)).astype(np.float32)), {}),
        (".ico", rgb, {}), (".tga", rgb, {}), (".ppm", rgb, {}),
    ]:
        buffer = io.BytesIO()
        try:
            image.save(buffer, format=Image.registered_extensions()[suffix], **options)
        except (KeyError, OSError, ValueError):
            continue
        found.append((suffix, buffer.getvalue()))
    return found


def audio_seeds() -> list[tuple[str, bytes]]:
    """Short valid sounds in the formats libsndfile writes (suffix, bytes)."""
    tone = (0.3 * np.sin(np.arange(2400) * 0.05)).astype(np.float32)
    found = []
    for suffix, fmt, subtype, rate, channels in [
        (".wav", "WAV", "FLOAT", 16000, 1), (".wav", "WAV", "PCM_16", 8000, 2), (".wav", "WAV", "PCM_24", 44100, 1),
        (".flac", "FLAC", "PCM_16", 16000, 1), (".ogg", "OGG", "VORBIS", 16000, 1), (".aiff", "AIFF", "PCM_16", 22050, 1),
        (".mp3", "MP3", "MPEG_LAYER_III", 16000, 1),
    ]:
        buffer = io.BytesIO()
        data = np.stack([tone] * channels, axis=1)
        try:
            soundfile.write(buffer, data, rate, format=fmt, subtype=subtype)
        except (soundfile.LibsndfileError, TypeError, ValueError):
            continue
        found.append((suffix, buffer.getvalue()))
    return found


def mutated(seeds: list[tuple[str, bytes]]) -> st.SearchStrategy[tuple[str, bytes]]:
    """A seed file with bytes flipped, overwritten, cut, inserted or duplicated; or random bytes."""
    def mutate(seed: tuple[str, bytes], edits: list[tuple[int, int, int, bytes]]) -> tuple[str, bytes]:
        suffix, data = seed
        data = bytearray(data)
        for kind, where, size, chunk in edits:
            where = where % (len(data) + 1)
            if kind == 0:  # overwrite
                data[where:where + len(chunk)] = chunk
            elif kind == 1:  # insert
                data[where:where] = chunk
            elif kind == 2:  # cut
                del data[where:where + size]
            elif kind == 3:  # truncate
                del data[where:]
            elif kind == 4 and where < len(data):  # flip a bit
                data[where] ^= 1 << (size % 8)
            elif kind == 5:  # repeat a stretch
                data[where:where] = data[where:where + size % 64] * (1 + size % 5)
        return suffix, bytes(data)

    edit = st.tuples(st.integers(0, 5), st.integers(0, 1 << 20), st.integers(0, 4096), st.binary(max_size=16))
    mutants = st.builds(mutate, st.sampled_from(seeds), st.lists(edit, min_size=1, max_size=8))
    suffixes = sorted({s for s, _ in seeds})
    noise = st.tuples(st.sampled_from(suffixes), st.binary(max_size=2048))
    return st.one_of(mutants, mutants, mutants, noise)


def read_picture(path: Path) -> None:
    image = open_picture(path)
    canvas_spec_of(image)
    gray = picture_to_gray(image)
    picture_to_rgb(image)
    for fit in ("stretch", "crop", "pad"):
        fit_picture(gray, height=32, width=40, fit=fit)


def read_sound(path: Path) -> None:
    sound, _ = read_audio(path, sample_rate=AUFFUSION.sample_rate)
    if sound.shape[-1] > AUFFUSION.padding:
        audio_to_canvas(sound[: AUFFUSION.sample_rate * 4], AUFFUSION)


def fuzz(target: str, minutes: float, batch: int = 200) -> tuple[int, Counter]:
    """Run batches of ``batch`` inputs until ``minutes`` pass; returns (inputs run, crashes by type)."""
    seeds = picture_seeds() if target == "picture" else audio_seeds()
    reader = read_picture if target == "picture" else read_sound
    crashes: Counter = Counter()
    count = 0
    CRASHES.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"fuzz-{target}-"))

    @settings(max_examples=batch, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(mutated(seeds))
    def one(case: tuple[str, bytes]) -> None:
        nonlocal count
        suffix, data = case
        path = work / f"input{suffix}"
        path.write_bytes(data)
        count += 1
        try:
            reader(path)
        except SpectrocanvasError:
            pass
        except Exception as error:  # noqa: BLE001 — what the fuzzer is looking for
            kind = f"{type(error).__name__}: {str(error)[:80]}"
            if crashes[kind] == 0:
                (CRASHES / f"{target}-{len(crashes):03d}{suffix}").write_bytes(data)
                print(f"crash: {kind}\n{traceback.format_exc(limit=4)}", flush=True)
            crashes[kind] += 1

    end = time.monotonic() + minutes * 60
    while time.monotonic() < end:
        one()
    return count, crashes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=("picture", "audio"), required=True)
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # PIL's notes on corrupt EXIF: the fuzzer feeds corrupt files on purpose
    started = time.monotonic()
    count, crashes = fuzz(args.target, args.minutes)
    print(f"{args.target}: {count} inputs in {(time.monotonic() - started) / 60:.1f} min, "
          f"{sum(crashes.values())} crashes ({len(crashes)} kinds)")
    for kind, times in crashes.most_common():
        print(f"  {times:6d}  {kind}")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
