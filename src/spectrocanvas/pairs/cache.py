"""The one process-wide model cache: each model (diffusion model, vocoder, scorer, pocket
weights) is loaded once per process for each key that defines it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

_CACHE: dict[Hashable, Any] = {}
_LOCK = threading.Lock()


def cached(key: Hashable, load: Callable[[], T]) -> T:
    """The model stored under ``key``, loaded by ``load()`` the first time.

    Loading happens under the lock, so two threads never load the same gigabytes twice; a load
    that fails stores nothing.
    """
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = load()
        return _CACHE[key]


def clear_model_cache() -> None:
    """Forget every loaded model (tests; freeing memory)."""
    with _LOCK:
        _CACHE.clear()
