"""Composition root of the surveys service.

Each part (polls and AG topics now; surveys with their own issue) brings its repository, rules
and endpoints; this root gives them the process, one outbox relay over all their collections
and one micro service with all their endpoints.
"""

from __future__ import annotations

from services.runtime.process import ServiceProcess
from services.runtime.settings import Settings
from services.surveys.polls import app as polls


class SurveysProcess(ServiceProcess):
    """The service process plus the parts' background work, stopped before the process."""

    polls: polls.PollsPart

    async def stop(self) -> None:
        await self.polls.stop()
        await super().stop()


async def start(settings: Settings) -> ServiceProcess:
    proc = await SurveysProcess.start(settings, "surveys")
    assert isinstance(proc, SurveysProcess)
    proc.polls = await polls.setup(proc)
    proc.polls.service.on_outbox = proc.outbox(proc.polls.repository.outbox_collections).written
    await proc.serve(proc.polls.endpoints())
    proc.polls.start_closer()
    proc.parts.update(polls=proc.polls.service, polls_repository=proc.polls.repository)
    return proc
