"""What the frozen dataclasses of settings (the canvas, a view) share: their JSON round trip and
their time axis (columns of ``hop_length`` samples at ``sample_rate``), defined once."""

from __future__ import annotations

import json
from dataclasses import asdict, fields, replace
from typing import Any, TypeVar

Record = TypeVar("Record", bound="SpecBase")


class SpecBase:
    """Mixed into a frozen dataclass with ``sample_rate`` and ``hop_length`` fields: to/from dict and
    JSON, copies with changes, and the time axis."""

    KIND = "settings"
    """How messages name these settings ("canvas", "view")."""
    sample_rate: int
    hop_length: int

    @property
    def frames_per_second(self) -> float:
        return self.sample_rate / self.hop_length

    def frames_for_seconds(self, seconds: float) -> int:
        """Columns for a duration: ``round(seconds * frames_per_second)``."""
        frames = int(round(seconds * self.frames_per_second))
        if frames < 1:
            raise ValueError(f"{seconds} s is shorter than one {self.KIND} column")
        return frames

    def samples_for_frames(self, frames: int) -> int:
        """Waveform length whose analysis gives exactly ``frames`` columns."""
        return frames * self.hop_length

    def seconds_for_frames(self, frames: int) -> float:
        return frames / self.frames_per_second

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls: type[Record], data: dict[str, Any]) -> Record:
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown {cls.KIND} parameters: {sorted(unknown)}")
        return cls(**data)

    @classmethod
    def from_json(cls: type[Record], text: str) -> Record:
        return cls.from_dict(json.loads(text))

    def with_(self: Record, **changes: Any) -> Record:
        return replace(self, **changes)  # type: ignore[type-var]
