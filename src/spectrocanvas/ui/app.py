"""The Gradio page: tabs Compose, Sonify, Imprint, Analyze and History over one outputs directory.

Built without torch (Gradio first, the library's work on first use through :mod:`spectrocanvas.ui.work`),
so the page answers while the models load in the background. Every handler turns an error into one
readable line in the page (``gr.Error``); paths from requests go through :class:`RunStore`."""


import functools
import inspect
import re
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.pairs.pocket.vocab import IMAGE_CLASSES, SOUND_CLASSES
from spectrocanvas.ui.runs import RunStore, read_meta
from spectrocanvas.ui.starting import StartingPage, free_port
from spectrocanvas.ui.tool_options import ToolOption, options_for
from spectrocanvas.ui.uploads import UploadLimits

PAIR_NAMES: tuple[str, ...] = ("pocket", "sd15-auffusion")
"""The registry's pairs, named here so the page is built before torch loads (a test checks they match)."""
DEFAULT_PAIR = "pocket"
SOUND_FILES = ("audio.wav", "audio.flac")
CSS = """
#compose-image img, #compose-spectrogram img { width: 100%; height: 100%; object-fit: contain;
  image-rendering: pixelated; }
"""
"""Small canvases (the pocket pair's 128 × 32) drawn large, pixels kept sharp."""


@dataclass(frozen=True)
class UiConfig:
    """What ``spectrocanvas ui`` was started with."""

    outputs: Path = Path("spectrocanvas-outputs")
    limits: UploadLimits = field(default_factory=UploadLimits)
    concurrency: int = 1
    """Jobs at once per model pair, and for the tools; more wait in the queue (their position shown)."""
    device: str | None = None
    warm: bool = True
    """Load the tools and the pocket pair in the background once the page is up."""


def one_line(error: BaseException) -> str:
    """An error as one readable line, with server folders left out of quoted paths."""
    if isinstance(error, SpectrocanvasError):
        text = str(error)
    elif isinstance(error, MemoryError):
        text = "out of memory; try fewer samples or a shorter canvas"
    else:
        text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    text = re.sub(r"'(?:[A-Za-z]:)?[/\\][^']*[/\\]([^'/\\]*)'", r"'\1'", text)
    return " ".join(text.split())[:400]


def _page_error(error: BaseException) -> Exception:
    import gradio as gr  # heavy: imported where the page is built or used

    if not isinstance(error, SpectrocanvasError):
        print(f"spectrocanvas ui: unexpected {type(error).__name__}: {error}", file=sys.stderr)
    return gr.Error(one_line(error), print_exception=False)


def guarded(function: Callable) -> Callable:
    """A handler whose errors reach the page as one line (generators too)."""
    if inspect.isgeneratorfunction(function):
        @functools.wraps(function)
        def generator(*args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from function(*args, **kwargs)
            except Exception as error:  # noqa: BLE001 — every error becomes one line in the page
                raise _page_error(error) from None
        return generator

    @functools.wraps(function)
    def plain(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 — every error becomes one line in the page
            raise _page_error(error) from None
    return plain


def _work():
    """The library's side of the page (torch, tools, pairs), loaded on first use."""
    import spectrocanvas.ui.work  # torch and the tools: after the page answers, not before

    return spectrocanvas.ui.work


def _sound_of(folder: Path) -> str | None:
    found = [folder / name for name in SOUND_FILES if (folder / name).is_file()]
    return str(found[0]) if found else None


def _file(folder: Path, name: str) -> str | None:
    return str(folder / name) if (folder / name).is_file() else None


def score_keys(meta: dict[str, Any]) -> list[str]:
    """The numeric scores a sample's meta.json holds (judges or CLIP/CLAP), by name."""
    return sorted(k for k, v in meta.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
                  and ("score" in k or k.endswith("_right")))


def ranked(samples: list[Path], order: str) -> list[Path]:
    """Samples in seed order, or best first by one of their scores."""
    if order in ("", "seed", None):
        return sorted(samples)
    return sorted(samples, key=lambda s: -float(read_meta(s).get(order, float("-inf"))))


def _caption(sample: Path) -> str:
    meta = read_meta(sample)
    scores = ", ".join(f"{k.replace('_score', '')} {meta[k]:.2f}" for k in score_keys(meta) if "score" in k)
    return f"{sample.name} (seed {meta.get('seed', '?')})" + (f": {scores}" if scores else "")


def _tool_widget(row: ToolOption):
    import gradio as gr  # heavy: imported where the page is built

    if row.optional and row.kind == "choice":  # blank first: the default
        return gr.Dropdown(choices=[("default", ""), *[(str(c), c) for c in row.choices]], value="",
                           label=row.label, info=row.info)
    if row.optional:  # text: a browser sends 0 for an empty number box, and blank must mean "unset"
        return gr.Textbox("", label=row.label, info=row.info, placeholder="blank: the default")
    if row.kind == "flag":
        return gr.Checkbox(value=row.default, label=row.label, info=row.info)
    if row.kind == "choice":
        return gr.Radio(choices=list(row.choices), value=row.default, label=row.label, info=row.info)
    if row.kind == "integer" and row.maximum is not None and row.maximum <= 1000:
        return gr.Slider(minimum=row.minimum, maximum=row.maximum, step=row.step or 1, value=row.default,
                         label=row.label, info=row.info)
    return gr.Number(value=row.default, label=row.label, info=row.info, minimum=row.minimum, maximum=row.maximum,
                     precision=0 if row.kind == "integer" else None)


def build_app(config: UiConfig):
    """The page as a Gradio Blocks, its queue set (not launched)."""
    import gradio as gr  # heavy: imported where the page is built

    store = RunStore(config.outputs)
    limits = config.limits

    # ---- handlers (thin: the library does the work) -------------------------------------------------------
    def tool_result(folder: Path) -> tuple:
        return (_file(folder, "canvas.png"), _file(folder, "spectrogram.png"), _sound_of(folder),
                _file(folder, "video.mp4"), str(store.zip_of(folder)), read_meta(folder))

    @guarded
    def do_sonify(image: str | None, *values: Any) -> tuple:
        names = [row.name for row in options_for("sonify")]
        return tool_result(_work().run_sonify(store, limits, image=image, values=dict(zip(names, values))))

    @guarded
    def do_imprint(image: str | None, audio: str | None, *values: Any) -> tuple:
        names = [row.name for row in options_for("imprint")]
        folder = _work().run_imprint(store, limits, image=image, audio=audio, values=dict(zip(names, values)))
        return (_file(folder, "original.png"), *tool_result(folder))

    @guarded
    def do_analyze(audio: str | None, *values: Any) -> tuple:
        names = [row.name for row in options_for("analyze")]
        folder = _work().run_analyze(store, limits, audio=audio, values=dict(zip(names, values)))
        return _file(folder, "canvas.png"), str(store.zip_of(folder))

    @guarded
    def show_pair(pair: str) -> tuple:
        updates = [gr.update(visible=(name == pair)) for name in PAIR_NAMES]
        return (_work().pair_note(pair), *updates)

    def gallery_of(samples: list[Path]) -> list[tuple[str, str]]:
        return [(str(s / "image.png"), _caption(s)) for s in samples if (s / "image.png").is_file()]

    def sample_view(sample: Path, *, with_zip: bool = True) -> tuple:
        meta = read_meta(sample)
        scores = {k: meta[k] for k in score_keys(meta)}
        view = (_file(sample, "image.png"), _file(sample, "spectrogram.png"), _sound_of(sample),
                _file(sample, "video.mp4"), scores or {"scores": "not scored"})
        return (*view, str(store.zip_of(sample))) if with_zip else view

    def make_compose(pair: str) -> Callable:
        @guarded
        def do_compose(image_prompt, audio_prompt, n, seed, steps, image_guidance, audio_guidance, audio_weight,
                       score, order):
            values = {"image_prompt": image_prompt, "audio_prompt": audio_prompt, "n": n, "seed": seed,
                      "steps": steps, "image_guidance": image_guidance, "audio_guidance": audio_guidance,
                      "audio_weight": audio_weight}
            blank = (gr.skip(),) * 9
            for update in _work().compose(store, pair=pair, values=values, score=bool(score), device=config.device):
                if update.run is None:
                    yield (update.preview if update.preview is not None else gr.skip(), update.status, *blank)
                    continue
                samples = ranked(update.samples, order)
                if not samples:
                    raise SpectrocanvasError("the run finished without a sample")
                names = [store.name_of(s) for s in samples]
                keys = score_keys(read_meta(samples[0])) if samples else []
                yield (gr.skip(), update.status, gallery_of(samples), names, store.name_of(update.run),
                       gr.update(choices=["seed", *keys], value=order if order in keys else "seed"),
                       *sample_view(samples[0], with_zip=False))
        return do_compose

    @guarded
    def rerank(order: str, names: list[str]) -> tuple:
        samples = ranked([store.run(n) for n in names or []], order)
        return gallery_of(samples), [store.name_of(s) for s in samples]

    @guarded
    def pick_sample(names: list[str], evt: gr.SelectData) -> tuple:
        if not names or not 0 <= evt.index < len(names):
            raise SpectrocanvasError("no such sample; compose first")
        return sample_view(store.run(names[evt.index]))

    @guarded
    def run_zip(run_name: str) -> str:
        return str(store.zip_of(run_name))

    @guarded
    def sample_zip(names: list[str], index: float | None) -> str:
        position = int(index or 0)
        if not names or not 0 <= position < len(names):
            raise SpectrocanvasError("no such sample; compose first")
        return str(store.zip_of(names[position]))

    @guarded
    def history() -> list[list[Any]]:
        return [[row.name, row.kind, row.when, row.files] for row in store.history()]

    @guarded
    def open_run(name: str) -> tuple:
        folder = store.run(name)
        pictures = sorted(p for p in folder.rglob("*.png") if not p.is_symlink())
        sound = next((str(p) for p in sorted(folder.rglob("audio.*")) if p.name in SOUND_FILES), None)
        video = next((str(p) for p in sorted(folder.rglob("video.mp4"))), None)
        meta = read_meta(folder) or read_meta(next(iter(sorted(folder.glob("sample_*"))), folder))
        return ([(str(p), p.relative_to(folder).as_posix()) for p in pictures[:48]], sound, video,
                str(store.zip_of(folder)), meta)

    def pick_history(evt: gr.SelectData) -> str:
        row = evt.row_value if isinstance(evt.row_value, list) else None
        return str(row[0]) if row else gr.skip()

    # ---- the page ----------------------------------------------------------------------------------------
    with gr.Blocks(title="spectrocanvas: images that sound", analytics_enabled=False) as demo:
        gr.Markdown("# spectrocanvas: images that sound\nA spectrogram that is a picture and a sound "
                    "(Chen, Geng & Owens, NeurIPS 2024). Every result is a run folder under the outputs "
                    f"directory, as the command line writes it. {limits.describe()}")
        with gr.Tabs():
            with gr.Tab("Compose", id="compose"):
                with gr.Row():
                    pair = gr.Dropdown(list(PAIR_NAMES), value=DEFAULT_PAIR, label="Model pair", scale=1)
                    note = gr.Markdown("**pocket**: the project's small pair; runs offline on a CPU in seconds")
                with gr.Row():
                    image_prompt = gr.Dropdown(list(IMAGE_CLASSES), value="triangle", allow_custom_value=True,
                                               label="Image prompt", info="pocket: one of its words; SD: any text")
                    audio_prompt = gr.Dropdown(list(SOUND_CLASSES), value="bell", allow_custom_value=True,
                                               label="Audio prompt", info="pocket: one of its words; Auffusion: any text")
                with gr.Row():
                    n = gr.Number(4, label="Samples", precision=0, minimum=1, maximum=8, elem_id="compose-n")
                    seed = gr.Number(0, label="Seed", precision=0, minimum=0)
                    # Text, not gr.Number: a browser sends 0 for an empty number box, and blank must mean "the pair's".
                    steps = gr.Textbox("", label="Steps", placeholder="the pair's", elem_id="compose-steps")
                    image_guidance = gr.Textbox("", label="Image guidance", placeholder="the pair's")
                    audio_guidance = gr.Textbox("", label="Audio guidance", placeholder="the pair's")
                    audio_weight = gr.Textbox("", label="Audio weight", placeholder="the pair's (0 … 1)")
                with gr.Row():
                    score = gr.Checkbox(True, label="Score the samples (pocket: its judges; SD: CLIP and CLAP)")
                    order = gr.Dropdown(["seed"], value="seed", label="Order by", allow_custom_value=True,
                                        info="seed, or a score (best first) once samples are scored")
                buttons = {name: gr.Button(f"Compose ({name})", variant="primary", visible=(name == DEFAULT_PAIR),
                                           elem_id=f"compose-{name}") for name in PAIR_NAMES}
                status = gr.Markdown(elem_id="compose-status")
                preview = gr.Image(label="The canvas while it denoises (all samples)", type="numpy",
                                   interactive=False, elem_id="compose-preview", height=200)
                gallery = gr.Gallery(label="Samples (click one)", columns=4, height=240, object_fit="contain",
                                     elem_id="compose-gallery")
                sample_names = gr.State([])
                run_name = gr.State("")
                with gr.Row():
                    sample_image = gr.Image(label="image.png", type="filepath", interactive=False, height=220,
                                            elem_id="compose-image")
                    sample_spec = gr.Image(label="spectrogram.png (what a viewer shows of audio.wav)",
                                           type="filepath", interactive=False, height=220,
                                           elem_id="compose-spectrogram")
                with gr.Row():
                    sample_audio = gr.Audio(label="audio", type="filepath", interactive=False, elem_id="compose-audio")
                    sample_video = gr.Video(label="video.mp4", interactive=False)
                    sample_scores = gr.JSON(label="scores")
                with gr.Row():
                    sample_index = gr.Number(0, label="Sample to download (position in the gallery)", precision=0)
                    zip_sample_button = gr.Button("Download this sample (zip)")
                    zip_run_button = gr.Button("Download the whole run (zip)")
                    compose_zip = gr.File(label="zip", interactive=False)
                compose_inputs = [image_prompt, audio_prompt, n, seed, steps, image_guidance, audio_guidance,
                                  audio_weight, score, order]
                compose_outputs = [preview, status, gallery, sample_names, run_name, order, sample_image,
                                   sample_spec, sample_audio, sample_video, sample_scores]
                for name, button in buttons.items():
                    button.click(make_compose(name), compose_inputs, compose_outputs, concurrency_id=f"pair-{name}",
                                 concurrency_limit=config.concurrency, api_name=f"compose_{name.replace('-', '_')}")
                pair.change(show_pair, pair, [note, *buttons.values()], api_name=False)
                order.change(rerank, [order, sample_names], [gallery, sample_names], api_name="rerank")
                gallery.select(pick_sample, sample_names, [sample_image, sample_spec, sample_audio, sample_video,
                                                           sample_scores, compose_zip], api_name=False)
                zip_run_button.click(run_zip, run_name, compose_zip, api_name="run_zip")
                zip_sample_button.click(sample_zip, [sample_names, sample_index], compose_zip, api_name=False)

            tool_tabs = {}
            for tool, title, about in (
                    ("sonify", "Sonify", "A picture → a sound whose spectrogram shows it (Griffin-Lim, no weights)."),
                    ("imprint", "Imprint", "Carve a picture into a recording's spectrogram."),
                    ("analyze", "Analyze", "Any recording → its canvas picture (16-bit PNG carrying its settings).")):
                with gr.Tab(title, id=tool):
                    gr.Markdown(about)
                    with gr.Row():
                        # Files, not gr.Image/gr.Audio: those decode an upload before the limits are checked.
                        picture = gr.File(label="picture", type="filepath", file_types=list(limits.picture_suffixes),
                                          elem_id=f"{tool}-picture") if tool != "analyze" else None
                        recording = gr.File(label="recording", type="filepath", file_types=list(limits.audio_suffixes),
                                            elem_id=f"{tool}-recording") if tool != "sonify" else None
                    rows = options_for(tool)
                    widgets = []
                    for start in range(0, len(rows), 4):
                        with gr.Row():
                            widgets += [_tool_widget(row) for row in rows[start:start + 4]]
                    run_button = gr.Button(title, variant="primary", elem_id=f"{tool}-run")
                    with gr.Row():
                        original = gr.Image(label="original.png (the recording's canvas)", type="filepath",
                                            interactive=False) if tool == "imprint" else None
                        canvas = gr.Image(label="canvas.png", type="filepath", interactive=False,
                                          elem_id=f"{tool}-canvas")
                        spectrogram = gr.Image(label="spectrogram.png", type="filepath", interactive=False,
                                               elem_id=f"{tool}-spectrogram") if tool != "analyze" else None
                    with gr.Row():
                        sound = gr.Audio(label="sound", type="filepath", interactive=False,
                                         elem_id=f"{tool}-audio") if tool != "analyze" else None
                        video = gr.Video(label="video.mp4", interactive=False) if tool != "analyze" else None
                        download = gr.File(label="download (zip)", interactive=False, elem_id=f"{tool}-zip")
                    meta = gr.JSON(label="meta.json") if tool != "analyze" else None
                    inputs = [w for w in (picture, recording) if w is not None] + widgets
                    outputs = [w for w in (original, canvas, spectrogram, sound, video, download, meta) if w is not None]
                    handler = {"sonify": do_sonify, "imprint": do_imprint, "analyze": do_analyze}[tool]
                    run_button.click(handler, inputs, outputs, concurrency_id="tools",
                                     concurrency_limit=config.concurrency, api_name=tool)
                    tool_tabs[tool] = run_button

            with gr.Tab("History", id="history"):
                gr.Markdown("Past runs in the outputs directory (newest first). Click a row, then Open.")
                refresh = gr.Button("Refresh")
                table = gr.Dataframe(headers=["run", "kind", "when", "files"], interactive=False,
                                     elem_id="history-table")
                with gr.Row():
                    chosen = gr.Textbox(label="run", elem_id="history-run")
                    open_button = gr.Button("Open", variant="primary")
                run_pictures = gr.Gallery(label="pictures", columns=6, height="auto", object_fit="contain")
                with gr.Row():
                    run_sound = gr.Audio(label="sound", type="filepath", interactive=False)
                    run_video = gr.Video(label="video.mp4", interactive=False)
                    run_download = gr.File(label="download (zip)", interactive=False)
                run_meta = gr.JSON(label="meta.json")
                refresh.click(history, None, table, api_name="history")
                table.select(pick_history, None, chosen, api_name=False)
                open_button.click(open_run, chosen, [run_pictures, run_sound, run_video, run_download, run_meta],
                                  api_name="open_run")
        demo.load(history, None, table, api_name=False)
    demo.queue(default_concurrency_limit=config.concurrency)
    return demo


def warm_in_background() -> threading.Thread:
    """Import the library's side and load the pocket pair while the page already answers."""
    def warm() -> None:
        try:
            _work().warm_up()
        except Exception as error:  # noqa: BLE001 — warming is an optimisation; the first request reports errors
            print(f"spectrocanvas ui: warming up failed ({one_line(error)})", file=sys.stderr)

    thread = threading.Thread(target=warm, name="spectrocanvas-warm", daemon=True)
    thread.start()
    return thread


def launch(config: UiConfig, *, host: str = "127.0.0.1", port: int | None = None, share: bool = False,
           block: bool = True, starting_page: bool = False):
    """Build and launch the page; returns the Blocks (``block=False``: the server runs in a thread).

    ``starting_page``: answer on the port at once with :mod:`~spectrocanvas.ui.starting` while Gradio
    imports and the page is built, then hand the port over."""
    stand_in = None
    if starting_page:
        port = port if port is not None else free_port(host)
        stand_in = StartingPage(host, port)
    try:
        demo = build_app(config)
    finally:
        if stand_in is not None:
            stand_in.close()
    demo.launch(server_name=host, server_port=port, share=share, allowed_paths=[str(RunStore(config.outputs).root)],
                max_file_size=f"{config.limits.max_mb:g}mb", prevent_thread_lock=True, show_error=True,
                ssr_mode=False, quiet=False, css=CSS)
    if config.warm:
        warm_in_background()
    if block:
        demo.block_thread()
    return demo
