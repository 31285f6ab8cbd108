"""Screenshots of each tab of the web page for the README (docs/ui-*.png), taken in headless Chromium.

    python scripts/ui_screenshots.py [--out docs]

Starts the page on a free port with a temporary outputs folder, composes 4 pocket samples
(triangle + bell), sonifies and imprints a drawn picture, analyzes a synthesised chord, and
shows the history.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from spectrocanvas.ui.app import UiConfig, launch  # noqa: E402


def assets(folder: Path) -> tuple[Path, Path]:
    """A drawn picture (a sun over hills) and a two-second chord with a sweep."""
    picture = Image.new("RGB", (480, 200), "black")
    draw = ImageDraw.Draw(picture)
    draw.ellipse((190, 20, 290, 120), fill=(255, 230, 120))
    draw.polygon([(0, 200), (120, 120), (260, 190), (380, 110), (480, 200)], fill=(90, 200, 120))
    picture_path = folder / "sun.png"
    picture.save(picture_path)
    t = np.arange(44100 * 3) / 44100
    sound = sum(0.15 * np.sin(2 * np.pi * f * t) for f in (220, 277, 330)) + 0.1 * np.sin(2 * np.pi * (300 + 800 * t) * t)
    sound_path = folder / "chord.wav"
    soundfile.write(sound_path, np.stack([sound, sound * 0.8], 1), 44100)
    return picture_path, sound_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs"))
    args = parser.parse_args()
    out = Path(args.out)
    work = Path(tempfile.mkdtemp(prefix="ui-shots-"))
    picture, sound = assets(work)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo = launch(UiConfig(outputs=work / "outputs"), port=port, block=False)
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(180_000)
            page.goto(f"http://127.0.0.1:{port}/")
            page.click("#compose-pocket")
            page.wait_for_function("document.querySelectorAll('#compose-gallery img').length >= 4")
            page.wait_for_timeout(1500)
            run = page.locator("#compose-status").inner_text().split(" in ")[-1].strip()
            page.screenshot(path=str(out / "ui-compose.png"), full_page=True)
            for tool, files in (("sonify", {"picture": picture}), ("imprint", {"picture": picture, "recording": sound}),
                                ("analyze", {"recording": sound})):
                page.get_by_role("tab", name=tool.capitalize()).click()
                for kind, path in files.items():
                    page.locator(f"#{tool}-{kind} input[type=file]").set_input_files(str(path))
                page.wait_for_timeout(800)
                page.click(f"#{tool}-run")
                page.locator(f"#{tool}-canvas img").wait_for()
                page.wait_for_timeout(1500)
                page.screenshot(path=str(out / f"ui-{tool}.png"), full_page=True)
            page.get_by_role("tab", name="History").click()
            page.get_by_role("button", name="Refresh").click()
            page.wait_for_timeout(1000)
            page.locator("#history-run textarea").fill(run)
            page.get_by_role("button", name="Open", exact=True).click()
            page.wait_for_timeout(2500)
            page.screenshot(path=str(out / "ui-history.png"), full_page=True)
            browser.close()
    finally:
        demo.close()
        shutil.rmtree(work, ignore_errors=True)
    print("wrote", ", ".join(f"ui-{t}.png" for t in ("compose", "sonify", "imprint", "analyze", "history")))


if __name__ == "__main__":
    main()
