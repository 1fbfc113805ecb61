"""Calls into the polls part of the surveys service."""

from __future__ import annotations

from services.contracts import polls as c
from services.contracts.envelope import Principal
from services.runtime.rpc import RpcClient

E = c.Endpoints


class PollsClient:
    def __init__(self, rpc: RpcClient) -> None:
        self.rpc = rpc

    async def propose_topic(self, who: Principal, req: c.CreateTopic) -> c.Topic:
        return await self.rpc.call(c.SERVICE, E.TOPIC_CREATE, req, c.Topic, principal=who)

    async def topics(self, who: Principal, req: c.ListTopics) -> c.TopicPage:
        return await self.rpc.call(c.SERVICE, E.TOPICS_LIST, req, c.TopicPage, principal=who)

    async def topic(self, who: Principal, topic_id: str) -> c.Topic:
        return await self.rpc.call(c.SERVICE, E.TOPIC_GET, c.GetById(id=topic_id), c.Topic, principal=who)

    async def change_topic_status(self, who: Principal, req: c.ChangeTopicStatus) -> c.Topic:
        return await self.rpc.call(c.SERVICE, E.TOPIC_STATUS, req, c.Topic, principal=who)

    async def create_poll(self, who: Principal, req: c.CreatePoll) -> c.Poll:
        return await self.rpc.call(c.SERVICE, E.POLL_CREATE, req, c.Poll, principal=who)

    async def polls(self, who: Principal, req: c.ListPolls) -> c.PollPage:
        return await self.rpc.call(c.SERVICE, E.POLLS_LIST, req, c.PollPage, principal=who)

    async def poll(self, who: Principal, poll_id: str) -> c.Poll:
        return await self.rpc.call(c.SERVICE, E.POLL_GET, c.GetById(id=poll_id), c.Poll, principal=who)

    async def cast(self, who: Principal, poll_id: str, ballot: c.BallotInput) -> c.Ballot:
        req = c.CastBallot(poll_id=poll_id, ballot=ballot)
        return await self.rpc.call(c.SERVICE, E.BALLOT_PUT, req, c.Ballot, principal=who)

    async def my_ballot(self, who: Principal, poll_id: str) -> c.Ballot:
        return await self.rpc.call(c.SERVICE, E.BALLOT_GET, c.GetById(id=poll_id), c.Ballot, principal=who)

    async def results(self, who: Principal, poll_id: str) -> c.PollResults:
        req = c.GetById(id=poll_id)
        return await self.rpc.call(c.SERVICE, E.RESULTS, req, c.PollResults, principal=who)

    async def close(self, who: Principal, poll_id: str) -> c.PollResults:
        req = c.ClosePoll(id=poll_id)
        return await self.rpc.call(c.SERVICE, E.CLOSE, req, c.PollResults, principal=who)

    async def export(self, who: Principal, poll_id: str) -> c.BallotExport:
        req = c.GetById(id=poll_id)
        return await self.rpc.call(c.SERVICE, E.BALLOTS_EXPORT, req, c.BallotExport, principal=who)
