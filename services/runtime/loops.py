"""A background task that does a round of work every `interval` seconds, or at once when woken."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from services.runtime.lifecycle import cancel

log = logging.getLogger(__name__)


class BackgroundLoop:
    name = "loop"
    interval = 1.0

    def __init__(self) -> None:
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        await cancel(self._task)

    async def run_once(self) -> int:
        raise NotImplementedError

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            self._wake.clear()
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database or a peer is away: the next round tries again
                log.warning("%s round failed: %r", self.name, exc)
