"""How many unread inbox entries each person has, for the badge on every page.

Every logged-in page asks for the caller's count. FerretDB answers a count by person with a scan
of the whole inbox, which grows by one entry per person and event: under page load the scans
took the database's whole capacity and slowed everything else. Here one scan counts for
everybody and is shared by all who ask while it runs. A count is never older than `ttl`
seconds (other instances' writes) and never older than this instance's own last inbox write:
who marks an entry read, or gets a new one through this instance, sees it on the next page.

This instance's writes whose effect is known (entries added for these people, one entry read,
all read) are applied to the counts held (`apply`), so they cost no scan. A scan counts only the
entries created before it began; entries added while it runs are added to its result. A read
during a scan, or a write whose effect is not known (`changed`: retention, erasure), makes the
next count scan again. The inbox grows by ~100,000 entries when 218 Kommunen mark one need, and a scan every
two seconds over it took pages from 178 to 55 per second in the bench's later rounds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Iterator
from datetime import UTC, datetime


class UnreadCounts:
    def __init__(self, load: Callable[[datetime], Awaitable[dict[str, int]]], ttl: float = 30.0) -> None:
        self._load = load
        self._ttl = ttl
        self._version = 0  # bumped by every inbox write of this instance
        self._counts: dict[str, int] = {}
        self._as_of = -1  # the version the counts reflect
        self._at = float("-inf")  # when the scan behind them started
        self._task: asyncio.Task[None] | None = None
        self._task_version = -1
        self._task_at = float("-inf")
        # entries created before this are counted by the running scan; those added here since,
        # by person, are added to its result
        self._cutoff: datetime | None = None
        self._during: dict[str, int] = {}
        self._again = False

    def changed(self) -> None:
        self._version += 1

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Around an inbox write: one that fails (perhaps half done) makes the next count read."""
        try:
            yield
        except BaseException:
            self.changed()
            raise

    def apply(
        self,
        added: Iterable[tuple[str, datetime]] = (),
        *,
        read: str | None = None,
        all_read: str | None = None,
    ) -> None:
        """A write of this instance with a known effect on the counts: unread entries added
        (person, created_at), or one or all of a person's entries read."""
        added = list(added)
        valid = self._as_of == self._version
        scanning = self._task is not None and not self._task.done()
        if scanning and self._cutoff is not None:
            cutoff = self._cutoff
            if any(at < cutoff for _, at in added):
                # the scan may or may not see these: the next count reads
                self._version += 1
                return
            # the scan cannot see entries made after it began: they are added to its result
            for person_id, _ in added:
                self._during[person_id] = self._during.get(person_id, 0) + 1
            if read is not None or all_read is not None:
                # the scan may or may not see it read: its result is corrected as far as known
                # and another scan follows in the background; the reader sees the change now
                who = read or all_read
                assert who is not None
                self._during[who] = self._during.get(who, 0) - 1 if read else -(10**9)
                self._again = True
        elif scanning:
            return  # the scan has not begun yet: it will see this write
        if not valid:
            return  # due to be read again anyway
        for person_id, _ in added:
            self._counts[person_id] = self._counts.get(person_id, 0) + 1
        if read is not None:
            self._counts[read] = max(0, self._counts.get(read, 0) - 1)
        if all_read is not None:
            self._counts.pop(all_read, None)

    async def count(self, person_id: str) -> int:
        loop = asyncio.get_running_loop()
        asked, wanted = loop.time(), self._version
        if self._as_of >= wanted and self._as_of >= 0:
            # counts that include every write of this instance are answered at once; when they
            # are older than ttl (other instances' writes), a scan refreshes them meanwhile: a
            # scan of a large inbox takes many seconds on FerretDB, and pages waited for it
            if self._at < asked - self._ttl and (self._task is None or self._task.done()):
                self._task_version, self._task_at = self._version, asked
                self._task = asyncio.create_task(self._refresh(self._task_version, self._task_at))
                self._task.add_done_callback(_retrieved)
            return self._counts.get(person_id, 0)
        # a scan that started after this call (or within ttl before it) and after the last write
        while not (self._as_of >= wanted and self._at >= asked - self._ttl):
            task = self._task
            if task is not None and not task.done():
                if self._task_version >= wanted and self._task_at >= asked - self._ttl:
                    await asyncio.shield(task)  # raises if the scan failed
                else:
                    await asyncio.wait([task])  # too old for this caller: the next one is
                continue
            self._task_version, self._task_at = self._version, loop.time()
            self._task = asyncio.create_task(self._refresh(self._task_version, self._task_at))
        return self._counts.get(person_id, 0)

    async def _refresh(self, version: int, at: float) -> None:
        self._cutoff, self._during, self._again = datetime.now(UTC), {}, False
        try:
            counts = await self._load(self._cutoff)
            for person_id, n in self._during.items():
                counts[person_id] = max(0, counts.get(person_id, 0) + n)
        finally:
            self._cutoff, self._during = None, {}
        self._counts, self._as_of, self._at = counts, version, at
        if self._again:  # a read during the scan: count once more, in the background
            self._at = float("-inf")


def _retrieved(task: asyncio.Task[None]) -> None:
    # a background refresh that failed: the next caller that must wait scans again
    if not task.cancelled():
        task.exception()
