"""Transport adapter: NATS micro endpoints of the meetings service."""

from __future__ import annotations

from typing import Any

from services.contracts import meetings as c
from services.contracts.common import Empty
from services.contracts.envelope import Principal
from services.meetings.service import MeetingsService
from services.runtime.rpc import Endpoint, required

E = c.Endpoints


def endpoints(svc: MeetingsService) -> list[Endpoint[Any]]:
    async def stats(p: Principal | None, r: c.StatsRequest) -> c.MeetingStats:
        return await svc.stats(required(p), r)

    async def create(p: Principal | None, r: c.CreateMeeting) -> c.Meeting:
        return await svc.create(required(p), r)

    async def update(p: Principal | None, r: c.UpdateMeeting) -> c.Meeting:
        return await svc.update(required(p), r)

    async def list_meetings(p: Principal | None, r: c.ListMeetings) -> c.MeetingPage:
        return await svc.list_meetings(required(p), r)

    async def get(p: Principal | None, r: c.GetMeeting) -> c.Meeting:
        return await svc.get(required(p), r)

    async def occurrences(p: Principal | None, r: c.ListOccurrences) -> c.OccurrencePage:
        return await svc.occurrences(required(p), r)

    async def cancel_occurrence(p: Principal | None, r: c.CancelOccurrence) -> c.Meeting:
        return await svc.cancel_occurrence(required(p), r)

    async def move_occurrence(p: Principal | None, r: c.MoveOccurrence) -> c.Meeting:
        return await svc.move_occurrence(required(p), r)

    async def cancel(p: Principal | None, r: c.CancelMeeting) -> c.Meeting:
        return await svc.cancel(required(p), r)

    async def register(p: Principal | None, r: c.MeetingId) -> c.Registration:
        return await svc.register(required(p), r.id)

    async def withdraw(p: Principal | None, r: c.MeetingId) -> None:
        await svc.withdraw(required(p), r.id)

    async def feed_token(p: Principal | None, r: Empty) -> c.FeedInfo:
        return await svc.feed_token(required(p))

    async def feed_token_reset(p: Principal | None, r: Empty) -> c.FeedInfo:
        return await svc.feed_token(required(p), renew=True)

    async def feed(p: Principal | None, r: c.GetFeed) -> c.Feed:
        # calendar programs send no cookie: the secret token in the URL is the permission
        return await svc.feed(r)

    return [
        Endpoint(E.STATS, c.StatsRequest, stats),
        Endpoint(E.CREATE, c.CreateMeeting, create),
        Endpoint(E.UPDATE, c.UpdateMeeting, update),
        Endpoint(E.LIST, c.ListMeetings, list_meetings),
        Endpoint(E.GET, c.GetMeeting, get),
        Endpoint(E.OCCURRENCES, c.ListOccurrences, occurrences),
        Endpoint(E.CANCEL_OCCURRENCE, c.CancelOccurrence, cancel_occurrence),
        Endpoint(E.MOVE_OCCURRENCE, c.MoveOccurrence, move_occurrence),
        Endpoint(E.CANCEL, c.CancelMeeting, cancel),
        Endpoint(E.REGISTER, c.MeetingId, register),
        Endpoint(E.WITHDRAW, c.MeetingId, withdraw),
        Endpoint(E.FEED_TOKEN, Empty, feed_token),
        Endpoint(E.FEED_TOKEN_RESET, Empty, feed_token_reset),
        Endpoint(E.FEED, c.GetFeed, feed, anonymous=True),
    ]
