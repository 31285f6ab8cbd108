"""`spectrocanvas ui`: the web page. Torch-free until the page is up (the tools load behind it)."""

from __future__ import annotations

import argparse
from pathlib import Path

from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.ui.app import UiConfig, launch
from spectrocanvas.ui.uploads import UploadLimits

UI_HELP = "a web page (Gradio) for compose, sonify, imprint and analyze"
UI_DESCRIPTION = ("Start the web page: compose with a model pair (the pocket pair by default, offline), sonify, "
                  "imprint and analyze uploads, and browse past runs. Every result is a run folder under "
                  "--outputs, the same files and meta.json as the command line. Binds 127.0.0.1 unless --host "
                  "says otherwise; --share (a public gradio.live link) only when asked.")


def add_ui_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `spectrocanvas ui`."""
    limits = UploadLimits()
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=None, help="port (default: 7860 or the next free one)")
    parser.add_argument("--share", action="store_true", help="also open a public gradio.live link (off by default)")
    parser.add_argument("--outputs", default="spectrocanvas-outputs", metavar="DIR",
                        help="where run folders go, and the only folder files are served from "
                             "(default spectrocanvas-outputs)")
    parser.add_argument("--max-upload-mb", type=float, default=limits.max_mb, metavar="MB",
                        help=f"largest upload (default {limits.max_mb:g})")
    parser.add_argument("--max-pixels", type=int, default=limits.max_pixels, metavar="N",
                        help=f"largest picture in pixels, read from its header before decoding "
                             f"(default {limits.max_pixels:,})")
    parser.add_argument("--max-seconds", type=float, default=limits.max_seconds, metavar="S",
                        help=f"longest recording (default {limits.max_seconds:g})")
    parser.add_argument("--concurrency", type=int, default=1, metavar="N",
                        help="jobs at once per model pair and for the tools; more wait in a queue that shows "
                             "their position (default 1)")
    parser.add_argument("--device", default=None, help="device for the model pairs (default: cuda if present)")


def ui_parser() -> argparse.ArgumentParser:
    """`spectrocanvas ui` parsed alone (the entry point takes this path before loading the other commands)."""
    parser = argparse.ArgumentParser(prog="spectrocanvas ui", description=UI_DESCRIPTION)
    add_ui_arguments(parser)
    return parser


def run_ui(args: argparse.Namespace) -> int:
    """Start the page and serve until interrupted."""
    if not 1 <= args.concurrency <= 64:
        raise SpectrocanvasError(f"--concurrency must be between 1 and 64, not {args.concurrency}")
    limits = UploadLimits(max_mb=args.max_upload_mb, max_pixels=args.max_pixels, max_seconds=args.max_seconds)
    config = UiConfig(outputs=Path(args.outputs), limits=limits, concurrency=args.concurrency, device=args.device)
    launch(config, host=args.host, port=args.port, share=args.share, block=True, starting_page=True)
    return 0
