"""Run folders written by spectrocanvas 0.1 resume when the same command runs again (their
run.json files, as 0.1 wrote them, are in tests/data/runs-0.1/)."""

import json
import shlex
from pathlib import Path

import pytest

from spectrocanvas.cli.commands import build_parser
from spectrocanvas.cli.options import runtime_from_args, settings_from_args
from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.files.records import write_json
from spectrocanvas.generate.legacy import upgrade_identity
from spectrocanvas.generate.resolve import resolve_settings
from spectrocanvas.generate.runs import prepare_run_folder, run_identity
from spectrocanvas.pairs.registry import get_pair

RUNS = sorted((Path(__file__).parent / "data" / "runs-0.1").glob("*.json"))


def _command(record: dict):
    """The settings, runtime and pair of the command that made a 0.1 run (as today's CLI reads it)."""
    args = build_parser().parse_args(shlex.split(record["provenance"]["command"])[1:])
    runtime = runtime_from_args(args)
    return resolve_settings(settings_from_args(args), pair=runtime.pair, method=args.method), runtime


@pytest.mark.parametrize("path", RUNS, ids=[p.stem for p in RUNS])
def test_the_same_command_has_the_identity_of_a_0_1_run(path):
    record = json.loads(path.read_text())
    settings, runtime = _command(record)
    assert upgrade_identity(record["identity"]) == run_identity(settings, runtime, get_pair(runtime.pair))


def test_a_0_1_run_folder_resumes_and_refuses_other_settings_saying_which(tmp_path):
    record = json.loads((Path(__file__).parent / "data" / "runs-0.1" / "pocket-denoise.json").read_text())
    settings, runtime = _command(record)
    folder = tmp_path / "run"
    (folder / "sample_000").mkdir(parents=True)
    write_json(folder / "run.json", record)
    assert prepare_run_folder(folder, settings.with_(n=3), runtime, overwrite=False) == [1, 2]
    assert json.loads((folder / "run.json").read_text())["format"] == 2  # written again in today's form
    write_json(folder / "run.json", record)
    other = settings.with_members(audio={"guidance": 7.0})
    with pytest.raises(SpectrocanvasError, match="audio_guidance 5.0 there, 7.0 here"):
        prepare_run_folder(folder, other, runtime, overwrite=False)
    assert (folder / "sample_000").is_dir()
