"""Training data the project makes itself: sound canvases, shape canvases and their hybrids.

Every batch is a pure function of (data seed, stream, step), so training resumes on exactly
the data it would have seen. Canvases are (B, 1, 32, 128) in [0, 1]; labels (B,) int64.

- Sounds: :class:`SoundBank` holds canvases of synthesised sounds, entry i of class i mod 8,
  made on first use from its own seed and kept (float16) for reuse.
- Images: shapes outlined, filled, filled with a texture (half of them a real sound canvas, so
  the image domain overlaps the sound domain) or carved out of a texture.
- Hybrids for judges: sounds with a shape imprinted (kept inside, carved out, or drawn over),
  played through the Griffin-Lim vocoder, quantised to 16 bits and analysed again
  (:class:`JudgedSoundBank`); shapes with mild noise for the image judge.
"""

from __future__ import annotations

import torch

from spectrocanvas.canvas.analysis import audio_to_canvas
from spectrocanvas.canvas.vocoders import GriffinLimVocoder
from spectrocanvas.pairs.pocket.spec import HEIGHT, POCKET, WIDTH
from spectrocanvas.pairs.pocket.training import shapes
from spectrocanvas.pairs.pocket.training.sounds import synthesise
from spectrocanvas.pairs.pocket.vocab import IMAGE_CLASSES, SOUND_CLASSES

STREAMS = {"image": 1, "audio": 2, "image-classifier": 3, "audio-classifier": 4, "bank": 5, "judged": 6}


def stream_generator(data_seed: int, stream: str, step: int) -> torch.Generator:
    """The generator for batch ``step`` of ``stream``: independent of every other batch."""
    return torch.Generator().manual_seed((data_seed * 1_000_003 + STREAMS[stream]) * 10_000_019 + step)


def _u(g: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=g))


def _coin(g: torch.Generator, p: float) -> bool:
    return float(torch.rand((), generator=g)) < p


def balanced_labels(g: torch.Generator, batch: int, classes: int) -> torch.Tensor:
    """Labels (batch,) with every class as equally often as the batch allows, in random order."""
    labels = torch.arange(batch) % classes
    offset = int(torch.randint(0, classes, (), generator=g))
    return ((labels + offset) % classes)[torch.randperm(batch, generator=g)]


class SoundBank:
    """Canvases (1, 32, 128) of synthesised sounds; entry i is class i mod 8, from seed (data_seed, i)."""

    def __init__(self, data_seed: int, size: int = 16384) -> None:
        if size < len(SOUND_CLASSES):
            raise ValueError(f"a sound bank needs at least {len(SOUND_CLASSES)} entries")
        self.data_seed, self.size = data_seed, size
        self._store = torch.zeros(size, HEIGHT, WIDTH, dtype=torch.float16)
        self._made = torch.zeros(size, dtype=torch.bool)

    def label(self, index: torch.Tensor) -> torch.Tensor:
        return index % len(SOUND_CLASSES)

    def waveform(self, i: int) -> torch.Tensor:
        """The waveform (SAMPLES,) of entry i (synthesised again, not stored)."""
        g = stream_generator(self.data_seed, "bank", i)
        return synthesise(i % len(SOUND_CLASSES), g)

    def get(self, index: torch.Tensor) -> torch.Tensor:
        """Canvases (len(index), 1, 32, 128) float32 in [0, 1]."""
        todo = [int(i) for i in index.unique() if not self._made[i]]
        if todo:
            waves = torch.stack([self.waveform(i) for i in todo])
            self._store[todo] = audio_to_canvas(waves, POCKET).to(torch.float16)
            self._made[todo] = True
        return self._store[index].float()[:, None]

    def draw(self, g: torch.Generator, labels: torch.Tensor) -> torch.Tensor:
        """Random entries of the given classes: canvases (B, 1, 32, 128)."""
        classes = len(SOUND_CLASSES)
        slot = torch.randint(0, self.size // classes, labels.shape, generator=g)
        return self.get(slot * classes + labels)


def sound_batch(bank: SoundBank, g: torch.Generator, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Clean sound canvases (B, 1, 32, 128) and their labels (B,)."""
    labels = balanced_labels(g, batch, len(SOUND_CLASSES))
    return bank.draw(g, labels), labels


# ---- textures ---------------------------------------------------------------------------------
def procedural_texture(g: torch.Generator) -> torch.Tensor:
    """A texture (32, 128) in [0, 1]: horizontal, vertical or diagonal lines, or speckle."""
    ys, xs = torch.meshgrid(torch.arange(HEIGHT, dtype=torch.float32), torch.arange(WIDTH, dtype=torch.float32),
                            indexing="ij")
    kind = int(torch.randint(0, 4, (), generator=g))
    if kind == 3:
        return torch.rand(HEIGHT, WIDTH, generator=g) ** _u(g, 0.3, 1.5)
    period = _u(g, 2.5, 8.0)
    if kind == 0:
        coordinate = ys
    elif kind == 1:
        coordinate = xs
    else:
        slope = _u(g, 0.3, 2.5) * (1 if _coin(g, 0.5) else -1)
        coordinate = ys + slope * xs
    wave = 0.5 + 0.5 * torch.cos(2 * torch.pi * (coordinate / period + _u(g, 0, 1)))
    return wave ** _u(g, 1.0, 4.0)


def texture(bank: SoundBank, g: torch.Generator) -> torch.Tensor:
    """A texture (32, 128): a real sound canvas (60 %) or a procedural pattern (40 %)."""
    if _coin(g, 0.6):
        label = torch.randint(0, len(SOUND_CLASSES), (1,), generator=g)
        return bank.draw(g, label)[0, 0]
    return procedural_texture(g)


# ---- shape canvases ---------------------------------------------------------------------------
STYLES = ("filled", "outline", "textured", "carved")
STYLE_WEIGHTS = torch.tensor([0.25, 0.25, 0.3, 0.2])


def shape_canvas(label: int, bank: SoundBank, g: torch.Generator, style: str | None = None) -> torch.Tensor:
    """One shape canvas (32, 128) in [0, 1] of image class ``label``; style random unless given."""
    if style is None:
        style = STYLES[int(torch.multinomial(STYLE_WEIGHTS, 1, generator=g))]
    distance = shapes.shape_distance(label, g)
    fill = shapes.coverage(distance)
    background = _u(g, 0.0, 0.25) + _u(g, 0.0, 0.04) * torch.randn(HEIGHT, WIDTH, generator=g)
    if _coin(g, 0.25):  # faint sound behind the picture
        background = torch.maximum(background, bank.draw(g, torch.randint(0, 8, (1,), generator=g))[0, 0]
                                   * _u(g, 0.2, 0.5))
    level = _u(g, 0.55, 1.0)
    if style == "filled":
        canvas = background + (level - background) * fill
    elif style == "outline":
        canvas = background + (level - background) * shapes.outline(distance, _u(g, 1.5, 4.0))
    else:
        mix = _u(g, 0.3, 0.8)
        ink = mix * texture(bank, g) + (1 - mix) * level
        region = fill if style == "textured" else 1.0 - fill
        canvas = background + (ink - background) * region
    return canvas.clamp(0.0, 1.0)


def image_batch(bank: SoundBank, g: torch.Generator, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Shape canvases (B, 1, 32, 128) and their image labels (B,)."""
    labels = balanced_labels(g, batch, len(IMAGE_CLASSES))
    canvases = torch.stack([shape_canvas(int(k), bank, g) for k in labels])
    return canvases[:, None], labels


# ---- hybrids and the vocoder round trip -------------------------------------------------------
def imprint_shape(canvas: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """A sound canvas (32, 128) with a random shape imprinted: the sound kept only inside the
    shape, carved out of it, or a shape drawn over it. Same shape, in [0, 1]."""
    fill = shapes.coverage(shapes.shape_distance(int(torch.randint(0, len(IMAGE_CLASSES), (), generator=g)), g))
    keep = _u(g, 0.0, 0.6)
    mode = int(torch.randint(0, 3, (), generator=g))
    if mode == 0:
        return canvas * (fill + (1 - fill) * keep)
    if mode == 1:
        return canvas * (1 - fill * (1 - keep))
    return torch.maximum(canvas, fill * _u(g, 0.3, 0.7))


def vocoder_round_trip(canvases: torch.Tensor, *, iterations: int = 32, seed: int = 0) -> torch.Tensor:
    """Canvases (B, 1, 32, 128) → Griffin-Lim → 16-bit quantisation → canvases again (same shape)."""
    vocoder = GriffinLimVocoder(spec=POCKET, iterations=iterations, seed=seed)
    waves = vocoder(canvases[:, 0]).clamp(-1.0, 1.0)
    waves = torch.round(waves * 32767.0) / 32767.0
    return audio_to_canvas(waves, POCKET)[:, None]


class JudgedSoundBank:
    """What the sound judge hears, kept for reuse: entry i is bank entry i's sound with (for a
    fraction ``hybrid`` of entries) a shape imprinted, through the vocoder round trip (its own
    Griffin-Lim seed i), so an entry never depends on which others were made with it."""

    def __init__(self, bank: SoundBank, hybrid: float = 0.6) -> None:
        self.bank, self.hybrid = bank, hybrid
        self._store = torch.zeros(bank.size, HEIGHT, WIDTH, dtype=torch.float16)
        self._made = torch.zeros(bank.size, dtype=torch.bool)

    @property
    def size(self) -> int:
        return self.bank.size

    def get(self, index: torch.Tensor) -> torch.Tensor:
        """Canvases (len(index), 1, 32, 128) float32 in [0, 1]."""
        for i in [int(i) for i in index.unique() if not self._made[i]]:
            canvas = self.bank.get(torch.tensor([i]))
            g = stream_generator(self.bank.data_seed, "judged", i)
            if _coin(g, self.hybrid):
                canvas[0, 0] = imprint_shape(canvas[0, 0], g)
            self._store[i] = vocoder_round_trip(canvas, seed=i)[0, 0].to(torch.float16)
            self._made[i] = True
        return self._store[index].float()[:, None]

    draw = SoundBank.draw  # the same balanced draw, over the round-tripped entries


def judged_sound_batch(judged: JudgedSoundBank, g: torch.Generator, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Judge training batch: canvases (B, 1, 32, 128) after the round trip, labels (B,)."""
    return sound_batch(judged, g, batch)  # type: ignore[arg-type]


def judged_image_batch(bank: SoundBank, g: torch.Generator, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Image judge training batch: shape canvases with, for half of them, mild noise added."""
    canvases, labels = image_batch(bank, g, batch)
    sigma = torch.rand(batch, 1, 1, 1, generator=g) * 0.08 * (torch.rand(batch, 1, 1, 1, generator=g) < 0.5)
    canvases = canvases + sigma * torch.randn(canvases.shape, generator=g)
    return canvases.clamp(0.0, 1.0), labels
