"""Wiring of the polls part into a surveys service process: repository, rules, endpoints,
outbox, live results and the closer of polls whose time is up (which also lets go of the
ballots held for live counts of polls gone quiet)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from services.contracts import polls as c
from services.runtime.lifecycle import cancel
from services.runtime.process import ServiceProcess
from services.runtime.rpc import Endpoint, RpcClient
from services.surveys.polls.directory import Directory
from services.surveys.polls.endpoints import endpoints
from services.surveys.polls.live import LiveResults
from services.surveys.polls.repository import PollsRepository
from services.surveys.polls.service import PollsService

log = logging.getLogger(__name__)

CLOSER_INTERVAL_SECONDS = 2.0


class PollsPart:
    """What the composition root holds of the polls part; `stop()` ends its background work."""

    def __init__(self, service: PollsService, repository: PollsRepository, live: LiveResults) -> None:
        self.service = service
        self.repository = repository
        self.live = live
        self._closer: asyncio.Task[None] | None = None

    def endpoints(self) -> list[Endpoint[Any]]:
        return endpoints(self.service)

    def start_closer(self, interval: float = CLOSER_INTERVAL_SECONDS) -> None:
        async def run() -> None:
            while True:
                await asyncio.sleep(interval)
                try:
                    await self.service.close_due()
                except Exception as exc:
                    log.warning("closing due polls failed: %r", exc)
                self.service.drop_idle_live()

        self._closer = asyncio.create_task(run(), name="polls-closer")

    async def stop(self) -> None:
        await cancel(self._closer)
        await self.live.stop()


async def setup(proc: ServiceProcess) -> PollsPart:
    repo = PollsRepository(proc.db)
    await repo.create_indexes()
    rpc = RpcClient(proc.conn.nc, proc.names, proc.settings.rpc_timeout)
    svc = PollsService(repo, Directory(rpc))

    async def publish(subject: str, payload: bytes) -> None:
        await proc.conn.nc.publish(subject, payload)

    # counted from the ballots in memory (PollsService.live_results), so a short interval is cheap
    live = LiveResults(
        svc.live_results, publish, lambda poll_id: c.results_subject(proc.names, poll_id), interval=0.1
    )
    svc.on_ballots_changed = live.changed
    return PollsPart(svc, repo, live)
