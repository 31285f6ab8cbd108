"""The pocket vocabulary: the words a pocket prompt may use, and their class indices.

Each model has one extra class, the null class (index ``len(classes)``), used for
classifier-free guidance.
"""

from __future__ import annotations

from spectrocanvas.errors import SpectrocanvasError

IMAGE_CLASSES: tuple[str, ...] = ("circle", "square", "triangle", "cross", "star", "heart", "moon", "arrow")
SOUND_CLASSES: tuple[str, ...] = ("siren", "chirps", "beeps", "chord", "noise", "bell", "rain", "drone")

KINDS = {"image": IMAGE_CLASSES, "audio": SOUND_CLASSES, "sound": SOUND_CLASSES}


class UnknownWordError(SpectrocanvasError):
    """A prompt word that the pocket models were not trained on."""


def classes(kind: str) -> tuple[str, ...]:
    """The class names of ``kind`` ('image', or 'audio' / 'sound')."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}, not {kind!r}")
    return KINDS[kind]


def null_class(kind: str) -> int:
    """Index of the null (unconditional) class of ``kind``."""
    return len(classes(kind))


def class_index(word: str, kind: str) -> int:
    """Index of ``word`` in the vocabulary of ``kind``; one-line error listing the valid words."""
    names = classes(kind)
    key = word.strip().lower()
    if key not in names:
        what = "image" if kind == "image" else "audio"
        raise UnknownWordError(f"the pocket models do not know the {what} prompt {word!r}; "
                               f"use one of: {', '.join(names)}")
    return names.index(key)


def class_pairs() -> list[dict[str, str]]:
    """Every (image class, sound class) pair as prompt-pair dicts, image class major: 8 × 8 = 64."""
    return [{"image_prompt": image, "audio_prompt": sound} for image in IMAGE_CLASSES for sound in SOUND_CLASSES]
