"""Wiring of the surveys part into a surveys service process: repository, rules, endpoints and
the deadline task (closing surveys whose time is up, stating "closing soon" once)."""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import timedelta
from typing import Any

from services.runtime.lifecycle import cancel
from services.runtime.process import ServiceProcess
from services.runtime.rpc import Endpoint, RpcClient
from services.surveys.questionnaires.directory import Directory
from services.surveys.questionnaires.endpoints import endpoints
from services.surveys.questionnaires.repository import QuestionnairesRepository
from services.surveys.questionnaires.service import DEFAULT_CLOSING_SOON, QuestionnairesService

log = logging.getLogger(__name__)

DEADLINE_INTERVAL_SECONDS = 5.0
# how long before closes_at `survey.closing_soon` is stated (hours)
CLOSING_SOON_ENV = "SURVEY_CLOSING_SOON_HOURS"


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

    def endpoints(self) -> list[Endpoint[Any]]:
        return endpoints(self.service)

    def start_deadlines(self, interval: float = DEADLINE_INTERVAL_SECONDS) -> None:
        async def run() -> None:
            while True:
                await asyncio.sleep(interval)
                try:
                    await self.service.run_deadlines()
                except Exception as exc:
                    log.warning("survey deadlines failed: %r", exc)

        self._deadlines = asyncio.create_task(run(), name="survey-deadlines")

    async def stop(self) -> None:
        await cancel(self._deadlines)


async def setup(proc: ServiceProcess) -> QuestionnairesPart:
    repo = QuestionnairesRepository(proc.db)
    await repo.create_indexes()
    rpc = RpcClient(proc.conn.nc, proc.names, proc.settings.rpc_timeout)
    svc = QuestionnairesService(
        repo,
        Directory(rpc),
        closing_soon=closing_soon_lead(dict(proc.settings.extra)),
        locks=await proc.locks(),
    )
    return QuestionnairesPart(svc, repo)
