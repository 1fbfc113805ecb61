"""Documents read moments ago, kept for a fraction of a second to a few seconds.

On the hot paths (a ballot, a survey answer) the same document — the poll, the survey with its
addressees — was read from the database for every request although it changes a handful of times
in its life. Each user of `Recent` states in its own words how stale a value may be and drops
its entry when this instance changes the document; other instances' changes show after `ttl`.
When an entry has expired, the requests arriving meanwhile share one read instead of each
sending its own (64 pages at once read a 50 KB survey 64 times, 20 ms of FerretDB's CPU each).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Recent(Generic[K, V]):
    def __init__(self, ttl: float, max_entries: int = 1_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[K, tuple[float, V]] = {}
        self._loading: dict[K, asyncio.Future[V | None]] = {}
        self._next_purge = time.monotonic() + ttl

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if time.monotonic() >= entry[0]:
            self._entries.pop(key, None)
            return None
        return entry[1]

    def put(self, key: K, value: V) -> None:
        now = time.monotonic()
        # expired entries are let go once per lifetime of an entry, not only when the memory is
        # full: a burst of 218 responses would otherwise stay held until the next bursts filled it
        if len(self._entries) >= self.max_entries or now >= self._next_purge:
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            self._next_purge = now + self.ttl
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
        self._entries[key] = (now + self.ttl, value)

    def clear(self) -> None:
        """Forget every entry (and the reads under way)."""
        self._entries.clear()
        self._loading.clear()

    def drop(self, key: K) -> None:
        self._entries.pop(key, None)
        # a read under way may have begun before the change: its result is not kept
        self._loading.pop(key, None)

    async def get_or_load(self, key: K, load: Callable[[], Awaitable[V | None]]) -> V | None:
        """The value if recent, else the result of one `load` shared by every caller asking
        while it runs (a None result, "not found", is shared but not kept)."""
        value = self.get(key)
        if value is not None:
            return value
        running = self._loading.get(key)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await load()
        except BaseException as exc:
            if self._loading.get(key) is future:
                del self._loading[key]
            future.set_exception(exc)
            future.exception()  # retrieved: callers that shared it get it raised
            raise
        if self._loading.get(key) is future:
            del self._loading[key]
            if value is not None:
                self.put(key, value)
        future.set_result(value)
        return value


class Schedule(Generic[V]):
    """A list the background tasks read again and again (the deadlines of the published surveys,
    of the open polls) that changes only when something is published, opened or closed. Reading it
    is a scan of every document ever made, which on FerretDB grows with the years; a list read
    within `seconds` holds unless a change was reported since (`changed`), here or by another
    instance's event. A read overtaken by a change is not kept."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._changes = 0
        self._kept: tuple[int, float, V] | None = None

    def changed(self) -> None:
        self._changes += 1

    async def get(self, load: Callable[[], Awaitable[V]], *, recent: bool) -> V:
        """The list, read now unless `recent` allows the one kept."""
        kept = self._kept
        if (
            recent
            and kept is not None
            and kept[0] == self._changes
            and time.monotonic() - kept[1] < self.seconds
        ):
            return kept[2]
        changes, started = self._changes, time.monotonic()
        value = await load()
        self._kept = (changes, started, value)
        return value
