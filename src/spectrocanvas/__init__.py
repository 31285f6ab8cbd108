"""spectrocanvas: images that sound.

A canvas is a 2-D tensor in [0, 1] of shape (n_mels, frames): a normalised log-mel
spectrogram with low frequencies at the bottom row. Read as a picture it shows an image;
played through a vocoder it is a sound.

The package is layered; each layer imports only the ones below it (checked by the tests):

    cli        the command line
    ui         the web page (spectrocanvas ui): Gradio, thin over tools, generate and measure
    tools      sonify, imprint, analyze, demo
    measure    scores, tables, evaluate, compare, re-ranking, in-memory studies
    generate   settings and their schema, methods, run folders, prompt-pair files
    pairs      the model-pair interface and registry; SD 1.5 + Auffusion; the pocket pair
    diffusion  the composition sampler, schedulers, noise schedules, SDS
    files      pictures, audio, video, atomic output folders, sample folders
    canvas     the spectrogram canvas maths (pure torch)
    support    timings, progress bars, threads, batching;  errors, version
"""

from spectrocanvas.canvas.spec import AUFFUSION, CanvasSpec
from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.version import __version__

__all__ = ["AUFFUSION", "CanvasSpec", "SpectrocanvasError", "__version__"]
