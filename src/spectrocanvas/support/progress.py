"""Progress bars for long work (tqdm on stderr, with the time left), off when not asked for."""

from __future__ import annotations

from tqdm.auto import tqdm


def progress_bar(*, total: int, desc: str, enabled: bool, unit: str = "it") -> tqdm | None:
    """A tqdm bar (elapsed and remaining time shown), or None when progress is off."""
    if not enabled:
        return None
    return tqdm(total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True)
