"""spectrocanvas: images that sound.

A canvas is a 2-D tensor in [0, 1] of shape (n_mels, frames): a normalised log-mel
spectrogram with low frequencies at the bottom row. Read as a picture it shows an image;
played through a vocoder it is a sound.
"""

from spectrocanvas.canvas import AUFFUSION, CanvasSpec

__version__ = "0.1.0"
__all__ = ["AUFFUSION", "CanvasSpec", "__version__"]
