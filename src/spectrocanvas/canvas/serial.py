"""JSON round trips for the frozen dataclasses of settings (the canvas, a view): one definition."""

from __future__ import annotations

import json
from dataclasses import asdict, fields, replace
from typing import Any, TypeVar

Record = TypeVar("Record", bound="SettingsRecord")


class SettingsRecord:
    """Mixed into a frozen dataclass: to/from dict and JSON, and copies with changes."""

    KIND = "settings"
    """How an error names these settings ("canvas", "view")."""

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
