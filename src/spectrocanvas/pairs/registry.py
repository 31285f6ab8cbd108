"""The model pairs spectrocanvas knows, by name. Adding a pair is one module that defines its
:class:`~spectrocanvas.pairs.interface.PairEntry` and one line here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.pairs import sd_auffusion
from spectrocanvas.pairs.interface import PairEntry
from spectrocanvas.pairs.pocket import pair as pocket

PAIRS: dict[str, PairEntry] = {
    sd_auffusion.NAME: sd_auffusion.ENTRY,
    pocket.NAME: pocket.ENTRY,
}
DEFAULT_PAIR = sd_auffusion.NAME
"""The pair a run uses when none is named: the paper's."""


def get_pair(name: str | None) -> PairEntry:
    """The entry called ``name`` (None: :data:`DEFAULT_PAIR`); an unknown name is one line listing the known ones."""
    try:
        return PAIRS[name or DEFAULT_PAIR]
    except KeyError:
        raise SpectrocanvasError(f"unknown model pair '{name}'; choose one of {', '.join(PAIRS)}") from None


def pair_of_sample(meta: Mapping[str, Any]) -> str:
    """The pair that made a sample, from its meta.json (``models.pair``; folders written before pairs
    had names say ``models.preset``, or nothing for the default pair)."""
    models = meta.get("models")
    models = models if isinstance(models, Mapping) else {}
    return models.get("pair") or models.get("preset") or DEFAULT_PAIR
