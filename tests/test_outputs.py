"""Output folders appear whole or not at all, and never replace a folder unless asked."""

import pytest

from spectrocanvas.errors import OutputExistsError
from spectrocanvas.files.atomic import atomic_path, output_folder
from spectrocanvas.files.records import read_json, write_json


def test_folder_appears_only_on_success(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(RuntimeError):
        with output_folder(target) as staging:
            (staging / "half.txt").write_text("x")
            raise RuntimeError("boom")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []  # no staging left behind
    with output_folder(target) as staging:
        (staging / "whole.txt").write_text("x")
    assert (target / "whole.txt").read_text() == "x"


def test_existing_folder_is_refused_then_replaced_when_asked(tmp_path):
    target = tmp_path / "out"
    with output_folder(target) as staging:
        write_json(staging / "meta.json", {"provenance": {}})
        (staging / "old.txt").write_text("ours")
    assert read_json(target / "meta.json")["files"] == ["meta.json", "old.txt"]
    with pytest.raises(OutputExistsError, match="--overwrite"):
        with output_folder(target):
            pass
    with pytest.raises(ValueError):
        with output_folder(target, overwrite=True) as staging:
            raise ValueError
    assert (target / "old.txt").read_text() == "ours"  # a failed overwrite loses nothing
    with output_folder(target, overwrite=True) as staging:
        (staging / "new.txt").write_text("n")
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_overwrite_refuses_a_folder_holding_files_spectrocanvas_did_not_write(tmp_path, monkeypatch):
    target = tmp_path / "out"
    with output_folder(target) as staging:
        write_json(staging / "meta.json", {"provenance": {}})
    (target / "keep.txt").write_text("the user's")
    with pytest.raises(OutputExistsError, match="keep.txt"):
        with output_folder(target, overwrite=True):
            pass
    assert (target / "keep.txt").read_text() == "the user's"
    (target / "keep.txt").unlink()
    (target / "input.png").write_bytes(b"x")
    with pytest.raises(OutputExistsError, match="holds the input"):
        with output_folder(target, overwrite=True, inputs=[target / "input.png"]):
            pass
    monkeypatch.chdir(target)
    with pytest.raises(OutputExistsError, match="current folder"):
        with output_folder(target, overwrite=True):
            pass
    assert (target / "input.png").exists()


def test_a_killed_writers_staging_folder_is_swept_by_the_next_run(tmp_path):
    import os
    import time

    stale = tmp_path / ".out.partial-abcd1234"
    stale.mkdir()
    (stale / "audio.wav").write_bytes(b"half")
    old = time.time() - 60
    os.utime(stale, (old, old))
    other = tmp_path / ".elsewhere.partial-abcd1234"  # another target's: not this run's to sweep
    other.mkdir()
    os.utime(other, (old, old))
    with output_folder(tmp_path / "out") as staging:
        (staging / "a.txt").write_text("a")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".elsewhere.partial-abcd1234", "out"]


def test_a_sweep_takes_a_fresh_killed_writers_folder_but_not_a_live_or_just_created_one(tmp_path):
    import fcntl
    import os

    from spectrocanvas.files.atomic import sweep_stale

    killed = tmp_path / ".out.partial-killed00"  # written into, unlocked: its writer is gone, however recent
    killed.mkdir()
    (killed / "audio.wav").write_bytes(b"half")
    created = tmp_path / ".out.partial-created0"  # empty and young: its writer may be about to lock it
    created.mkdir()
    live = tmp_path / ".out.partial-live0000"  # locked by a live writer
    live.mkdir()
    (live / "audio.wav").write_bytes(b"half")
    handle = os.open(live, os.O_RDONLY)
    fcntl.flock(handle, fcntl.LOCK_EX)
    try:
        assert sweep_stale(tmp_path, "out") == [killed]
    finally:
        os.close(handle)
    assert sorted(p.name for p in tmp_path.iterdir()) == [created.name, live.name]


def test_json_round_trip_handles_non_finite(tmp_path):
    write_json(tmp_path / "m.json", {"a": float("nan"), "b": [1, 2.5], "c": {"d": "e"}})
    assert read_json(tmp_path / "m.json") == {"a": None, "b": [1, 2.5], "c": {"d": "e"}}


def test_atomic_path_replaces_only_on_success_and_leaves_no_litter(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as temporary:
            temporary.write_text("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
    with atomic_path(target) as temporary:
        assert temporary.parent == tmp_path and temporary.suffix == ".txt"
        temporary.write_text("new")
    assert target.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_written_files_and_folders_follow_the_umask(tmp_path):
    import os

    previous = os.umask(0o027)
    try:
        write_json(tmp_path / "m.json", {"a": 1})
        with output_folder(tmp_path / "out") as staging:
            (staging / "x").write_text("x")
    finally:
        os.umask(previous)
    assert (tmp_path / "m.json").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o750
