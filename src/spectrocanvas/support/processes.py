"""The processes a run is split across: one, or those `accelerate launch` started.

``accelerate launch -m spectrocanvas …`` starts one process per device (GPU, or CPU core with the
gloo backend); each calls :func:`current_processes` to learn its place. Work is cut into units
(a prompt pair's sample), units into batches in a fixed order, and process p takes batches p,
p + P, p + 2P, … so every unit is made by exactly one process, and a batch is the same batch
whatever the number of processes (its samples come out bit for bit as in one process).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import torch

from spectrocanvas.errors import SpectrocanvasError

T = TypeVar("T")

WAIT_LIMIT = timedelta(hours=12)
"""How long a process waits for the others at a barrier (torch's default, 30 minutes, is shorter than a
slow process's last batches can take on a large sweep). A process that dies does not leave the others
waiting: the launcher stops them all."""


@dataclass(frozen=True)
class Processes:
    """This process's place among ``count`` processes (one when not launched by accelerate)."""

    index: int = 0
    count: int = 1
    device: str | None = None
    """The accelerator accelerate gave this process (``cuda:3``); None: the run decides (alone, or on CPUs)."""
    _state: Any = field(default=None, repr=False, compare=False)

    @property
    def is_main(self) -> bool:
        """The process that writes what belongs to the whole run (run.json, tables) and prints."""
        return self.index == 0

    def mine(self, items: Sequence[T]) -> list[T]:
        """The items this process takes: its index, then every ``count``-th."""
        return list(items[self.index::self.count])

    def device_for(self, requested: str | None) -> str | None:
        """The device to run on: the one accelerate gave this process where none, or only its kind
        (``cuda``), was asked for; else the one asked for."""
        if requested is None or (self.device is not None and requested == self.device.split(":")[0]):
            return self.device
        return requested

    def wait(self) -> None:
        """Wait until every process got here (nothing to wait for alone)."""
        if self._state is not None:
            self._state.wait_for_everyone()


@functools.lru_cache(maxsize=1)
def current_processes() -> Processes:
    """This process's place: alone, unless launched with more than one process (``WORLD_SIZE`` > 1)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return Processes()
    try:
        # accelerate is optional and only a multi-process launch needs it; it imports much at start-up
        from accelerate import PartialState
    except ImportError:
        raise SpectrocanvasError("a run across several processes (WORLD_SIZE > 1) needs accelerate: "
                                 "pip install 'spectrocanvas[scale]'") from None

    state = PartialState(cpu=not torch.cuda.is_available(), timeout=WAIT_LIMIT)
    device = None if state.device.type == "cpu" else str(state.device)  # CPU processes: the run's own default
    return Processes(index=state.process_index, count=state.num_processes, device=device, _state=state)
