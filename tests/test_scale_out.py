"""Splitting runs across processes: every sample made by exactly one process, the files those of one
process, and a run resumed after a process was lost. Processes are threads here, with a barrier as
accelerate's `wait_for_everyone` (the real launch is in test_scale_out_launch.py, slow)."""

import dataclasses
import json
import os
import threading
import time
from pathlib import Path

import pytest
from pocket_tiny import write_tiny_pocket

from spectrocanvas.errors import OutputExistsError
from spectrocanvas.files.trees import tree_differences
from spectrocanvas.generate import runs as runs_module
from spectrocanvas.generate.resolve import resolve_settings
from spectrocanvas.generate.runs import add_videos, make_runs, unit_batches
from spectrocanvas.measure import compare as compare_module
from spectrocanvas.measure.evaluate import Evaluation
from spectrocanvas.pairs.interface import Runtime
from spectrocanvas.pairs.pocket.weights import WEIGHTS_ENV
from spectrocanvas.support.processes import Processes

RUNTIME = Runtime(pair="pocket", video=False, batch_size=3)
PROMPTS = [("triangle", "bell", 3, 0), ("circle", "drone", 4, 10), ("star", "rain", 2, 20)]
"""(image, audio, samples, first seed): three prompt pairs of different sizes, so batches span pairs."""


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory):
    return write_tiny_pocket(tmp_path_factory.mktemp("pocket-weights"), judges=False)


@pytest.fixture
def pocket_weights(weights_dir, monkeypatch):
    monkeypatch.setenv(WEIGHTS_ENV, str(weights_dir))
    return weights_dir


def _runs(root: Path, *, steps: int = 4):
    return [(root / f"{image}-{audio}",
             resolve_settings({"image_prompt": image, "audio_prompt": audio, "n": n, "seed": seed, "steps": steps},
                              pair="pocket"))
            for image, audio, n, seed in PROMPTS]


class _Barrier:
    """accelerate's PartialState as far as Processes uses it: a barrier shared by the threads."""

    def __init__(self, barrier: threading.Barrier):
        self.barrier = barrier

    def wait_for_everyone(self) -> None:
        self.barrier.wait(timeout=120)


def _in_threads(count: int, job) -> None:
    """Run ``job(processes)`` as ``count`` processes (threads); re-raise the first failure."""
    barrier, failures = threading.Barrier(count), []

    def run(index: int) -> None:
        try:
            job(Processes(index=index, count=count, _state=_Barrier(barrier)))
        except BaseException as error:  # noqa: BLE001 - handed to the test thread
            failures.append(error)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_each_item_goes_to_exactly_one_process(count):
    items = list(range(11))
    shares = [Processes(index=i, count=count).mine(items) for i in range(count)]
    assert sorted(x for share in shares for x in share) == items
    assert max(map(len, shares)) - min(map(len, shares)) <= 1  # balanced


def test_batches_span_prompt_pairs_and_do_not_depend_on_what_is_done(tmp_path):
    runs = _runs(tmp_path)
    batches = unit_batches(runs, 3)
    assert [len(b) for b in batches] == [3, 3, 3]  # 9 samples, three to a batch, across the pairs
    assert [(u.folder.name, u.index) for u in batches[1]] == [("circle-drone", 0), ("circle-drone", 1),
                                                              ("circle-drone", 2)]
    assert [u.seed for u in batches[2]] == [13, 20, 21]
    (runs[0][0] / "sample_000").mkdir(parents=True)  # a finished sample changes nothing
    assert unit_batches(runs, 3) == batches
    other = _runs(tmp_path, steps=5)[:1] + runs[1:]  # settings that differ beyond prompts and seeds: apart
    assert [[(u.folder.name, u.settings.steps) for u in b] for b in unit_batches(other, 3)][0] == [
        ("triangle-bell", 5)] * 3


def test_two_processes_write_the_files_one_process_writes(pocket_weights, tmp_path, monkeypatch):
    make_runs(_runs(tmp_path / "one"), RUNTIME)
    written: list[tuple[str, int]] = []
    write_sample = runs_module.write_sample

    def counting_write(folder, index, **kwargs):
        written.append((Path(folder).name, index))
        return write_sample(folder, index, **kwargs)

    monkeypatch.setattr(runs_module, "write_sample", counting_write)
    _in_threads(2, lambda processes: make_runs(_runs(tmp_path / "two"), RUNTIME, processes=processes))
    assert len(written) == len(set(written)) == 9  # every sample written, by one process
    assert tree_differences(tmp_path / "one", tmp_path / "two") == []


def test_a_run_left_by_a_lost_process_is_finished_by_a_relaunch(pocket_weights, tmp_path):
    make_runs(_runs(tmp_path / "one"), RUNTIME)
    alone_of_two = Processes(index=0, count=2)  # process 1 died before writing anything
    make_runs(_runs(tmp_path / "two"), RUNTIME, processes=alone_of_two)
    done = sorted(p.relative_to(tmp_path / "two") for p in (tmp_path / "two").glob("*/sample_*"))
    assert 0 < len(done) < 9
    stamps = {p: (tmp_path / "two" / p / "meta.json").stat().st_mtime_ns for p in done}
    _in_threads(2, lambda processes: make_runs(_runs(tmp_path / "two"), RUNTIME, processes=processes))
    assert tree_differences(tmp_path / "one", tmp_path / "two") == []
    assert {p: (tmp_path / "two" / p / "meta.json").stat().st_mtime_ns for p in done} == stamps  # not redone


def test_a_refused_folder_stops_every_process_before_anything_changes(pocket_weights, tmp_path):
    runs = _runs(tmp_path)
    runs[1][0].mkdir(parents=True)
    (runs[1][0] / "mine.txt").write_text("not spectrocanvas's")
    with pytest.raises(OutputExistsError):
        _in_threads(2, lambda processes: make_runs(runs, RUNTIME, processes=processes))
    assert sorted(p.name for p in tmp_path.iterdir()) == [runs[1][0].name]
    assert (runs[1][0] / "mine.txt").read_text() == "not spectrocanvas's"


def test_tree_differences_ignore_only_timings_and_provenance(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name / "s").mkdir(parents=True)
        (tmp_path / name / "s" / "audio.wav").write_bytes(b"RIFF1")
    (tmp_path / "a" / "s" / "meta.json").write_text('{"seed": 1, "timings": {"sample": 0.5}, "provenance": {"x": 1}}')
    (tmp_path / "b" / "s" / "meta.json").write_text('{"seed": 1, "timings": {"sample": 0.7}, "provenance": {"x": 2}}')
    assert tree_differences(tmp_path / "a", tmp_path / "b") == []
    (tmp_path / "b" / "s" / "meta.json").write_text('{"seed": 2, "timings": {"sample": 0.7}}')
    (tmp_path / "b" / "s" / "audio.wav").write_bytes(b"RIFF2")
    (tmp_path / "b" / "extra.txt").write_text("")
    assert tree_differences(tmp_path / "a", tmp_path / "b") == [
        f"only in {tmp_path / 'b'}: extra.txt", "differs: s/audio.wav", "differs: s/meta.json"]


def test_videos_added_to_a_finished_run_are_the_videos_made_with_it(pocket_weights, tmp_path):
    with_videos = dataclasses.replace(RUNTIME, video=True)
    make_runs(_runs(tmp_path / "inline")[:1], with_videos)
    samples = make_runs(_runs(tmp_path / "later")[:1], RUNTIME)
    assert not list((tmp_path / "later").rglob("video.mp4"))
    killed = samples[0] / ".video.mp4.partial-killed.mp4"
    killed.write_bytes(b"half a video")  # left by a killed process a minute ago (no lock holds it)
    os.utime(killed, (time.time() - 60, time.time() - 60))
    _in_threads(2, lambda processes: add_videos(samples, processes=processes))
    assert tree_differences(tmp_path / "inline", tmp_path / "later") == []
    assert make_runs(_runs(tmp_path / "later")[:1], with_videos) == samples  # nothing left to add


def test_a_run_recorded_with_its_video_choice_resumes_either_way(pocket_weights, tmp_path):
    runs = _runs(tmp_path)[:1]
    make_runs(runs, RUNTIME)
    run_file = runs[0][0] / "run.json"
    record = json.loads(run_file.read_text())
    record["identity"]["video"] = True  # as spectrocanvas 0.2.0 recorded it
    run_file.write_text(json.dumps(record))
    assert len(make_runs(runs, RUNTIME)) == 3


def test_compare_writes_its_table_before_the_videos(pocket_weights, tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(compare_module, "evaluate", lambda root, **kwargs: Evaluation(
        records=[], scored=[], markdown="", csv="", pair="pocket"))
    monkeypatch.setattr(compare_module, "summary_table", lambda *args, **kwargs: ("| table |", "table\n"))

    def on_table(result):
        seen.append((result.markdown, len(list((tmp_path / "c").rglob("video.mp4")))))

    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"image_prompt": "star", "audio_prompt": "bell"}\n'
                     '{"image_prompt": "circle", "audio_prompt": "rain"}\n')
    result = compare_module.compare(output=tmp_path / "c", runtime=dataclasses.replace(RUNTIME, video=True),
                                    methods=["denoise", "image-only"], pairs_file=pairs,
                                    options={"n": 1, "steps": 2}, on_table=on_table)
    assert seen == [("| table |", 0)]  # the table was there before any video
    assert len(result.videos) == 4 and all((v / "video.mp4").is_file() for v in result.videos)


def test_each_process_runs_on_its_own_device_unless_one_is_named():
    third = Processes(index=2, count=4, device="cuda:2")
    assert third.device_for(None) == third.device_for("cuda") == "cuda:2"
    assert third.device_for("cuda:0") == "cuda:0" and third.device_for("cpu") == "cpu"
    assert Processes().device_for(None) is None and Processes().device_for("cuda") == "cuda"
