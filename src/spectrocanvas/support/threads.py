"""Torch's CPU thread count for one block of work."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def cpu_threads(count: int | None) -> Iterator[None]:
    """Run the block with ``count`` intra-op threads, then restore the previous count.

    ``None`` leaves the count alone, and so does a user's ``OMP_NUM_THREADS``: their choice wins
    over a model pair's thread policy.
    """
    before = torch.get_num_threads()
    if count is None or count == before or os.environ.get("OMP_NUM_THREADS"):
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
