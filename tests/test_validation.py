"""Bad values a user can type, fed through the real command line: each ends in one line
``spectrocanvas: error: …`` on stderr, a non-zero exit, and nothing left behind (no output folder,
no hidden ``.OUT.partial-…``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PIL import Image

from spectrocanvas.cli import main

POCKET = ["generate", "--preset", "pocket", "--image-prompt", "circle", "--audio-prompt", "bell", "--steps", "2",
          "--no-video", "--quiet"]


def one_line_error(text: str) -> str:
    """The whole of stderr: exactly one line, the CLI's error line, no traceback."""
    lines = text.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in text, text
    assert lines[0].startswith("spectrocanvas: error: "), text
    return lines[0]


def leftovers(folder: Path, keep: set[str] = frozenset()) -> list[str]:
    """What a command left in ``folder`` beyond the inputs in ``keep`` (hidden staging entries included)."""
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


@pytest.fixture()
def inputs(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "inputs"
    folder.mkdir()
    picture = folder / "pic.png"
    Image.fromarray((np.random.default_rng(0).random((40, 60)) * 255).astype(np.uint8)).save(picture)
    sound = folder / "snd.wav"
    soundfile.write(sound, (0.1 * np.random.default_rng(1).standard_normal(8000)).astype(np.float32), 16000)
    return {"picture": picture, "sound": sound}


def _refused(argv: list[str], capsys, where: Path, expected: str) -> None:
    before = leftovers(where)
    assert main(argv) == 2
    assert expected in one_line_error(capsys.readouterr().err)
    assert leftovers(where) == before


@pytest.mark.parametrize("extra,expected", [
    (["--seed", "1180591620717411303424"], "--seed must be between 0 and"),
    (["--seed", "-1"], "--seed must be between 0 and"),
    (["--image-guidance", "nan"], "--image-guidance must be a finite number"),
    (["--audio-guidance", "inf"], "--audio-guidance must be a finite number"),
    (["--audio-guidance=-inf"], "--audio-guidance must be a finite number"),
    (["--image-weight", "nan"], "--image-weight"),
    (["--audio-weight", "inf"], "--audio-weight"),
    (["--audio-weight=-inf"], "--audio-weight"),  # not the image weight derived from it
    (["--seconds", "nan"], "--seconds"),
    (["--seconds", "inf"], "--seconds"),
    (["--seconds=-2"], "--seconds"),
    (["--peak-db", "nan"], "--peak-db"),
    (["--peak-db", "inf"], "--peak-db"),
    (["--keep-top", "nan"], "--keep-top"),
    (["--batch-size", "0"], "--batch-size must be at least 1"),
    (["--batch-size=-4"], "--batch-size must be at least 1"),
    (["-n", "0"], "-n must be between 1"),
    (["-n=-3"], "-n must be between 1"),
    (["--steps", "0"], "--steps must be between 1"),
    (["--method", "sds", "--sds-lr", "nan"], "--sds-lr"),
    (["--method", "sds", "--sds-iterations", "0"], "--sds-iterations"),
])
def test_generate_refuses_bad_numbers(extra, expected, tmp_path, capsys):
    _refused(POCKET + ["-o", str(tmp_path / "out")] + extra, capsys, tmp_path, expected)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "2"])
def test_generate_refuses_a_strength_that_is_not_a_fraction(value, inputs, tmp_path, capsys):
    argv = ["generate", "--preset", "pocket", "--audio-prompt", "bell", "--init-image", str(inputs["picture"]),
            "--steps", "2", "--quiet", "-o", str(tmp_path / "out"), f"--strength={value}"]
    _refused(argv, capsys, tmp_path, "--strength must be between 0 and 1")


@pytest.mark.parametrize("option,values,expected", [
    ("--seconds", ["nan", "inf", "-inf", "-3", "0"], "--seconds must be between"),
    ("--peak-db", ["nan", "inf", "-inf"], "--peak-db must be between"),
    ("--iterations", ["-1"], "--iterations must be between"),
])
def test_sonify_and_imprint_refuse_bad_numbers(option, values, expected, inputs, tmp_path, capsys):
    for value in values:
        _refused(["sonify", str(inputs["picture"]), "-o", str(tmp_path / "out"), f"{option}={value}", "--quiet"],
                 capsys, tmp_path, expected)
        _refused(["imprint", "--image", str(inputs["picture"]), "--audio", str(inputs["sound"]), "-o",
                  str(tmp_path / "out"), f"{option}={value}", "--quiet"], capsys, tmp_path, expected)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1.5", "-0.1"])
def test_imprint_refuses_a_strength_that_is_not_a_fraction(value, inputs, tmp_path, capsys):
    _refused(["imprint", "--image", str(inputs["picture"]), "--audio", str(inputs["sound"]), "-o",
              str(tmp_path / "out"), f"--strength={value}", "--quiet"], capsys, tmp_path, "--strength must be between")


def test_empty_prompts_are_refused(tmp_path, capsys):
    base = ["generate", "--preset", "pocket", "--steps", "2", "--quiet", "-o", str(tmp_path / "out")]
    _refused(base + ["--image-prompt", "", "--audio-prompt", "bell"], capsys, tmp_path, "--image-prompt is empty")
    _refused(base + ["--image-prompt", "circle", "--audio-prompt", "  "], capsys, tmp_path, "--audio-prompt is empty")


def test_pictures_that_are_not_pictures_are_refused(inputs, tmp_path, capsys):
    empty = inputs["picture"].parent / "empty.png"
    empty.write_bytes(b"")
    folder = inputs["picture"].parent / "a-folder.png"
    folder.mkdir()
    for picture, expected in ((empty, "is empty (0 bytes)"), (folder, "is a folder, not a file")):
        _refused(["sonify", str(picture), "-o", str(tmp_path / "out"), "--quiet"], capsys, tmp_path, expected)
        _refused(["imprint", "--image", str(picture), "--audio", str(inputs["sound"]), "-o", str(tmp_path / "out"),
                  "--quiet"], capsys, tmp_path, expected)
    _refused(["imprint", "--image", str(inputs["picture"]), "--audio", str(folder), "-o", str(tmp_path / "out"),
              "--quiet"], capsys, tmp_path, "is a folder, not a file")


def test_a_decompression_bomb_is_refused(inputs, tmp_path, capsys):
    bomb = inputs["picture"].parent / "bomb.png"
    Image.new("1", (20000, 20000)).save(bomb)  # 400 megapixels in a few dozen kilobytes
    _refused(["sonify", str(bomb), "-o", str(tmp_path / "out"), "--quiet"], capsys, tmp_path, "bomb.png")


GARBAGE_MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + np.random.default_rng(1).integers(0, 256, 20000, np.uint8).tobytes()
"""Random bytes behind an ID3 tag: mpg123 prints "Note: Illegal Audio-MPEG-Header" lines on stderr
while libsndfile gives up with "possibly a pipe?"."""


def test_garbage_named_mp3_is_one_clear_line_without_decoder_noise(inputs, tmp_path, capfd):
    garbage = inputs["picture"].parent / "garbage.mp3"
    garbage.write_bytes(GARBAGE_MP3)
    commands = [
        ["analyze", str(garbage), "-o", str(tmp_path / "out.png")],
        ["imprint", "--image", str(inputs["picture"]), "--audio", str(garbage), "-o", str(tmp_path / "out"), "--quiet"],
        POCKET[:5] + ["--init-audio", str(garbage), "--steps", "2", "--quiet", "-o", str(tmp_path / "out")],
    ]
    for argv in commands:
        assert main(argv) == 2
        line = one_line_error(capfd.readouterr().err)  # the file descriptor: C libraries write there
        assert "is not an audio file" in line and "pipe" not in line
        assert leftovers(tmp_path) == ["inputs"]


def test_analyze_refuses_an_output_that_is_not_png(inputs, tmp_path, capsys):
    for name in ("x.jpg", "x.wav", "x"):
        _refused(["analyze", str(inputs["sound"]), "-o", str(tmp_path / name)], capsys, tmp_path, "FILE.png")


@pytest.mark.parametrize("suffix,rows,line", [
    (".jsonl", '{"image_prompt": "circle", "audio_prompt": "bell"}\n'
               '{"image_prompt": "square", "audio_prompt": "bell", "n": -3}\n', 2),
    (".csv", "image_prompt,audio_prompt,n\ncircle,bell,1\nsquare,bell,1\nstar,bell,-3\n", 4),
])
def test_a_bad_prompt_pair_row_is_refused_with_its_line_number(suffix, rows, line, tmp_path, capsys):
    pairs = tmp_path / f"pairs{suffix}"
    pairs.write_text(rows)
    argv = ["generate", "--preset", "pocket", "--pairs", str(pairs), "--steps", "2", "--quiet", "-o",
            str(tmp_path / "out")]
    _refused(argv, capsys, tmp_path, f"pairs{suffix}:{line}: -n must be between 1 and 100000, not -3")


@pytest.mark.parametrize("command", [["generate", "--image-prompt", "a castle", "--audio-prompt", "bells ringing",
                                      "--score"], ["compare"]])
def test_missing_weights_name_every_model_with_its_download_command_and_make_no_folder(command, tmp_path):
    """The default pair with --score (compare always scores) in a fresh, empty Hugging Face home, offline:
    one line listing SD 1.5, Auffusion, CLIP and CLAP, each with `hf download`, and no output folder (not
    even one with run.json)."""
    from spectrocanvas.pairs.clip_clap import CLAP_PRESET, CLIP_PRESET
    from spectrocanvas.pairs.sd_models import SOURCE_ALIASES

    home = tmp_path / "hf-home"
    home.mkdir()
    env = {**os.environ, "HF_HOME": str(home), "HF_HUB_CACHE": str(home / "hub"), "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parents[1] / "src"),
                                                       os.environ.get("PYTHONPATH")]))}
    work = tmp_path / "work"
    work.mkdir()
    result = subprocess.run([sys.executable, "-m", "spectrocanvas", *command, "-o", "castle", "--quiet"],
                            cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    line = one_line_error(result.stderr)
    for repo in (SOURCE_ALIASES["sd15"], SOURCE_ALIASES["auffusion"], CLIP_PRESET, CLAP_PRESET):
        assert f"hf download {repo}" in line
    for option in ("--image-model", "--audio-model", "--clip-model", "--clap-model"):
        assert option in line
    assert "huggingface-cli" not in line
    assert leftovers(work) == []
    assert not any(home.rglob("*.lock"))  # the check only looked: nothing was fetched or begun


def _full_disk_at(monkeypatch, name: str) -> None:
    """Make the writer underneath each kind of file fail with ENOSPC for the file called ``name`` only."""
    import errno
    import pathlib

    import av
    from PIL import Image as PILImage

    def full(path: object) -> bool:
        return Path(str(path)).name == name or Path(str(path)).name.startswith(f".{name}.partial-")

    def no_space(path: object) -> OSError:
        return OSError(errno.ENOSPC, "No space left on device", str(path))

    real_bytes, real_text, real_save, real_open = (pathlib.Path.write_bytes, pathlib.Path.write_text,
                                                   PILImage.Image.save, av.open)
    real_path_open = pathlib.Path.open

    def path_open(self, mode="r", *args, **kwargs):
        if "w" in mode and full(self):
            raise no_space(self)
        return real_path_open(self, mode, *args, **kwargs)

    def write_bytes(self, data):
        if full(self):
            raise no_space(self)
        return real_bytes(self, data)

    def write_text(self, *args, **kwargs):
        if full(self):
            raise no_space(self)
        return real_text(self, *args, **kwargs)

    def save(self, path, *args, **kwargs):
        if full(path):
            raise no_space(path)
        return real_save(self, path, *args, **kwargs)

    def open_(path, *args, **kwargs):
        if full(path):
            raise no_space(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "write_bytes", write_bytes)
    monkeypatch.setattr(pathlib.Path, "write_text", write_text)
    monkeypatch.setattr(pathlib.Path, "open", path_open)
    monkeypatch.setattr(PILImage.Image, "save", save)
    monkeypatch.setattr(av, "open", open_)


@pytest.mark.parametrize("name,extra", [
    ("canvas.png", []), ("audio.wav", []), ("audio.wav", ["--audio-format", "pcm16"]),
    ("audio.flac", ["--audio-format", "flac"]), ("spectrogram.png", []), ("video.mp4", []), ("meta.json", []),
])
def test_a_full_disk_while_writing_any_file_is_one_line_and_leaves_nothing(name, extra, inputs, tmp_path, capsys,
                                                                           monkeypatch):
    _full_disk_at(monkeypatch, name)
    out = tmp_path / "out"
    assert main(["sonify", str(inputs["picture"]), "-o", str(out), "--seconds", "0.5", "--quiet", *extra]) == 3
    line = one_line_error(capsys.readouterr().err)
    assert f"no space left on the device while writing '{out / name}'" in line  # where it would have been
    assert leftovers(tmp_path) == ["inputs"]


def test_a_full_disk_in_generate_and_analyze_is_one_line(inputs, tmp_path, capsys, monkeypatch):
    _full_disk_at(monkeypatch, "image.png")
    out = tmp_path / "run"
    assert main(POCKET + ["-o", str(out)]) == 3
    assert "while writing" in one_line_error(capsys.readouterr().err)
    assert not out.exists()  # not even the run folder with its run.json
    _full_disk_at(monkeypatch, "a.png")
    assert main(["analyze", str(inputs["sound"]), "-o", str(tmp_path / "a.png")]) == 3
    assert "no space left" in one_line_error(capsys.readouterr().err)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "run") == ["inputs"]


def test_a_real_full_disk(inputs, tmp_path):
    """A 200 KB tmpfs (where this machine lets us mount one): sonify fills it; one line, nothing left."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        result = subprocess.run([sys.executable, "-m", "spectrocanvas", "sonify", str(inputs["picture"]), "-o",
                                 str(disk / "out"), "--quiet"], capture_output=True, text=True, timeout=300,
                                env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [
                                    str(Path(__file__).parents[1] / "src"), os.environ.get("PYTHONPATH")]))})
        assert result.returncode == 3
        assert "no space left on the device while writing" in one_line_error(result.stderr)
        assert leftovers(disk) == []
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def _start_sonify(picture: Path, out: Path) -> subprocess.Popen:
    """A sonify long enough to be caught mid-run (20 s canvas, with its video)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parents[1] / "src"),
                                                                    os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen([sys.executable, "-m", "spectrocanvas", "sonify", str(picture), "-o", str(out),
                             "--seconds", "20", "--quiet"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _staging_once(folder: Path, process: subprocess.Popen, *, written: bool) -> Path:
    """Wait until the run's staging folder appears (``written``: and holds a file)."""
    import time

    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        for staging in folder.glob(".out.partial-*"):
            if not written or any(staging.iterdir()):
                return staging
        time.sleep(0.005)
    process.kill()
    pytest.fail("the run finished (or hung) before it could be caught mid-run")


def test_a_run_killed_mid_write_leaves_litter_that_the_next_run_sweeps(inputs, tmp_path, capsys):
    import signal

    process = _start_sonify(inputs["picture"], tmp_path / "out")
    staging = _staging_once(tmp_path, process, written=True)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert staging.is_dir() and any(staging.iterdir())  # what kill -9 leaves: nothing could clean up
    assert main(["sonify", str(inputs["picture"]), "-o", str(tmp_path / "out"), "--seconds", "0.3", "--no-video",
                 "--quiet"]) == 0
    assert leftovers(tmp_path) == ["inputs", "out"]


def test_sigterm_mid_run_is_one_line_and_leaves_nothing(inputs, tmp_path):
    import signal

    process = _start_sonify(inputs["picture"], tmp_path / "out")
    _staging_once(tmp_path, process, written=False)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM
    assert "terminated" in one_line_error(err)
    assert leftovers(tmp_path) == ["inputs"]


def test_outputs_follow_the_umask_video_included(inputs, tmp_path):
    previous = os.umask(0o027)
    try:
        assert main(["sonify", str(inputs["picture"]), "-o", str(tmp_path / "out" / "deeper"), "--seconds", "0.3",
                     "--quiet"]) == 0
        assert main(POCKET[:-2] + ["-o", str(tmp_path / "run")]) == 0  # with its video
    finally:
        os.umask(previous)
    made = [*(tmp_path / "out").rglob("*"), tmp_path / "out", *(tmp_path / "run").rglob("*"), tmp_path / "run"]
    assert {"video.mp4", "audio.wav", "meta.json", "run.json", "sample_000", "deeper"} <= {p.name for p in made}
    for path in made:
        assert path.stat().st_mode & 0o777 == (0o750 if path.is_dir() else 0o640), path


def test_overwrite_refuses_foreign_files_the_input_and_the_current_folder(inputs, tmp_path, capsys, monkeypatch):
    commands = {
        "sonify": lambda out, *extra: ["sonify", str(inputs["picture"]), "-o", str(out), "--seconds", "0.3",
                                       "--no-video", "--quiet", *extra],
        "generate": lambda out, *extra: POCKET + ["-o", str(out), *extra],
    }
    for name, command in commands.items():
        out = tmp_path / name
        assert main(command(out)) == 0
        ours = sorted(p.name for p in out.rglob("*"))
        (out / "keep.txt").write_text("the user's")
        assert main(command(out, "--overwrite", "--seed", "1")) == 2
        assert "keep.txt" in one_line_error(capsys.readouterr().err)
        (out / "keep.txt").unlink()
        picture = out / "mine.png"
        picture.write_bytes(inputs["picture"].read_bytes())
        held = (["sonify", str(picture), *command(out, "--overwrite")[2:]] if name == "sonify" else
                ["generate", "--preset", "pocket", "--audio-prompt", "bell", "--init-image", str(picture),
                 *POCKET[7:], "-o", str(out), "--overwrite"])
        assert main(held) == 2
        assert "holds the input" in one_line_error(capsys.readouterr().err)
        picture.unlink()
        monkeypatch.chdir(out)
        assert main(command(Path("."), "--overwrite", "--seed", "2")) == 2
        assert "current folder" in one_line_error(capsys.readouterr().err)
        monkeypatch.chdir(tmp_path)
        assert sorted(p.name for p in out.rglob("*")) == ours  # nothing of the first run lost either
        assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name or ".old-" in p.name]


@pytest.mark.parametrize("argv,expected", [
    (["sonify", "x.png", "-o", "y", "--seconds", "abc"], "argument --seconds: invalid float value: 'abc'"),
    (["generate", "--preset", "pocket", "--image-prompt", "circle", "--audio-prompt", "bell", "-o", "y",
      "--image-guidance", "-inf"], "--option=VALUE"),
    (["generate", "--preset", "nope", "-o", "y"], "invalid choice: 'nope'"),
    (["sonify"], "the following arguments are required"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["sonify", "x.png", "-o", "y", "--seconds=--"], "argument --seconds: expected one value"),
    (["imprint", "--image", "x.png", "--audio", "y.wav", "-o", "z", "--peak-db=--"], "--peak-db: expected one value"),
])
def test_mistyped_options_are_one_line_too(argv, expected, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit:
        main(argv)
    assert exit.value.code == 2
    line = one_line_error(capsys.readouterr().err)
    assert expected in line and "--help" in line
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("seed", ["1180591620717411303424", "-1"])
def test_sonify_and_imprint_refuse_seeds_torch_cannot_take(seed, inputs, tmp_path, capsys):
    _refused(["sonify", str(inputs["picture"]), "-o", str(tmp_path / "out"), "--seed", seed, "--quiet"],
             capsys, tmp_path, "--seed must be between 0 and")
    _refused(["imprint", "--image", str(inputs["picture"]), "--audio", str(inputs["sound"]), "-o",
              str(tmp_path / "out"), "--seed", seed, "--quiet"], capsys, tmp_path, "--seed must be between 0 and")


def test_an_existing_output_is_refused_before_any_work_is_shown(inputs, tmp_path, capsys):
    """No progress bar on stderr before the refusal: the output is checked first."""
    taken = tmp_path / "taken.png"
    taken.write_bytes(b"x")
    assert main(["sonify", str(inputs["picture"]), "-o", str(taken)]) == 2
    assert "is not a folder" in one_line_error(capsys.readouterr().err)
    assert main(["imprint", "--image", str(inputs["picture"]), "--audio", str(inputs["sound"]), "-o", str(taken)]) == 2
    assert "is not a folder" in one_line_error(capsys.readouterr().err)


@pytest.mark.parametrize("argv", [
    ["sonify", "{picture}", "-o", ""], ["analyze", "{sound}", "-o", " "], ["demo", "-o", ""],
    ["generate", "--preset", "pocket", "--image-prompt", "circle", "--audio-prompt", "bell", "-o", ""],
    ["compare", "--preset", "pocket", "-o", ""],
])
def test_an_empty_output_path_is_refused_not_read_as_the_current_folder(argv, inputs, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit:
        main([a.format(picture=inputs["picture"], sound=inputs["sound"]) for a in argv])
    assert exit.value.code == 2
    assert "the output path is empty" in one_line_error(capsys.readouterr().err)
    assert leftovers(tmp_path) == ["inputs"]


def test_a_window_stride_below_one_is_refused_even_where_unused(tmp_path, capsys):
    _refused(POCKET + ["-o", str(tmp_path / "out"), "--window-stride", "0"], capsys, tmp_path, "--window-stride")


def test_require_models_names_only_the_missing_ones_once_each(tmp_path):
    from spectrocanvas.pairs.hub import ModelNeed, ModelNotFoundError, require_models

    present = tmp_path / "present"
    present.mkdir()
    needs = [ModelNeed(str(present), "image model", "--image-model"),
             ModelNeed("nobody/audio-model", "audio model", "--audio-model", ("*.json",)),
             ModelNeed("nobody/audio-model", "audio model", "--audio-model", ("vocoder/*",)),  # its vocoder
             ModelNeed("nobody/clip", "CLIP model", "--clip-model"),
             ModelNeed(str(tmp_path / "typo"), "CLAP model", "--clap-model")]
    with pytest.raises(ModelNotFoundError) as error:
        require_models(needs, offline=True)
    message = str(error.value)
    assert "\n" not in message and message.startswith("2 model(s) are not on this machine")
    assert message.count("hf download nobody/audio-model") == 1 and "hf download nobody/clip" in message
    assert "--clap-model" in message and "typo" in message and str(present) not in message
    require_models(needs[:1], offline=True)  # a folder that exists is enough


def test_models_found_in_the_cache_pass_the_check_and_load_by_hub_id(tmp_path, capsys, monkeypatch):
    """The check looks where loading looks: with SD 1.5 alone in the cache only Auffusion is named; with
    both there, the default pair generates by hub id, offline."""
    import tiny_models
    from huggingface_hub import constants

    from spectrocanvas.pairs.cache import clear_model_cache
    from spectrocanvas.pairs.sd_models import SOURCE_ALIASES

    cache = tmp_path / "hf-cache"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    tiny_models.put_in_hf_cache(cache, SOURCE_ALIASES["sd15"], tiny_models.save_tiny_sd)
    capsys.readouterr()  # what saving the tiny models printed
    out = tmp_path / "run"
    argv = ["generate", "--image-prompt", "a castle", "--audio-prompt", "bells", "-o", str(out), "--steps", "3",
            "--image-start", "1", "--no-video", "--quiet"]
    assert main(argv) == 2
    line = one_line_error(capsys.readouterr().err)
    assert f"hf download {SOURCE_ALIASES['auffusion']}" in line and SOURCE_ALIASES["sd15"] not in line
    assert not out.exists()
    tiny_models.put_in_hf_cache(cache, SOURCE_ALIASES["auffusion"], tiny_models.save_tiny_auffusion)
    try:
        assert main(argv) == 0
    finally:
        clear_model_cache()  # the tiny models now answer to the real hub ids: forget them
    meta = json.loads((out / "sample_000" / "meta.json").read_text())
    assert meta["models"]["audio"]["source"] == SOURCE_ALIASES["auffusion"]
    assert meta["models"]["image"]["path"].startswith(str(cache))
