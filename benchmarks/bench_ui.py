"""The web page's speed, side by side with the command line, on this machine:

1. start: from launching ``spectrocanvas ui`` to the first HTTP 200 on ``/`` (the starting page that
   stands in while Gradio imports), and to the Gradio page itself answering (a fresh process each time);
2. composition: 4 pocket samples (triangle + bell, the pair's defaults, scored, with videos) from the
   page (gradio_client: from pressing Compose to the finished gallery, on a running page) against the
   whole CLI command ``spectrocanvas generate --preset pocket … -n 4 --score`` (a fresh process, start-up
   included, as a user runs it), alternating, and the page against the library call alone (same
   process, models loaded): the page's own overhead;
3. first preview: from clicking Compose in headless Chromium to the preview image shown (skipped
   without Chromium and Playwright).

    python benchmarks/bench_ui.py [--repeats 3]

Prints a markdown table (median and range) with the machine's CPU and load.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROMPTS = ("triangle", "bell")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "HF_HUB_OFFLINE": "1"}


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status == 200
    except OSError:
        return False


def start_page(outputs: Path) -> tuple[subprocess.Popen, str, float, float]:
    """A fresh ``spectrocanvas ui``; returns it, its URL, the seconds until / answered 200 and until
    the Gradio page itself answered (its /config)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "spectrocanvas", "ui", "--port", str(port), "--outputs",
                                str(outputs)], env=environment(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    first = None
    while True:
        if first is None and answers(url):
            first = time.perf_counter() - started
        if first is not None and answers(url + "config"):
            return process, url, first, time.perf_counter() - started
        if process.poll() is not None:
            raise SystemExit("spectrocanvas ui ended before answering")
        time.sleep(0.01)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def cli_compose(out: Path) -> float:
    cli = [sys.executable, "-m", "spectrocanvas", "generate", "--preset", "pocket", "--image-prompt", PROMPTS[0],
           "--audio-prompt", PROMPTS[1], "-n", "4", "--score", "-o", str(out), "--quiet"]
    started = time.perf_counter()
    subprocess.run(cli, env=environment(), check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def page_compose(client) -> float:
    started = time.perf_counter()
    client.predict(PROMPTS[0], PROMPTS[1], 4, 0, "", "", "", "", True, "seed", api_name="/compose_pocket")
    return time.perf_counter() - started


def library_compose(out: Path) -> float:
    """The library call the page makes, in this process (pair and judges loaded by a first call)."""
    sys.path.insert(0, str(ROOT / "src"))
    from spectrocanvas.ui.runs import RunStore
    from spectrocanvas.ui.work import compose

    store = RunStore(out)
    values = {"image_prompt": PROMPTS[0], "audio_prompt": PROMPTS[1], "n": 4, "seed": 0}
    started = time.perf_counter()
    for _ in compose(store, pair="pocket", values=values):
        pass
    return time.perf_counter() - started


def first_preview(url: str) -> list[float]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return []
    if chromium is None:
        return []
    times = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        for _ in range(3):
            page = browser.new_page()
            page.goto(url)
            page.wait_for_selector("#compose-pocket")
            started = time.perf_counter()
            page.click("#compose-pocket")
            page.wait_for_selector("#compose-preview img", timeout=120_000)
            times.append(time.perf_counter() - started)
            page.wait_for_function("document.querySelectorAll('#compose-gallery img').length >= 4", timeout=120_000)
            page.close()
        browser.close()
    return times


def row(name: str, values: list[float], target: str) -> str:
    if not values:
        return f"| {name} | n/a | | {target} |"
    return (f"| {name} | {statistics.median(values):.2f} s | {min(values):.2f}–{max(values):.2f} s "
            f"(n={len(values)}) | {target} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from gradio_client import Client

    work = Path(tempfile.mkdtemp(prefix="bench-ui-"))
    starts, readies = [], []
    for i in range(args.repeats):
        process, url, seconds, ready = start_page(work / f"start-{i}")
        starts.append(seconds)
        readies.append(ready)
        stop(process)
    process, url, _, _ = start_page(work / "page")
    try:
        client = Client(url, verbose=False, download_files=False)  # as a browser: files are fetched when shown
        page_compose(client)  # the first press after start also waits for the warm-up; not counted
        page_times, cli_times, library_times = [], [], []
        for i in range(args.repeats):
            cli_times.append(cli_compose(work / f"cli-{i}"))
            page_times.append(page_compose(client))
        previews = first_preview(url)
    finally:
        stop(process)
    library_compose(work / "library-warm")
    for _ in range(args.repeats):
        library_times.append(library_compose(work / "library"))
    shutil.rmtree(work, ignore_errors=True)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    print(f"machine: {cpu}, {os.cpu_count()} cores; load average at the end {os.getloadavg()[0]:.2f}")
    print("| measure | median | range | target |\n|---|---:|---:|---|")
    print(row("start: `spectrocanvas ui` → first HTTP 200 on / (the starting page)", starts, "≤ 2 s"))
    print(row("start: `spectrocanvas ui` → the Gradio page answers (/config)", readies, ""))
    print(row("4 pocket samples, page (Compose pressed → gallery)", page_times, ""))
    print(row("4 pocket samples, CLI (whole command, start-up included)", cli_times, ""))
    print(row("4 pocket samples, library call alone (models loaded)", library_times, ""))
    ratio = statistics.median(page_times) / statistics.median(cli_times)
    overhead = statistics.median(page_times) / statistics.median(library_times)
    print(f"| page ÷ CLI | {ratio:.2f}× | | ≤ 1.2× |")
    print(f"| page ÷ library call (the page's own overhead) | {overhead:.2f}× | | |")
    print(row("first preview after pressing Compose (Chromium)", previews, "< 1 s"))


if __name__ == "__main__":
    main()
