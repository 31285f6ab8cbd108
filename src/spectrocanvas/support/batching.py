"""Cutting a sequence into batches."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from spectrocanvas.errors import SpectrocanvasError

T = TypeVar("T")


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of at most ``size`` items."""
    if size < 1:
        raise SpectrocanvasError(f"batch size must be at least 1, got {size}")
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
