"""Live results: after ballots change, publish the poll's current result on a core NATS subject.

Bursts are coalesced: however many ballots arrive, a poll's result is counted and published at
most once per `interval`, and once more after the last change, so watchers see every state
within about `interval` plus the counting time. The gateway relays these messages to browsers
as server-sent events. A lost message (NATS away) is repaired by the next change, and the
pages' streams start with a fresh count anyway.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import msgspec

from services.contracts import polls as c
from services.runtime.lifecycle import cancel

log = logging.getLogger(__name__)

_encoder = msgspec.json.Encoder()

Count = Callable[[str], Awaitable[c.PollResults]]
Publish = Callable[[str, bytes], Awaitable[None]]


class LiveResults:
    def __init__(self, count: Count, publish: Publish, subject: Callable[[str], str], interval: float = 0.25):
        self.count = count
        self.publish = publish
        self.subject = subject
        self.interval = interval
        self._dirty: set[str] = set()
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def changed(self, poll_id: str) -> None:
        self._dirty.add(poll_id)
        if poll_id not in self._tasks:
            task = asyncio.create_task(self._run(poll_id), name=f"live-{poll_id}")
            self._tasks[poll_id] = task
            task.add_done_callback(lambda _: self._tasks.pop(poll_id, None))

    async def _run(self, poll_id: str) -> None:
        pause = self.interval
        loop = asyncio.get_running_loop()
        while poll_id in self._dirty:
            await asyncio.sleep(pause)
            self._dirty.discard(poll_id)
            started = loop.time()
            try:
                result = await self.count(poll_id)
                await self.publish(self.subject(poll_id), _encoder.encode(result))
            except Exception as exc:  # the next change tries again
                log.warning("live result of %s not published: %r", poll_id, exc)
            # counting takes no more than about a third of the time, however busy it gets
            pause = max(self.interval, 2 * (loop.time() - started))

    async def stop(self) -> None:
        for task in list(self._tasks.values()):
            await cancel(task)
