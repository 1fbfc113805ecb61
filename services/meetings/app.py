"""Composition root of the meetings service: database, peers, rules, endpoints, outbox and the
reminder loop."""

from __future__ import annotations

import logging
import os
from datetime import timedelta

from services.meetings.endpoints import endpoints
from services.meetings.peers import Peers
from services.meetings.repository import MeetingsRepository
from services.meetings.service import DEFAULT_REMINDER_LEAD, MeetingsService
from services.runtime import privacy
from services.runtime.loops import BackgroundLoop
from services.runtime.process import ServiceProcess
from services.runtime.rpc import RpcClient
from services.runtime.settings import Settings

log = logging.getLogger(__name__)

# how long before an occurrence `meeting.occurrence_upcoming` is stated (hours)
REMINDER_ENV = "MEETING_REMINDER_HOURS"
REMINDER_INTERVAL_SECONDS = 60.0

# a deleted person's seats are freed and their calendar addresses stop working; what they
# registered for is theirs alone, so nothing of it stays (docs/privacy.md)
PRIVACY_POLICY = privacy.Policy(
    service="meetings",
    delete=frozenset({"registrations", "registrants", "withdrawals", "feed_tokens", "feed_lookup"}),
    omit={"feed_tokens": ("token",), "feed_lookup": ("_id",)},
)


def reminder_lead(extra: dict[str, str] | None = None) -> timedelta:
    raw = (extra or {}).get(REMINDER_ENV) or os.environ.get(REMINDER_ENV)
    try:
        return timedelta(hours=float(raw)) if raw else DEFAULT_REMINDER_LEAD
    except ValueError:
        log.warning("%s=%r is no number; using %s", REMINDER_ENV, raw, DEFAULT_REMINDER_LEAD)
        return DEFAULT_REMINDER_LEAD


class Reminders(BackgroundLoop):
    """States upcoming occurrences; several rounds (or instances) state each one once."""

    name = "meeting-reminders"
    interval = REMINDER_INTERVAL_SECONDS

    def __init__(self, service: MeetingsService) -> None:
        super().__init__()
        self.service = service

    async def run_once(self) -> int:
        return await self.service.state_upcoming()


async def start(settings: Settings) -> ServiceProcess:
    proc = await ServiceProcess.start(settings, "meetings")
    repo = MeetingsRepository(proc.db)
    await repo.create_indexes()
    svc = MeetingsService(
        repo,
        Peers(RpcClient(proc.conn.nc, proc.names, settings.rpc_timeout)),
        public_url=settings.public_url,
        reminder_lead=reminder_lead(dict(settings.extra)),
    )
    svc.on_outbox = proc.outbox(repo.outbox_collections).written
    _, export = await privacy.join(proc, PRIVACY_POLICY)
    await proc.serve([*endpoints(svc), export])
    reminders = Reminders(svc)
    reminders.start()
    proc.on_stop(reminders.stop)
    proc.parts.update(service=svc, repository=repo, reminders=reminders)
    return proc
