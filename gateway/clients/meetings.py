"""Calls into the meetings service."""

from __future__ import annotations

from services.contracts import meetings as c
from services.contracts.common import Empty
from services.contracts.envelope import Principal
from services.runtime.rpc import RpcClient

E = c.Endpoints


class MeetingsClient:
    def __init__(self, rpc: RpcClient) -> None:
        self.rpc = rpc

    async def create(self, who: Principal, req: c.CreateMeeting) -> c.Meeting:
        return await self.rpc.call(c.SERVICE, E.CREATE, req, c.Meeting, principal=who)

    async def update(self, who: Principal, req: c.UpdateMeeting) -> c.Meeting:
        return await self.rpc.call(c.SERVICE, E.UPDATE, req, c.Meeting, principal=who)

    async def list_meetings(self, who: Principal, req: c.ListMeetings) -> c.MeetingPage:
        return await self.rpc.call(c.SERVICE, E.LIST, req, c.MeetingPage, principal=who)

    async def get(self, who: Principal, meeting_id: str, upcoming: int = 10) -> c.Meeting:
        req = c.GetMeeting(id=meeting_id, upcoming=upcoming)
        return await self.rpc.call(c.SERVICE, E.GET, req, c.Meeting, principal=who)

    async def occurrences(self, who: Principal, req: c.ListOccurrences) -> c.OccurrencePage:
        return await self.rpc.call(c.SERVICE, E.OCCURRENCES, req, c.OccurrencePage, principal=who)

    async def cancel_occurrence(self, who: Principal, req: c.CancelOccurrence) -> c.Meeting:
        return await self.rpc.call(c.SERVICE, E.CANCEL_OCCURRENCE, req, c.Meeting, principal=who)

    async def move_occurrence(self, who: Principal, req: c.MoveOccurrence) -> c.Meeting:
        return await self.rpc.call(c.SERVICE, E.MOVE_OCCURRENCE, req, c.Meeting, principal=who)

    async def cancel(self, who: Principal, req: c.CancelMeeting) -> c.Meeting:
        return await self.rpc.call(c.SERVICE, E.CANCEL, req, c.Meeting, principal=who)

    async def register(self, who: Principal, meeting_id: str) -> c.Registration:
        return await self.rpc.call(
            c.SERVICE, E.REGISTER, c.MeetingId(id=meeting_id), c.Registration, principal=who
        )

    async def withdraw(self, who: Principal, meeting_id: str) -> None:
        await self.rpc.call(c.SERVICE, E.WITHDRAW, c.MeetingId(id=meeting_id), type(None), principal=who)

    async def feed_token(self, who: Principal, *, renew: bool = False) -> c.FeedInfo:
        endpoint = E.FEED_TOKEN_RESET if renew else E.FEED_TOKEN
        return await self.rpc.call(c.SERVICE, endpoint, Empty(), c.FeedInfo, principal=who)

    async def feed(self, token: str, group_id: str | None = None) -> c.Feed:
        return await self.rpc.call(c.SERVICE, E.FEED, c.GetFeed(token=token, group_id=group_id), c.Feed)

    async def stats(self, who: Principal) -> c.MeetingStats:
        return await self.rpc.call(c.SERVICE, E.STATS, c.StatsRequest(), c.MeetingStats, principal=who)
