"""The web page in a real browser: headless Chromium (Debian's package) driven by Playwright against
`spectrocanvas ui` started as a user would start it. Skipped, with the reason, when no Chromium is found."""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PIL import Image, ImageDraw

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = next((found for name in ("chromium", "chromium-browser", "google-chrome")
                 if (found := shutil.which(name))), None)
TIMEOUT_MS = 120_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _needs_a_browser() -> None:
    if CHROMIUM is None:
        pytest.skip("no Chromium found (install Debian's chromium package; CI does)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")


def _start(folder: Path, *, wait_for: str) -> tuple[subprocess.Popen, str]:
    """`spectrocanvas ui` as a user starts it, on a free port; returns once ``wait_for`` answers 200."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "spectrocanvas", "ui", "--port", str(port), "--outputs",
                                str(folder / "outputs"), "--max-pixels", "4000000"], env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + wait_for, timeout=2) as answer:
                if answer.status == 200:
                    return process, url
        except OSError:
            if process.poll() is not None:
                pytest.fail(f"spectrocanvas ui ended: {(folder / 'server.log').read_text()[-2000:]}")
            time.sleep(0.05)
    process.kill()
    pytest.fail("spectrocanvas ui did not answer within 120 s")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A running page (Gradio answering); yields its URL."""
    _needs_a_browser()
    process, url = _start(tmp_path_factory.mktemp("browser"), wait_for="config")
    yield url
    _stop(process)


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        yield launched
        launched.close()


@pytest.fixture()
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    opened.goto(server)
    yield opened
    context.close()


def _compose(page, samples: int, steps: int) -> None:
    page.locator("#compose-n input").fill(str(samples))
    page.locator("#compose-steps textarea").fill(str(steps))
    page.click("#compose-pocket")


def test_compose_shows_a_preview_then_the_gallery_and_its_audio_plays(page):
    _compose(page, samples=2, steps=20)
    page.wait_for_selector("#compose-preview img")
    page.wait_for_function("document.querySelectorAll('#compose-gallery img').length >= 2", timeout=TIMEOUT_MS)
    assert "2 sample(s)" in page.locator("#compose-status").inner_text()
    # The audio player holds the sample's file: fetch what it links to and decode it.
    link = page.locator("#compose-audio a[download]").first
    link.wait_for()
    answer = page.request.get(link.get_attribute("href"))
    assert answer.ok
    data, rate = soundfile.read(io.BytesIO(answer.body()))
    assert rate == 16000 and data.shape[0] == 2 * 16000 and 0.5 < np.abs(data).max() <= 0.9  # peak at -1 dBFS
    # Gradio's player plays through Web Audio: the button turns to Pause and the clock moves.
    assert page.locator("#compose-audio").inner_text().split()[1] == "0:00"
    page.locator("#compose-audio button[aria-label='Play']").click()
    page.locator("#compose-audio button[aria-label='Pause']").wait_for(timeout=20_000)
    page.wait_for_function("document.querySelector('#compose-audio').innerText.split(/\\s+/)[1] !== '0:00'",
                           timeout=20_000)


def test_sonify_shows_the_spectrogram_of_a_held_out_picture(page, tmp_path):
    picture = Image.new("RGB", (300, 120), "black")
    draw = ImageDraw.Draw(picture)
    draw.ellipse((100, 10, 200, 110), fill=(255, 220, 40))
    draw.rectangle((20, 40, 60, 80), fill=(40, 200, 255))
    path = tmp_path / "held-out sun.jpg"
    picture.save(path, quality=90)
    page.get_by_role("tab", name="Sonify").click()
    page.locator("#sonify-picture input[type=file]").set_input_files(str(path))
    page.wait_for_timeout(500)
    page.click("#sonify-run")
    image = page.locator("#sonify-spectrogram img")
    image.wait_for()
    answer = page.request.get(image.get_attribute("src"))
    shown = np.asarray(Image.open(io.BytesIO(answer.body())).convert("L"), dtype=np.float32)
    assert shown.shape[0] == 256
    # The sun (middle columns) is brighter than the black margins of the picture in what the sound shows.
    columns = shown.mean(axis=0)
    width = columns.shape[0]
    assert columns[int(width * 0.45):int(width * 0.55)].mean() > columns[int(width * 0.85):].mean() + 20


def test_a_corrupt_upload_is_one_line_in_the_page(page, tmp_path):
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 3)
    page.get_by_role("tab", name="Sonify").click()
    page.locator("#sonify-picture input[type=file]").set_input_files(str(corrupt))
    page.wait_for_timeout(500)
    page.click("#sonify-run")
    toast = page.locator(".toast-body").first
    toast.wait_for()
    text = toast.inner_text()
    assert "'corrupt.png' is not a picture" in text and "Traceback" not in text and "/tmp" not in text


def test_a_second_visitor_waits_in_the_queue_and_sees_its_place(browser, server):
    contexts = [browser.new_context() for _ in range(2)]
    pages = [context.new_page() for context in contexts]
    try:
        for visitor in pages:
            visitor.set_default_timeout(TIMEOUT_MS)
            visitor.goto(server)
            visitor.locator("#compose-n input").fill("4")
            visitor.locator("#compose-steps textarea").fill("50")
        pages[0].click("#compose-pocket")
        pages[0].wait_for_selector("#compose-preview img")  # the first is at work
        pages[1].click("#compose-pocket")
        pages[1].wait_for_function("document.body.innerText.includes('queue: 1/')", timeout=30_000)
        pages[1].wait_for_function("document.querySelectorAll('#compose-gallery img').length >= 4",
                                   timeout=TIMEOUT_MS)
    finally:
        for context in contexts:
            context.close()


def test_the_starting_page_turns_into_the_page(browser, tmp_path):
    process, url = _start(tmp_path, wait_for="")  # the stand-in answers before Gradio has loaded
    try:
        context = browser.new_context()
        visitor = context.new_page()
        visitor.goto(url)
        visitor.wait_for_selector("#compose-pocket", timeout=TIMEOUT_MS)
        assert "spectrocanvas" in visitor.title()
        context.close()
    finally:
        _stop(process)
