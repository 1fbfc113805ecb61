"""Wiring of the surveys part into a surveys service process: repository, rules, endpoints, the
deadline task (closing surveys whose time is up, stating "closing soon" once) and the
survey.published / survey.closed events followed on core NATS, so each instance drops its copy
of a survey another instance changed."""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import datetime, timedelta
from typing import Any

import msgspec
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from services.contracts import surveys as c
from services.contracts.envelope import Event
from services.runtime.lifecycle import cancel
from services.runtime.process import ServiceProcess
from services.runtime.rpc import Endpoint, RpcClient
from services.surveys.questionnaires.directory import Directory
from services.surveys.questionnaires.endpoints import endpoints
from services.surveys.questionnaires.repository import QuestionnairesRepository
from services.surveys.questionnaires.service import (
    DEFAULT_CLOSING_SOON,
    FOLLOWED_SURVEY_SECONDS,
    QuestionnairesService,
)

log = logging.getLogger(__name__)

DEADLINE_INTERVAL_SECONDS = 5.0
# how long before closes_at `survey.closing_soon` is stated (hours)
CLOSING_SOON_ENV = "SURVEY_CLOSING_SOON_HOURS"


class _Changed(msgspec.Struct):
    """What an instance needs of survey.published and survey.closed (v1)."""

    survey_id: str
    closed_at: datetime | None = None


_event_decoder = msgspec.json.Decoder(Event)
_changed_decoder = msgspec.json.Decoder(_Changed)


def closing_soon_lead(extra: dict[str, str] | None = None) -> timedelta:
    raw = (extra or {}).get(CLOSING_SOON_ENV) or os.environ.get(CLOSING_SOON_ENV)
    try:
        return timedelta(hours=float(raw)) if raw else DEFAULT_CLOSING_SOON
    except ValueError:
        log.warning("%s=%r is no number; using %s", CLOSING_SOON_ENV, raw, DEFAULT_CLOSING_SOON)
        return DEFAULT_CLOSING_SOON


class QuestionnairesPart:
    """What the composition root holds of the surveys part; `stop()` ends its background work."""

    def __init__(self, service: QuestionnairesService, repository: QuestionnairesRepository) -> None:
        self.service = service
        self.repository = repository
        self._deadlines: asyncio.Task[None] | None = None
        self._followers: list[Subscription] = []

    def endpoints(self) -> list[Endpoint[Any]]:
        return endpoints(self.service)

    def start_deadlines(self, interval: float = DEADLINE_INTERVAL_SECONDS) -> None:
        async def run() -> None:
            while True:
                await asyncio.sleep(interval)
                try:
                    await self.service.run_deadlines(recent=True)
                except Exception as exc:
                    log.warning("survey deadlines failed: %r", exc)

        self._deadlines = asyncio.create_task(run(), name="survey-deadlines")

    async def follow_changes(self, proc: ServiceProcess) -> None:
        """Every instance (no queue group) hears of the surveys the others published or closed
        and drops its copy; the service keeps copies for `FOLLOWED_SURVEY_SECONDS` then."""

        async def seen(msg: Msg) -> None:
            try:
                event = _event_decoder.decode(msg.data)
                changed = _changed_decoder.decode(event.data)
            except (msgspec.ValidationError, msgspec.DecodeError):
                log.warning("survey event not understood on %s", msg.subject)
                return
            closed_at = (changed.closed_at or event.time) if event.type == c.EVENT_CLOSED else None
            self.service.survey_changed(changed.survey_id, closed_at)

        for event_type in (c.EVENT_PUBLISHED, c.EVENT_CLOSED):
            self._followers.append(
                await proc.conn.nc.subscribe(proc.names.event_subject(event_type), cb=seen)
            )
        proc.conn.on_reconnected.append(self.service.changes_missed)

    async def stop(self) -> None:
        await cancel(self._deadlines)
        for follower in self._followers:
            try:
                await follower.unsubscribe()
            except Exception as exc:  # closing anyway
                log.debug("survey events not unsubscribed: %r", exc)


async def setup(proc: ServiceProcess) -> QuestionnairesPart:
    repo = QuestionnairesRepository(proc.db)
    await repo.create_indexes()
    rpc = RpcClient(proc.conn.nc, proc.names, proc.settings.rpc_timeout)
    svc = QuestionnairesService(
        repo,
        Directory(rpc),
        closing_soon=closing_soon_lead(dict(proc.settings.extra)),
        locks=await proc.locks(),
        survey_seconds=FOLLOWED_SURVEY_SECONDS,
    )
    part = QuestionnairesPart(svc, repo)
    # followed before any endpoint serves: no copy is ever kept without the events
    await part.follow_changes(proc)
    return part
