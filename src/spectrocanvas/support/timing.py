"""Seconds per stage, for the ``timings`` of meta.json."""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator


class StageTimer:
    """Accumulates wall-clock seconds per named stage; ``total`` runs from creation."""

    def __init__(self) -> None:
        self._start = time.perf_counter()
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        begin = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - begin

    def as_dict(self) -> dict[str, float]:
        return {**{k: round(v, 4) for k, v in self.seconds.items()},
                "total": round(time.perf_counter() - self._start, 4)}
