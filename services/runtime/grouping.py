"""Requests made at about the same time, sent as one.

Callers of the same moment form the first batch; while a batch is under way the next ones
gather, so a lone caller waits no longer than before and a crowd is served in few round trips.
Used for database commands (services/runtime/mongo.py) and for lookups in another service.
"""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


class Grouped(Generic[In, Out]):
    """Subclasses send a batch in `_send` and answer each item, or raise for the whole batch."""

    def __init__(self, max_batch: int = 64) -> None:
        self._max = max_batch
        self._waiting: list[tuple[In, asyncio.Future[Out]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def _submit(self, item: In) -> Out:
        done: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._sender is None:
            self._sender = asyncio.create_task(self._send_all())
        return await done

    async def _send_all(self) -> None:
        batch: list[tuple[In, asyncio.Future[Out]]] = []
        try:
            await asyncio.sleep(0)  # callers of this same moment join the first batch
            while self._waiting:
                batch, self._waiting = self._waiting[: self._max], self._waiting[self._max :]
                try:
                    outcomes = await self._send([item for item, _ in batch])
                except Exception as exc:  # the whole command failed: every caller is told
                    outcomes = [exc] * len(batch)
                for (_, done), outcome in zip(batch, outcomes, strict=True):
                    if done.done():  # the caller gave up waiting
                        continue
                    if isinstance(outcome, Exception):
                        done.set_exception(outcome)
                    else:
                        done.set_result(outcome)
                batch = []
        finally:
            self._sender = None
            # stopped (the process shuts down): nobody is left to send for these callers
            stranded, self._waiting = [*batch, *self._waiting], []
            for _, done in stranded:
                if not done.done():
                    done.set_exception(RuntimeError("not completed: the sender was stopped"))

    async def _send(self, items: list[In]) -> list[Out | Exception]:
        raise NotImplementedError
