"""The canvas maths, pure torch (tensor in, tensor out): the spectrogram convention
(:class:`CanvasSpec`), mel filterbanks, audio ⇄ canvas analysis, phase reconstruction,
vocoders, image metrics and the imprint arithmetic. No file I/O here."""

from spectrocanvas.canvas.spec import AUFFUSION, CanvasSpec

__all__ = ["AUFFUSION", "CanvasSpec"]
