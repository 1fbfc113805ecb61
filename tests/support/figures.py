"""Figures the hardening and fault tests produce ("2,140 generated requests, 0 × 5xx").

Tests record what they measured through the `figures` fixture; the session prints every figure
at the end of the run and writes them to `var/figures.json`, so `make test` shows them and the
docs can quote them. Figures are counts taken from what the test really did, never constants.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Figure:
    area: str  # e.g. "fuzzing", "authorisation", "faults", "privacy"
    name: str  # what was counted, in words
    value: int | float | str
    test: str  # the test that produced it


class Figures:
    def __init__(self) -> None:
        self.items: list[Figure] = []

    def record(self, area: str, name: str, value: int | float | str, test: str) -> None:
        self.items.append(Figure(area, name, value, test))

    def lines(self) -> Iterable[str]:
        for area in sorted({f.area for f in self.items}):
            yield f"{area}:"
            for f in (f for f in self.items if f.area == area):
                yield f"  {f.name}: {f.value}  ({f.test})"

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps([asdict(f) for f in self.items], indent=2, ensure_ascii=False))


FIGURES = Figures()


class Recorder:
    """What a test gets from the `figures` fixture: `figures.record(area, name, value)`."""

    def __init__(self, test: str) -> None:
        self.test = test

    def record(self, area: str, name: str, value: int | float | str) -> None:
        FIGURES.record(area, name, value, self.test)
