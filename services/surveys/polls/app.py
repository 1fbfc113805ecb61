"""Wiring of the polls part into a surveys service process: repository, rules, endpoints,
outbox, live results (with the ballot.cast events followed on core NATS, so each instance learns
of the ballots the others stored) and the closer of polls whose time is up (which also lets go
of the ballots held for live counts of polls gone quiet; poll.opened and poll.closed, followed
the same way, tell it to read the open polls again)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from services.contracts import polls as c
from services.contracts.envelope import Event
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


_event_decoder = msgspec.json.Decoder(Event)
_cast_decoder = msgspec.json.Decoder(c.BallotCast)


class PollsPart:
    """What the composition root holds of the polls part; `stop()` ends its background work."""

    def __init__(self, service: PollsService, repository: PollsRepository, live: LiveResults) -> None:
        self.service = service
        self.repository = repository
        self.live = live
        self._closer: asyncio.Task[None] | None = None
        self._followers: list[Subscription] = []
        self._seen: set[asyncio.Task[None]] = set()

    def endpoints(self) -> list[Endpoint[Any]]:
        return endpoints(self.service)

    def start_closer(self, interval: float = CLOSER_INTERVAL_SECONDS) -> None:
        async def run() -> None:
            while True:
                await asyncio.sleep(interval)
                try:
                    await self.service.close_due(recent=True)
                except Exception as exc:
                    log.warning("closing due polls failed: %r", exc)
                self.service.drop_idle_live()

        self._closer = asyncio.create_task(run(), name="polls-closer")

    async def stop_closer(self) -> None:
        """No more rounds of the closer (its rounds can be run one at a time: `close_due`)."""
        await cancel(self._closer)

    async def follow_events(self, proc: ServiceProcess) -> None:
        """Every instance (no queue group) reads the ballot.cast, poll.opened and poll.closed
        events as they are published; JetStream keeps them too, but a live count and the
        closer's list need them only while they are new."""

        async def seen(msg: Msg) -> None:
            try:
                event = _event_decoder.decode(msg.data)
                cast = _cast_decoder.decode(event.data)
            except (msgspec.ValidationError, msgspec.DecodeError):
                return  # not a ballot.cast of this version: nothing for the live count
            # a task each, so the lookups of a burst share one find
            task = asyncio.create_task(self._seen_ballot(cast))
            self._seen.add(task)
            task.add_done_callback(self._seen.discard)

        async def poll_changed(msg: Msg) -> None:
            self.service.polls_changed()

        nc = proc.conn.nc
        self._followers.append(await nc.subscribe(proc.names.event_subject(c.EVENT_BALLOT_CAST), cb=seen))
        for event_type in (c.EVENT_POLL_OPENED, c.EVENT_POLL_CLOSED):
            self._followers.append(await nc.subscribe(proc.names.event_subject(event_type), cb=poll_changed))
        proc.conn.on_reconnected.append(self.service.live_events_missed)
        proc.conn.on_reconnected.append(self.service.polls_changed)

    async def _seen_ballot(self, cast: c.BallotCast) -> None:
        try:
            await self.service.seen_ballot(cast.poll_id, cast.voter)
        except Exception as exc:  # the next full read of the poll's ballots brings it in
            log.warning("ballot of %s seen, not read: %r", cast.poll_id, exc)

    async def stop(self) -> None:
        await self.stop_closer()
        for follower in self._followers:
            try:
                await follower.unsubscribe()
            except Exception as exc:  # closing anyway
                log.debug("poll events not unsubscribed: %r", exc)
        for task in list(self._seen):
            await cancel(task)
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
