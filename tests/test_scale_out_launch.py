"""`accelerate launch -m spectrocanvas …` with two CPU processes (gloo), as a user launches it: the
files are those of one process, file by file apart from timings, and a launch that lost a process
mid-run is finished by launching it again, with nothing written twice."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from pocket_tiny import write_tiny_pocket

from spectrocanvas.cli import main
from spectrocanvas.files.trees import tree_differences
from spectrocanvas.pairs.pocket.weights import WEIGHTS_ENV

pytestmark = pytest.mark.slow

PAIRS = ('{"image_prompt": "triangle", "audio_prompt": "bell", "n": 5}\n'
         '{"image_prompt": "circle", "audio_prompt": "drone", "n": 7, "seed": 10}\n'
         '{"name": "star in rain", "image_prompt": "star", "audio_prompt": "rain", "n": 4, "seed": 20}\n')
SAMPLES = 16


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory):
    return write_tiny_pocket(tmp_path_factory.mktemp("pocket-weights"))


@pytest.fixture
def pocket_weights(weights_dir, monkeypatch):
    monkeypatch.setenv(WEIGHTS_ENV, str(weights_dir))
    return weights_dir


@pytest.fixture
def pairs_file(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text(PAIRS)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(*args: str, processes: int = 2) -> subprocess.Popen:
    """accelerate's CPU launch of ``spectrocanvas ARGS`` (one thread per process, as it sets)."""
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(processes),
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               "--main_process_port", str(_free_port()), "-m", "spectrocanvas", *args]
    return subprocess.Popen(command, env={**os.environ, "HF_HUB_OFFLINE": "1"}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _finish(process: subprocess.Popen) -> tuple[int, str]:
    output, _ = process.communicate(timeout=600)
    return process.returncode, output


def _generate_args(pairs_file: Path, out: Path) -> list[str]:
    return ["generate", "--preset", "pocket", "--pairs", str(pairs_file), "-o", str(out), "--steps", "12",
            "--batch-size", "2", "--score", "--quiet"]


def test_two_processes_compare_like_one(pocket_weights, pairs_file, tmp_path):
    args = ["compare", "--preset", "pocket", "--pairs", str(pairs_file), "--steps", "6", "--quiet"]
    assert main([*args, "-o", str(tmp_path / "one")]) == 0
    code, output = _finish(_launch(*args, "-o", str(tmp_path / "two")))
    assert code == 0, output
    assert output.count("| Method |") == 1  # the main process alone prints the table
    assert tree_differences(tmp_path / "one", tmp_path / "two") == []
    assert len(list((tmp_path / "two").glob("*/pair_*/sample_*"))) == 4 * SAMPLES  # four methods; rows set n


def test_a_launch_that_lost_a_process_is_finished_by_launching_again(pocket_weights, pairs_file, tmp_path):
    assert main(_generate_args(pairs_file, tmp_path / "one")) == 0
    out = tmp_path / "two"
    launch = _launch(*_generate_args(pairs_file, out))
    deadline = time.monotonic() + 300
    while not list(out.glob("*/sample_*")) and launch.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    workers = [p for p in psutil.Process(launch.pid).children(recursive=True)
               if p.environ().get("LOCAL_RANK") == "1"]
    assert len(workers) == 1
    workers[0].send_signal(signal.SIGKILL)
    code, output = _finish(launch)
    assert code != 0
    finished = sorted(out.glob("*/sample_*"))
    assert 0 < len(finished) < SAMPLES, output
    stamps = {p: (p / "audio.wav").stat().st_mtime_ns for p in finished}

    code, output = _finish(_launch(*_generate_args(pairs_file, out)))
    assert code == 0, output
    assert f"{SAMPLES} sample(s) in {out}/" in output
    assert tree_differences(tmp_path / "one", out) == []
    assert {p: (p / "audio.wav").stat().st_mtime_ns for p in finished} == stamps  # nothing made twice
