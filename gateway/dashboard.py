"""The dashboard "Zahlen und Fakten": each service's own figures, asked at once and combined.

Every figure is computed by the service that owns the data (`<service>.stats`); nothing here is
typed in. A service that does not answer leaves its figures `null` ("nicht verfügbar") and is
named in `unavailable`; the page is still shown.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec

from services.contracts import meetings as mt
from services.contracts import stats as st
from services.contracts.envelope import Principal
from services.runtime.errors import DomainError
from services.runtime.rpc import RpcClient

log = logging.getLogger(__name__)
T = TypeVar("T")
STATS_TIMEOUT = 5.0


class Scope(msgspec.Struct, kw_only=True):
    """The whole Land (`kreis` null) or one Landkreis / kreisfreie Stadt."""

    kreis: str | None
    name: str


class Participation(msgspec.Struct, kw_only=True):
    kommunen: int
    participating: int
    share_of_kommunen: float | None
    inhabitants: int
    participating_inhabitants: int
    share_of_inhabitants: float | None
    members: int


class KreisRow(msgspec.Struct, kw_only=True):
    """One Landkreis or kreisfreie Stadt in the Land-wide comparison; null where the service
    owning the figure did not answer."""

    kreis: str
    name: str
    kommunen: int | None
    participating: int | None
    share_of_inhabitants: float | None
    members: int | None
    needs: int | None
    spotlights: int | None
    spotlights_done: int | None
    response_rate: float | None


class Dashboard(msgspec.Struct, kw_only=True):
    """Figures for the scope; Land-wide figures (Ressorts, AG topics, meetings) stay Land-wide
    when a Kreis is chosen. `null` means the service owning the figure did not answer."""

    scope: Scope
    kreise: list[st.Kreis]
    generated_at: datetime
    participation: Participation | None
    ressorts: int | None
    groups: int | None
    needs: st.NeedFigures | None
    pilots_running: int | None
    pilots_open: int | None
    topics: int | None
    topics_by_status: dict[str, int] | None
    spotlights: st.SpotlightFigures | None
    responses: st.ResponseFigures | None
    meetings_held: int | None
    # of those, the meetings of an AG (the rest: network meetings, Sprechstunden)
    ag_meetings_held: int | None
    unavailable: list[str]
    # Land-wide view only: the same figures for every Kreis, for comparison
    by_kreis: list[KreisRow] = msgspec.field(default_factory=list)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


async def _ask(
    rpc: RpcClient, service: str, endpoint: str, req: msgspec.Struct, reply: type[T], who: Principal
) -> T | None:
    try:
        return await rpc.call(service, endpoint, req, reply, principal=who, timeout=STATS_TIMEOUT)
    except DomainError as exc:
        log.info("figures of %s not available: %s", service, exc)
        return None


async def gather(rpc: RpcClient, who: Principal) -> tuple[Any, ...]:
    return tuple(
        await asyncio.gather(
            _ask(rpc, "directory", st.Endpoints.DIRECTORY, st.StatsRequest(), st.DirectoryStats, who),
            _ask(rpc, "needs", st.Endpoints.NEEDS, st.StatsRequest(), st.NeedsStats, who),
            _ask(rpc, "surveys", st.Endpoints.SURVEYS, st.StatsRequest(), st.SurveysStats, who),
            _ask(rpc, mt.SERVICE, mt.Endpoints.STATS, mt.StatsRequest(), mt.MeetingStats, who),
        )
    )


def assemble(
    directory: st.DirectoryStats | None,
    needs: st.NeedsStats | None,
    surveys: st.SurveysStats | None,
    meetings: mt.MeetingStats | None,
    kreis: str | None,
) -> Dashboard:
    kreise = directory.kreise if directory else []
    name = next((k.name for k in kreise if k.id == kreis), kreis or "") if kreis else "Land Sachsen-Anhalt"
    participation = None
    if directory is not None:
        f = directory.by_kreis.get(kreis) if kreis else directory.total
        if f is None:
            f = st.KommunenFigures(
                kommunen=0, participating=0, inhabitants=0, participating_inhabitants=0, members=0
            )
        participation = Participation(
            kommunen=f.kommunen,
            participating=f.participating,
            share_of_kommunen=_share(f.participating, f.kommunen),
            inhabitants=f.inhabitants,
            participating_inhabitants=f.participating_inhabitants,
            share_of_inhabitants=_share(f.participating_inhabitants, f.inhabitants),
            members=f.members,
        )
    need_figures = None
    running = open_ = None
    if needs is not None:
        empty = st.NeedFigures(total=0, by_status={s: 0 for s in needs.total.by_status})
        need_figures = needs.by_kreis.get(kreis, empty) if kreis else needs.total
        running = needs.pilots_running_by_kreis.get(kreis, 0) if kreis else needs.pilots_running
        open_ = needs.pilots_open
    spot = responses = None
    if surveys is not None:
        empty_spot = st.SpotlightFigures(
            total=0, umgesetzt=0, by_status={s: 0 for s in surveys.spotlights.by_status}
        )
        spot = surveys.spotlights_by_kreis.get(kreis, empty_spot) if kreis else surveys.spotlights
        no_responses = st.ResponseFigures(surveys=0, addressed=0, submitted=0, rate=None)
        responses = surveys.responses_by_kreis.get(kreis, no_responses) if kreis else surveys.responses
    unavailable = [
        label
        for label, value in (
            ("directory", directory),
            ("needs", needs),
            ("surveys", surveys),
            ("meetings", meetings),
        )
        if value is None
    ]
    rows = [] if kreis else [_row(k, directory, needs, surveys) for k in kreise]
    return Dashboard(
        by_kreis=rows,
        scope=Scope(kreis=kreis, name=name),
        kreise=kreise,
        generated_at=datetime.now(UTC),
        participation=participation,
        ressorts=directory.ressorts if directory else None,
        groups=directory.groups if directory else None,
        needs=need_figures,
        pilots_running=running,
        pilots_open=open_,
        topics=surveys.topics if surveys else None,
        topics_by_status=surveys.topics_by_status if surveys else None,
        spotlights=spot,
        responses=responses,
        meetings_held=meetings.held if meetings else None,
        ag_meetings_held=sum(meetings.held_by_group.values()) if meetings else None,
        unavailable=unavailable,
    )


def _row(
    k: st.Kreis,
    directory: st.DirectoryStats | None,
    needs: st.NeedsStats | None,
    surveys: st.SurveysStats | None,
) -> KreisRow:
    f = directory.by_kreis.get(k.id) if directory else None
    spot = surveys.spotlights_by_kreis.get(k.id) if surveys else None
    rate = surveys.responses_by_kreis.get(k.id) if surveys else None
    need = needs.by_kreis.get(k.id) if needs else None
    return KreisRow(
        kreis=k.id,
        name=k.name,
        kommunen=f.kommunen if f else None,
        participating=f.participating if f else None,
        share_of_inhabitants=_share(f.participating_inhabitants, f.inhabitants) if f else None,
        members=f.members if f else None,
        needs=(need.total if need else 0) if needs else None,
        spotlights=(spot.total if spot else 0) if surveys else None,
        spotlights_done=(spot.umgesetzt if spot else 0) if surveys else None,
        response_rate=rate.rate if rate else None,
    )


async def dashboard(rpc: RpcClient, who: Principal, kreis: str | None) -> Dashboard:
    directory, needs, surveys, meetings = await gather(rpc, who)
    return assemble(directory, needs, surveys, meetings, kreis)
