"""Output folders appear whole or not at all, and never replace a folder unless asked."""

import pytest

from spectrocanvas.errors import OutputExistsError
from spectrocanvas.outputs import output_folder, read_json, write_json


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
    target.mkdir()
    (target / "old.txt").write_text("keep me")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        with output_folder(target):
            pass
    with pytest.raises(ValueError):
        with output_folder(target, overwrite=True) as staging:
            raise ValueError
    assert (target / "old.txt").read_text() == "keep me"  # a failed overwrite loses nothing
    with output_folder(target, overwrite=True) as staging:
        (staging / "new.txt").write_text("n")
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_json_round_trip_handles_non_finite(tmp_path):
    write_json(tmp_path / "m.json", {"a": float("nan"), "b": [1, 2.5], "c": {"d": "e"}})
    assert read_json(tmp_path / "m.json") == {"a": None, "b": [1, 2.5], "c": {"d": "e"}}
