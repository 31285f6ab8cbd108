"""Wall time of the whole pocket command, start-up included:
``spectrocanvas generate --preset pocket --image-prompt triangle --audio-prompt bell -n 4``.

Each variant runs in a fresh process, alternating, ``--repeats`` times; the table gives the median
and the range. Variants: the shipped behaviour (sampling on one thread), the same with two torch
threads (``OMP_NUM_THREADS=2``, which the pocket pair leaves alone), and, as a start-up reference,
``python -c "import diffusers"`` (what the pocket path no longer imports). ``--busy N`` keeps N
busy-loop processes running during the measurement, to see the command on a loaded machine.

    python benchmarks/bench_pocket_command.py [--repeats 5] [--busy 0] [--no-video]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def command(out: Path, video: bool) -> list[str]:
    cli = Path(sys.executable).with_name("spectrocanvas")
    return [str(cli), "generate", "--preset", "pocket", "--image-prompt", "triangle", "--audio-prompt", "bell",
            "-n", "4", "-o", str(out), "--quiet", *([] if video else ["--no-video"])]


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--busy", type=int, default=0, help="busy-loop processes running alongside")
    p.add_argument("--no-video", dest="video", action="store_false")
    args = p.parse_args()
    base = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    times: dict[str, list[float]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(args.repeats):
                variants = {
                    "generate -n 4 (shipped: 1 sampling thread)": (command(Path(tmp) / f"a{r}", args.video), base),
                    "generate -n 4, OMP_NUM_THREADS=2": (command(Path(tmp) / f"b{r}", args.video),
                                                         {**base, "OMP_NUM_THREADS": "2"}),
                    "python -c 'import diffusers' (reference)": ([sys.executable, "-c", "import diffusers"], base),
                }
                for name, (argv, env) in variants.items():
                    times.setdefault(name, []).append(timed(argv, env))
    finally:
        for proc in busy:
            proc.kill()
    print(f"{args.repeats} runs each, {args.busy} busy process(es), video {'on' if args.video else 'off'}, "
          f"{os.cpu_count()} CPUs")
    print("| what | median s | min–max s |\n|---|---:|---:|")
    for name, values in times.items():
        print(f"| {name} | {statistics.median(values):.2f} | {min(values):.2f}–{max(values):.2f} |")


if __name__ == "__main__":
    main()
