"""Composition root of the surveys service.

Each part (polls and AG topics, surveys, Spotlights) brings its repository, rules
and endpoints; this root gives them the process, one outbox relay over all their collections
and one micro service with all their endpoints.
"""

from __future__ import annotations

from typing import ClassVar

from services.runtime import privacy
from services.runtime.process import ServiceProcess
from services.runtime.settings import Settings
from services.surveys.polls import app as polls
from services.surveys.questionnaires import app as questionnaires
from services.surveys.spotlights import app as spotlights
from services.surveys.stats import SurveysStats


class SurveysProcess(ServiceProcess):
    """The service process plus the parts' background work, stopped after the endpoints are
    drained (a ballot still being handled publishes its live result) and before the consumers."""

    # each instance follows the ballot.cast events on core NATS for its live counts (polls/app.py);
    # the events of its own ballots, held already, stay away instead of coming back to be dropped
    echo: ClassVar[bool] = False
    polls: polls.PollsPart
    questionnaires: questionnaires.QuestionnairesPart
    spotlights: spotlights.SpotlightsPart


async def start(settings: Settings) -> ServiceProcess:
    proc = await SurveysProcess.start(settings, "surveys")
    assert isinstance(proc, SurveysProcess)
    proc.polls = await polls.setup(proc)
    proc.questionnaires = await questionnaires.setup(proc)
    proc.spotlights = await spotlights.setup(proc, proc.polls.repository)
    relay = proc.outbox(
        [
            *proc.polls.repository.outbox_collections,
            *proc.questionnaires.repository.outbox_collections,
            *proc.spotlights.repository.outbox_collections,
        ]
    )
    proc.polls.service.on_outbox = relay.written
    proc.questionnaires.service.on_outbox = relay.written
    # responses, ballots and topics stay (attributed to the Kommune, or to the pseudonym)
    _, export = await privacy.join(proc, privacy.Policy(service="surveys"))
    proc.spotlights.service.on_outbox = relay.written
    figures = SurveysStats(proc.polls.repository, proc.questionnaires.repository, proc.spotlights.service)
    await proc.serve(
        [
            *proc.polls.endpoints(),
            *proc.questionnaires.endpoints(),
            *proc.spotlights.endpoints(),
            *figures.endpoints(),
            export,
        ]
    )
    proc.polls.start_closer()
    await proc.polls.follow_events(proc)
    proc.questionnaires.start_deadlines()
    proc.on_stop(proc.polls.stop)
    proc.on_stop(proc.questionnaires.stop)
    proc.parts.update(polls=proc.polls.service, polls_repository=proc.polls.repository, polls_part=proc.polls)
    proc.parts.update(surveys=proc.questionnaires.service, surveys_repository=proc.questionnaires.repository)
    proc.parts.update(spotlights=proc.spotlights.service)
    return proc
