"""Documents read moments ago, kept for a fraction of a second to a few seconds.

On the hot paths (a ballot, a survey answer) the same document — the poll, the survey with its
addressees — was read from the database for every request although it changes a handful of times
in its life. Each user of `Recent` states in its own words how stale a value may be and drops
its entry when this instance changes the document; other instances' changes show after `ttl`.
"""

from __future__ import annotations

import time
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Recent(Generic[K, V]):
    def __init__(self, ttl: float, max_entries: int = 1_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if time.monotonic() >= entry[0]:
            self._entries.pop(key, None)
            return None
        return entry[1]

    def put(self, key: K, value: V) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self.ttl, value)

    def drop(self, key: K) -> None:
        self._entries.pop(key, None)
