"""The full pocket comparison, one process against an accelerate launch of several, on this machine.

Runs `spectrocanvas compare --preset pocket` (every class pair, the pair's samples per pair, every
method: 1,024 samples) twice, back to back: as one process (torch's own threads) and as
``accelerate launch --num_processes P`` on the CPU (one thread each, as accelerate sets them).
Reports each command's wall time (start-up, models, scoring and the table included), samples per
minute, the speed-up, whether the two output trees are the same file by file (timings and
provenance apart), and the table.

    .venv/bin/python benchmarks/bench_scale_out.py [--processes 2] [-n 4] [--video] [--markdown scale.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from spectrocanvas.files.trees import tree_differences


def machine() -> str:
    """The CPU's model name and its cores, as a figure's caption names them."""
    model = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        model = names[0] if names else model
    return f"{model}, {os.cpu_count()} cores"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def compare_command(out: Path, args: argparse.Namespace, processes: int) -> list[str]:
    """The compare command as a user types it: alone, or under accelerate's CPU launch."""
    command = ["compare", "--preset", "pocket", "-o", str(out), "--quiet", *(["-n", str(args.n)] if args.n else []),
               *([] if args.video else ["--no-video"])]
    if processes == 1:
        return [sys.executable, "-m", "spectrocanvas", *command]
    return [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(processes),
            "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
            "--main_process_port", str(free_port()), "-m", "spectrocanvas", *command]


def timed_run(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stdout}\n{done.stderr}")
    return seconds, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=2, help="processes of the accelerate launch (default 2)")
    parser.add_argument("-n", type=int, default=None, help="samples per class pair (default: the pair's, 4)")
    parser.add_argument("--video", action="store_true", help="make video.mp4 too (compare's default)")
    parser.add_argument("--keep", metavar="DIR", default=None, help="keep both output trees under DIR")
    parser.add_argument("--json", default=None, help="write the figures here")
    parser.add_argument("--markdown", default=None, help="write the table here")
    args = parser.parse_args()

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-scale-out-"))
    trees = {1: root / "one-process", args.processes: root / f"{args.processes}-processes"}
    figures = {}
    for processes, out in trees.items():
        if out.exists():
            sys.exit(f"{out} exists; give another --keep folder")
        seconds, output = timed_run(compare_command(out, args, processes))
        samples = len(list(out.glob("*/pair_*/sample_*")))
        figures[processes] = {"seconds": round(seconds, 1), "samples": samples,
                              "samples_per_minute": round(samples / seconds * 60, 1), "table": output}
        print(f"{processes} process(es): {samples} samples in {seconds / 60:.1f} min", file=sys.stderr)
    one, many = figures[1], figures[args.processes]
    differences = tree_differences(trees[1], trees[args.processes])
    result = {"machine": machine(), "processes": args.processes, "video": args.video, "one": one, "many": many,
              "speedup": round(one["seconds"] / many["seconds"], 2), "same_files": not differences,
              "differences": differences[:20]}
    lines = [f"Machine: {result['machine']}; video {'on' if args.video else 'off'}.", "",
             "| command | samples | wall time | samples per minute |", "|---|---:|---:|---:|",
             f"| one process | {one['samples']} | {one['seconds'] / 60:.1f} min | {one['samples_per_minute']} |",
             f"| accelerate launch, {args.processes} processes | {many['samples']} | {many['seconds'] / 60:.1f} min "
             f"| {many['samples_per_minute']} |", "",
             f"Speed-up: **{result['speedup']}×**; output trees the same file by file (timings and provenance "
             f"apart): **{'yes' if not differences else 'no: ' + '; '.join(differences[:5])}**.", "",
             one["table"].split("\nwrote ")[0].strip()]
    markdown = "\n".join(lines)
    print(markdown)
    if args.markdown:
        Path(args.markdown).write_text(markdown + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
