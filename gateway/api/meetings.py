"""Meetings: single and recurring, registration, cancellations, calendar feeds."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.di import Provide
from litestar.params import Parameter

from gateway.auth import api_principal, gateway_of
from gateway.clients.meetings import MeetingsClient
from services.contracts import meetings as c
from services.contracts.envelope import Principal

IdParam = Annotated[str, Parameter(max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
KeyParam = Annotated[
    str,
    Parameter(pattern=r"^\d{8}T\d{4}$", description="Ursprünglicher Beginn (Ortszeit), z. B. 20260116T0900"),
]
TokenParam = Annotated[str, Parameter(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]
CALENDAR = "text/calendar; charset=utf-8"


class ReasonBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    reason: c.Reason


class MoveBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    start: c.LocalTime
    duration_minutes: c.Duration | None = None


class FeedLinks(msgspec.Struct, kw_only=True):
    """The caller's calendar addresses; whoever knows them can read the calendar."""

    token: str
    person: str
    groups: dict[str, str]
    created_at: datetime


def _meetings(request: Request[Any, Any, Any]) -> MeetingsClient:
    return MeetingsClient(gateway_of(request).rpc)


def feed_links(request: Request[Any, Any, Any], info: c.FeedInfo) -> FeedLinks:
    base = f"{gateway_of(request).settings.public_url}/api/v1/meetings/feeds/{info.token}"
    return FeedLinks(
        token=info.token,
        person=f"{base}/termine.ics",
        groups={g: f"{base}/groups/{g}/termine.ics" for g in info.group_ids},
        created_at=info.created_at,
    )


class MeetingController(Controller):
    path = "/api/v1/meetings"
    tags = ["Termine"]
    dependencies = {"principal": Provide(api_principal)}

    @post("/", status_code=201, summary="Termin oder Terminserie anlegen (Ministerium/Lotse)")
    async def create(
        self, request: Request[Any, Any, Any], principal: Principal, data: c.CreateMeeting
    ) -> c.Meeting:
        return await _meetings(request).create(principal, data)

    @get("/", summary="Termine, der nächste zuerst (mit den nächsten Terminen jeder Serie)")
    async def list(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        group_id: Annotated[str | None, Parameter(max_length=64)] = None,
        mine: bool = False,
    ) -> c.MeetingPage:
        return await _meetings(request).list_meetings(principal, c.ListMeetings(group_id=group_id, mine=mine))

    @get("/occurrences", summary="Einzeltermine aller Serien in einem Zeitraum (Standard: ab jetzt 60 Tage)")
    async def occurrences(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        group_id: Annotated[str | None, Parameter(max_length=64)] = None,
        start: datetime | None = None,
        days: Annotated[int, Parameter(ge=1, le=400)] = 60,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> c.OccurrencePage:
        req = c.ListOccurrences(group_id=group_id, start=start, days=days, limit=limit)
        return await _meetings(request).occurrences(principal, req)

    @get("/stats", summary="Kennzahlen: gehaltene und kommende Termine, Anmeldungen")
    async def stats(self, request: Request[Any, Any, Any], principal: Principal) -> c.MeetingStats:
        return await _meetings(request).stats(principal)

    @get("/feed", summary="Eigene Kalender-Abonnements (geheime Adressen, ohne Anmeldung lesbar)")
    async def feed(self, request: Request[Any, Any, Any], principal: Principal) -> FeedLinks:
        return feed_links(request, await _meetings(request).feed_token(principal))

    @post("/feed", status_code=200, summary="Neue Kalenderadressen erzeugen; die alten gelten nicht mehr")
    async def renew_feed(self, request: Request[Any, Any, Any], principal: Principal) -> FeedLinks:
        return feed_links(request, await _meetings(request).feed_token(principal, renew=True))

    @get("/{meeting_id:str}", summary="Ein Termin mit den nächsten Terminen, Absagen und freien Plätzen")
    async def get(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        meeting_id: IdParam,
        upcoming: Annotated[int, Parameter(ge=0, le=100)] = 10,
    ) -> c.Meeting:
        return await _meetings(request).get(principal, meeting_id, upcoming)

    @put("/{meeting_id:str}", status_code=200, summary="Termin ändern (Ministerium/Lotse)")
    async def update(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        meeting_id: IdParam,
        data: c.MeetingFields,
    ) -> c.Meeting:
        req = c.UpdateMeeting(id=meeting_id, **msgspec.structs.asdict(data))
        return await _meetings(request).update(principal, req)

    @post("/{meeting_id:str}/cancel", status_code=200, summary="Ganzen Termin bzw. ganze Serie absagen")
    async def cancel(
        self, request: Request[Any, Any, Any], principal: Principal, meeting_id: IdParam, data: ReasonBody
    ) -> c.Meeting:
        return await _meetings(request).cancel(principal, c.CancelMeeting(id=meeting_id, reason=data.reason))

    @post(
        "/{meeting_id:str}/occurrences/{occurrence:str}/cancel",
        status_code=200,
        summary="Einen Termin einer Serie absagen (mit Begründung)",
    )
    async def cancel_occurrence(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        meeting_id: IdParam,
        occurrence: KeyParam,
        data: ReasonBody,
    ) -> c.Meeting:
        req = c.CancelOccurrence(id=meeting_id, occurrence=occurrence, reason=data.reason)
        return await _meetings(request).cancel_occurrence(principal, req)

    @post(
        "/{meeting_id:str}/occurrences/{occurrence:str}/move",
        status_code=200,
        summary="Einen Termin einer Serie verschieben",
    )
    async def move_occurrence(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        meeting_id: IdParam,
        occurrence: KeyParam,
        data: MoveBody,
    ) -> c.Meeting:
        req = c.MoveOccurrence(
            id=meeting_id, occurrence=occurrence, start=data.start, duration_minutes=data.duration_minutes
        )
        return await _meetings(request).move_occurrence(principal, req)

    @put(
        "/{meeting_id:str}/registration",
        status_code=200,
        summary="Selbst anmelden (idempotent; ausgebucht → 409)",
    )
    async def register(
        self, request: Request[Any, Any, Any], principal: Principal, meeting_id: IdParam
    ) -> c.Registration:
        return await _meetings(request).register(principal, meeting_id)

    @delete("/{meeting_id:str}/registration", status_code=204, summary="Anmeldung zurückziehen")
    async def withdraw(
        self, request: Request[Any, Any, Any], principal: Principal, meeting_id: IdParam
    ) -> None:
        await _meetings(request).withdraw(principal, meeting_id)


class MeetingFeedController(Controller):
    """iCalendar feeds for calendar programs, which cannot log in: the secret token in the path
    is the permission (GET /api/v1/meetings/feed shows it; POST replaces it)."""

    path = "/api/v1/meetings/feeds"
    tags = ["Termine"]

    @get(
        "/{token:str}/termine.ics",
        summary="Kalender einer Person (RFC 5545): ihre angemeldeten Termine und die ihrer AGs",
        media_type=CALENDAR,
    )
    async def person(self, request: Request[Any, Any, Any], token: TokenParam) -> Response[str]:
        feed = await _meetings(request).feed(token)
        return _calendar(feed)

    @get(
        "/{token:str}/groups/{group_id:str}/termine.ics",
        summary="Kalender einer AG (RFC 5545)",
        media_type=CALENDAR,
    )
    async def group(
        self, request: Request[Any, Any, Any], token: TokenParam, group_id: IdParam
    ) -> Response[str]:
        feed = await _meetings(request).feed(token, group_id)
        return _calendar(feed)


def _calendar(feed: c.Feed) -> Response[str]:
    return Response(
        feed.calendar,
        media_type=CALENDAR,
        headers={
            "Content-Disposition": 'inline; filename="termine.ics"',
            # the address is a secret: keep it out of shared caches and referrers
            "Cache-Control": "private, max-age=300",
            "Referrer-Policy": "no-referrer",
        },
    )
