"""Transport adapter: NATS micro endpoints of polls and AG topics, each a thin call into the service."""

from __future__ import annotations

from typing import Any

from services.contracts import polls as c
from services.contracts.envelope import Principal
from services.runtime.errors import Unauthorized
from services.runtime.rpc import Endpoint
from services.surveys.polls.service import PollsService

E = c.Endpoints


def _who(principal: Principal | None) -> Principal:
    if principal is None:  # the wrapper refuses anonymous calls already; this narrows the type
        raise Unauthorized()
    return principal


def endpoints(svc: PollsService) -> list[Endpoint[Any]]:
    async def create_topic(p: Principal | None, r: c.CreateTopic) -> c.Topic:
        return await svc.propose_topic(_who(p), r)

    async def list_topics(p: Principal | None, r: c.ListTopics) -> c.TopicPage:
        return await svc.list_topics(_who(p), r)

    async def get_topic(p: Principal | None, r: c.GetById) -> c.Topic:
        return await svc.get_topic(r.id)

    async def topic_status(p: Principal | None, r: c.ChangeTopicStatus) -> c.Topic:
        return await svc.change_topic_status(_who(p), r)

    async def create_poll(p: Principal | None, r: c.CreatePoll) -> c.Poll:
        return await svc.create_poll(_who(p), r)

    async def list_polls(p: Principal | None, r: c.ListPolls) -> c.PollPage:
        return await svc.list_polls(_who(p), r)

    async def get_poll(p: Principal | None, r: c.GetById) -> c.Poll:
        return await svc.get_poll(_who(p), r.id)

    async def cast(p: Principal | None, r: c.CastBallot) -> c.Ballot:
        return await svc.cast(_who(p), r)

    async def my_ballot(p: Principal | None, r: c.GetById) -> c.Ballot:
        return await svc.my_ballot(_who(p), r.id)

    async def results(p: Principal | None, r: c.GetById) -> c.PollResults:
        _who(p)
        return await svc.results(r.id)

    async def close(p: Principal | None, r: c.ClosePoll) -> c.PollResults:
        return await svc.close(_who(p), r.id)

    async def export(p: Principal | None, r: c.GetById) -> c.BallotExport:
        return await svc.export_ballots(_who(p), r.id)

    return [
        Endpoint(E.TOPIC_CREATE, c.CreateTopic, create_topic),
        Endpoint(E.TOPICS_LIST, c.ListTopics, list_topics),
        Endpoint(E.TOPIC_GET, c.GetById, get_topic),
        Endpoint(E.TOPIC_STATUS, c.ChangeTopicStatus, topic_status),
        Endpoint(E.POLL_CREATE, c.CreatePoll, create_poll),
        Endpoint(E.POLLS_LIST, c.ListPolls, list_polls),
        Endpoint(E.POLL_GET, c.GetById, get_poll),
        Endpoint(E.BALLOT_PUT, c.CastBallot, cast),
        Endpoint(E.BALLOT_GET, c.GetById, my_ballot),
        Endpoint(E.RESULTS, c.GetById, results),
        Endpoint(E.CLOSE, c.ClosePoll, close),
        Endpoint(E.BALLOTS_EXPORT, c.GetById, export),
    ]
