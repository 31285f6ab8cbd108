"""The web page without a browser: its options table against the CLI, upload limits, paths kept
inside the outputs directory, the handlers' work (the same files as the CLI), and the launched page
driven through gradio_client (errors as one line, traversal refused, a pocket composition with
previews)."""

from __future__ import annotations

import argparse
import json
import os
import socket
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PIL import Image

from spectrocanvas.cli import main
from spectrocanvas.cli.commands import build_parser
from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.pairs.registry import PAIRS
from spectrocanvas.ui import work
from spectrocanvas.ui.app import PAIR_NAMES, UiConfig, launch, one_line, ranked, score_keys
from spectrocanvas.ui.runs import PathRefused, RunStore
from spectrocanvas.ui.tool_options import TOOLS, options_for, tool_arguments
from spectrocanvas.ui.uploads import UploadError, UploadLimits, check_picture, check_recording

NOT_OPTIONS = {"output", "overwrite", "quiet", "image", "audio", "handler", "command", "help"}
"""Parser destinations that are not tool options on the page (files are uploads; the page names outputs)."""


def _subparser(name: str) -> argparse.ArgumentParser:
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return commands.choices[name]


@pytest.mark.parametrize("tool", TOOLS)
def test_the_options_table_has_every_option_of_the_command(tool):
    parser = _subparser(tool)
    dests = {a.dest for a in parser._actions} - NOT_OPTIONS
    assert {row.name for row in options_for(tool)} == dests
    for row in options_for(tool):
        action = next(a for a in parser._actions if a.dest == row.name)
        if action.choices is not None:
            assert set(row.choices) == set(action.choices), row.name
        if not row.optional and action.default is not None:
            assert row.default == action.default, row.name


def test_the_page_names_every_registered_pair():
    assert set(PAIR_NAMES) == set(PAIRS)


def test_tool_arguments_check_values_and_refuse_unknown_names():
    kwargs, sound = tool_arguments("imprint", {"strength": "0.25", "invert": False, "seconds": ""})
    assert kwargs["strength"] == 0.25 and kwargs["invert"] is False and kwargs["seconds"] is None
    assert sound == {"peak_db": -1.0, "keep_level": False, "audio_format": "float"}
    for bad in ({"strength": 2}, {"iterations": 3.5}, {"fit": "zoom"}, {"strength": "nan"}, {"output": "/etc"}):
        with pytest.raises(SpectrocanvasError):
            tool_arguments("imprint", bad)


@pytest.fixture()
def picture(tmp_path) -> Path:
    rng = np.random.default_rng(7)
    path = tmp_path / "held out.png"
    Image.fromarray((rng.random((48, 80, 3)) * 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture()
def recording(tmp_path) -> Path:
    path = tmp_path / "tone.wav"
    t = np.arange(22050) / 22050
    soundfile.write(path, np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 660 * t)], 1) * 0.3, 22050)
    return path


def test_uploads_within_the_limits_pass(picture, recording):
    assert check_picture(str(picture), UploadLimits()) == picture
    assert check_recording(str(recording), UploadLimits()) == recording


def test_uploads_beyond_the_limits_are_one_line(tmp_path, picture, recording):
    big = tmp_path / "big.png"
    Image.new("L", (400, 300)).save(big)
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(300))
    fake_wav = tmp_path / "fake.wav"
    fake_wav.write_bytes(b"RIFF" + os.urandom(200))
    script = tmp_path / "picture.svg"
    script.write_text("<svg onload='alert(1)'/>")
    cases = [
        (check_picture, big, UploadLimits(max_pixels=100_000), "pixels"),
        (check_picture, picture, UploadLimits(max_mb=0.001), "MB"),
        (check_picture, corrupt, UploadLimits(), "not a picture"),
        (check_picture, script, UploadLimits(), "not a picture type"),
        (check_picture, None, UploadLimits(), "upload a picture"),
        (check_recording, fake_wav, UploadLimits(), "not a recording"),
        (check_recording, recording, UploadLimits(max_seconds=0.5), "lasts"),
        (check_recording, picture, UploadLimits(), "not a recording type"),
    ]
    for check, path, limits, words in cases:
        with pytest.raises(UploadError) as caught:
            check(None if path is None else str(path), limits)
        assert words in str(caught.value) and "\n" not in str(caught.value)


def test_paths_outside_the_outputs_are_refused(tmp_path):
    store = RunStore(tmp_path / "outputs")
    run = store.root / "sonify" / "20260101-000000-x-abcd"
    run.mkdir(parents=True)
    (run / "meta.json").write_text("{}")
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "key.txt").write_text("do not serve")
    (store.root / "sonify" / "link").symlink_to(secret)
    assert store.run("sonify/20260101-000000-x-abcd") == run
    assert store.run(str(run)) == run
    for attempt in ["../secret", "sonify/../../secret", str(secret), "/etc", "sonify/link", "sonify/link/key.txt",
                    "sonify/20260101-000000-x-abcd/../../../secret", "", "sonify/\x00", "..", ".", "sonify",
                    "%2e%2e/secret", "sonify/20260101-000000-x-abcd/meta.json"]:
        with pytest.raises(PathRefused):
            store.zip_of(attempt)
    assert [row.name for row in store.history()] == ["sonify/20260101-000000-x-abcd"]


def test_a_zip_holds_the_run_and_nothing_else(tmp_path):
    store = RunStore(tmp_path / "outputs")
    run = store.root / "analyze" / "20260101-000000-y-abcd"
    run.mkdir(parents=True)
    (run / "canvas.png").write_bytes(b"png")
    (run / "outside").symlink_to(tmp_path)
    import zipfile

    with zipfile.ZipFile(store.zip_of("analyze/20260101-000000-y-abcd")) as archive:
        assert archive.namelist() == ["20260101-000000-y-abcd/canvas.png"]


def test_sonify_from_the_page_writes_what_the_cli_writes(tmp_path, picture):
    store = RunStore(tmp_path / "outputs")
    values = {"iterations": 4, "video": False, "seconds": 1.0}
    folder = work.run_sonify(store, UploadLimits(), image=str(picture), values=values)
    assert main(["sonify", str(picture), "-o", str(tmp_path / "cli"), "--iterations", "4", "--no-video",
                 "--seconds", "1", "--quiet"]) == 0
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in (tmp_path / "cli").iterdir())
    page, _ = soundfile.read(folder / "audio.wav")
    cli, _ = soundfile.read(tmp_path / "cli" / "audio.wav")
    assert np.array_equal(page, cli)
    assert store.history()[0].name == store.name_of(folder)


def test_imprint_and_analyze_from_the_page(tmp_path, picture, recording):
    store = RunStore(tmp_path / "outputs")
    carved = work.run_imprint(store, UploadLimits(), image=str(picture), audio=str(recording),
                              values={"iterations": 2, "video": False, "audio_format": "flac"})
    assert {"original.png", "canvas.png", "audio.flac", "spectrogram.png", "meta.json"} <= {p.name for p in carved.iterdir()}
    analysed = work.run_analyze(store, UploadLimits(), audio=str(recording))
    assert Image.open(analysed / "canvas.png").height == 256


def test_the_page_takes_the_cli_view_options(tmp_path, picture, recording):
    store = RunStore(tmp_path / "outputs")
    values = {"iterations": 2, "video": False, "seconds": 1.0, "scale": "log", "view_rate": "22050",
              "fmin": "55", "fmax": "", "pixels_per_octave": "12", "stereo": True}
    folder = work.run_sonify(store, UploadLimits(), image=str(picture), values=values)
    assert main(["sonify", str(picture), "-o", str(tmp_path / "cli"), "--iterations", "2", "--no-video",
                 "--seconds", "1", "--scale", "log", "--sample-rate", "22050", "--fmin", "55",
                 "--pixels-per-octave", "12", "--stereo", "--quiet"]) == 0
    page, rate = soundfile.read(folder / "audio.wav")
    cli, _ = soundfile.read(tmp_path / "cli" / "audio.wav")
    assert rate == 22050 and page.ndim == 2 and page.shape[1] == 2 and np.array_equal(page, cli)
    analysed = work.run_analyze(store, UploadLimits(), audio=str(recording),
                                values={"scale": "linear", "view_rate": 16000, "fmax": "4000"})
    meta = Image.open(analysed / "canvas.png").text
    assert "linear" in json.dumps(meta)
    for bad in ({"scale": "bark"}, {"view_rate": "12345"}, {"fmin": "nan"}, {"phase": "magic"}):
        with pytest.raises(SpectrocanvasError):
            work.run_sonify(store, UploadLimits(), image=str(picture), values=bad)


def test_a_failed_analyze_leaves_no_folder(tmp_path):
    store = RunStore(tmp_path / "outputs")
    silence = tmp_path / "short.wav"
    soundfile.write(silence, np.zeros(50), 16000)
    with pytest.raises(SpectrocanvasError):
        work.run_analyze(store, UploadLimits(), audio=str(silence))
    assert store.history() == []


def test_compose_yields_previews_then_scored_samples(tmp_path):
    store = RunStore(tmp_path / "outputs")
    updates = list(work.compose(store, pair="pocket", values={"image_prompt": "star", "audio_prompt": "drone",
                                                              "n": 2, "steps": 6}))
    previews = [u.preview for u in updates if u.preview is not None]
    assert previews and previews[0].ndim == 2 and previews[0].shape[0] >= 256
    final = updates[-1]
    assert [s.name for s in final.samples] == ["sample_000", "sample_001"]
    keys = score_keys(work_meta := __import__("json").loads((final.samples[0] / "meta.json").read_text()))
    assert "image_judge_score" in keys and work_meta["image_prompt"] == "star"
    assert ranked(final.samples, "image_judge_score")[0] in final.samples


def test_compose_refuses_bad_settings_in_one_line(tmp_path):
    store = RunStore(tmp_path / "outputs")
    for pair, values in [("pocket", {"image_prompt": "castle", "audio_prompt": "bell"}),
                         ("pocket", {"image_prompt": "star", "audio_prompt": "bell", "n": 99}),
                         ("nope", {"image_prompt": "star", "audio_prompt": "bell"}),
                         ("pocket", {"image_prompt": "star", "audio_prompt": "bell", "output": "/tmp"}),
                         ("pocket", {"image_prompt": "star", "audio_prompt": "bell", "audio_weight": "loud"}),
                         ("pocket", {"image_prompt": "star", "audio_prompt": "bell", "steps": "nan"})]:
        with pytest.raises(SpectrocanvasError):
            next(work.compose(store, pair=pair, values=values))


def test_one_line_hides_server_folders_and_tracebacks():
    assert one_line(SpectrocanvasError("picture '/tmp/gradio/abc/cat.png' is corrupt")) == "picture 'cat.png' is corrupt"
    assert one_line(ValueError("bad\nthing")) == "ValueError: bad thing"


def test_ui_options_are_checked_before_starting(capsys):
    assert main(["ui", "--concurrency", "0"]) == 2
    assert "concurrency" in capsys.readouterr().err
    assert main(["ui", "--max-upload-mb", "-1"]) == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    outputs = tmp_path_factory.mktemp("page") / "outputs"
    port = _free_port()
    demo = launch(UiConfig(outputs=outputs, warm=False, limits=UploadLimits(max_pixels=1_000_000)), port=port,
                  block=False)
    from gradio_client import Client

    yield Client(f"http://127.0.0.1:{port}/", verbose=False), RunStore(outputs)
    demo.close()


def test_the_page_sonifies_an_upload(page, picture):
    from gradio_client import handle_file

    client, _ = page
    canvas, spectrogram, sound, video, download, meta = client.predict(
        handle_file(str(picture)), None, "pad", 4, 0, False, -3.0, False, "pcm16", api_name="/sonify")
    data, rate = soundfile.read(sound)
    assert rate == 16000 and abs(20 * np.log10(np.abs(data).max()) + 3.0) < 0.2  # the level asked for, not normalised
    assert meta["parameters"]["fit"] == "pad" and video is None and download.endswith(".zip")
    assert Image.open(spectrogram).height == 256


def test_the_page_shows_errors_as_one_line(page, tmp_path):
    from gradio_client import handle_file

    client, _ = page
    corrupt = tmp_path / "broken.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(64))
    big = tmp_path / "big.png"
    Image.new("L", (1500, 1000)).save(big)
    for path, words in [(corrupt, "not a picture"), (big, "pixels")]:
        with pytest.raises(Exception) as caught:
            client.predict(handle_file(str(path)), None, "stretch", 4, 0, False, -1.0, False, "float", api_name="/sonify")
        assert words in str(caught.value) and "Traceback" not in str(caught.value)


def test_the_page_refuses_traversal_through_every_path_parameter(page, tmp_path):
    client, store = page
    for attempt in ["../../../../etc/passwd", "/etc/passwd", "sonify/../../..", str(tmp_path)]:
        for endpoint in ("/open_run", "/run_zip"):
            with pytest.raises(Exception) as caught:
                client.predict(attempt, api_name=endpoint)
            assert "outside" in str(caught.value) or "no such run" in str(caught.value) or "not a run" in str(caught.value)
    # The sample list is server-side state: a client cannot name files through it.
    assert client.predict("seed", api_name="/rerank") == []


def test_the_page_composes_with_the_pocket_pair(page):
    client, store = page
    job = client.submit("circle", "rain", 2, 3, "5", "", "", "0.3", True, "image_judge_score",
                        api_name="/compose_pocket")
    final = job.result()
    outputs = job.outputs()
    assert any("denoising" in str(o[1]) for o in outputs)
    assert "2 sample(s)" in final[1] and len(final[2]) == 2
    settings = __import__("json").loads(Path(store.root / final[1].split(" in ")[-1] / "sample_000" / "meta.json")
                                        .read_text())["settings"]
    assert settings["audio_weight"] == 0.3 and settings["steps"] == 5  # blanks took the pair's, not 0
    run = final[1].split(" in ")[-1]
    assert run.startswith("compose/") and run in [row[0] for row in client.predict(api_name="/history")["data"]]
    assert client.predict(run, api_name="/run_zip").endswith(".zip")


def test_the_starting_page_answers_then_frees_its_port():
    import urllib.error
    import urllib.request

    from spectrocanvas.ui.starting import StartingPage, free_port

    port = free_port("127.0.0.1", first=_free_port())
    stand_in = StartingPage("127.0.0.1", port)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as answer:
            assert answer.status == 200 and b"starting" in answer.read()
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/config")
        assert caught.value.code == 503
        with pytest.raises(SpectrocanvasError, match="choose another --port"):
            StartingPage("127.0.0.1", port)
    finally:
        stand_in.close()
    with socket.socket() as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", port))


def test_a_pair_without_weights_says_how_to_get_them(tmp_path, monkeypatch):
    entry = PAIRS["sd15-auffusion"]
    if entry.available():
        pytest.skip("the SD 1.5 + Auffusion weights are on this machine")
    note = work.pair_note("sd15-auffusion")
    assert "hf download" in note and "pocket" in note
    with pytest.raises(SpectrocanvasError, match="hf download"):
        next(work.compose(RunStore(tmp_path), pair="sd15-auffusion",
                          values={"image_prompt": "a castle", "audio_prompt": "bells", "n": 1}))


def test_the_file_route_serves_nothing_outside_the_outputs(page, tmp_path):
    import urllib.error
    import urllib.parse
    import urllib.request

    client, store = page
    secret = tmp_path / "secret.txt"
    secret.write_text("not for visitors")
    base = client.src.rstrip("/")
    served = store.root / "sonify" / "20260101-000000-served-abcd"
    served.mkdir(parents=True, exist_ok=True)
    (served / "meta.json").write_text('{"served": true}')
    with urllib.request.urlopen(f"{base}/gradio_api/file={urllib.parse.quote(str(served / 'meta.json'))}") as answer:
        assert b'"served": true' in answer.read()  # the route does serve the outputs
    for target in [str(secret), "/etc/passwd", f"{store.root}/../{secret.name}",
                   f"{store.root}/%2e%2e/{secret.name}", str(Path(__file__).resolve())]:
        url = f"{base}/gradio_api/file={urllib.parse.quote(target, safe='/%')}"
        try:
            with urllib.request.urlopen(url) as answer:
                body = answer.read()
        except urllib.error.HTTPError as error:
            assert error.code in (403, 404), (target, error.code)
            continue
        assert b"not for visitors" not in body and b"root:" not in body, target


def test_watching_latents_sees_every_step_of_a_run_and_only_inside_its_block(tmp_path):
    from spectrocanvas.generate.resolve import resolve_settings
    from spectrocanvas.generate.runs import generate
    from spectrocanvas.generate.sampling import watching_latents
    from spectrocanvas.pairs.interface import Runtime

    seen = []
    settings = resolve_settings({"image_prompt": "moon", "audio_prompt": "chirps", "n": 2, "steps": 3},
                                pair="pocket", method="denoise")
    runtime = Runtime(pair="pocket", video=False)
    with watching_latents(lambda pair, step, total, latents: seen.append((step, total, tuple(latents.shape)))):
        generate(settings=settings, output=tmp_path / "watched", runtime=runtime)
    assert [(s, t) for s, t, _ in seen] == [(0, 3), (1, 3), (2, 3)] and seen[0][2][0] == 2
    generate(settings=settings, output=tmp_path / "unwatched", runtime=runtime)
    assert len(seen) == 3


def test_the_page_is_built_without_loading_torch():
    """The page answers before torch loads (the tools load behind it): nothing the ui command and the
    page's builder import may import torch, or the start waits for it."""
    import subprocess
    import sys

    probe = ("import sys; import spectrocanvas.cli.ui, spectrocanvas.ui.app, spectrocanvas.ui.tool_options; "
             "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
