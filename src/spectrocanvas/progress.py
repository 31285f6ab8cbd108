"""Progress bars for long work (tqdm on stderr), off when not asked for."""

from __future__ import annotations

from typing import Any


def progress_bar(*, total: int, desc: str, enabled: bool, unit: str = "it") -> Any | None:
    """A tqdm bar, or None when progress is off."""
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True)
