"""The surveys service's figures for the dashboard: AG topics, Spotlights, survey response
rates — counted from the stored facts at each request, never kept as counters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from services.contracts import stats as st
from services.contracts.envelope import Principal
from services.runtime.errors import Unauthorized
from services.runtime.rpc import Endpoint
from services.surveys.polls.repository import PollsRepository
from services.surveys.polls.service import TRANSITIONS as TOPIC_STATUSES
from services.surveys.questionnaires.repository import QuestionnairesRepository
from services.surveys.spotlights.service import SpotlightsService

COUNTED_SURVEYS = ("published", "closed")


def response_figures(
    surveys: Iterable[tuple[Sequence[Mapping[str, Any]], set[str]]],
) -> tuple[st.ResponseFigures, dict[str, st.ResponseFigures]]:
    """`surveys`: per published survey its addressees (`{id, organisation: {kreis}}`) and the
    ids of those who submitted. Rates are submitted / addressed, summed over surveys."""
    total = st.ResponseFigures(surveys=0, addressed=0, submitted=0, rate=None)
    by_kreis: dict[str, st.ResponseFigures] = {}
    for addressed, submitted in surveys:
        total.surveys += 1
        seen: set[str] = set()
        for a in addressed:
            kreis = (a.get("organisation") or {}).get("kreis")
            figures = [total]
            if kreis:
                figures.append(
                    by_kreis.setdefault(
                        kreis, st.ResponseFigures(surveys=0, addressed=0, submitted=0, rate=None)
                    )
                )
                if kreis not in seen:
                    seen.add(kreis)
                    figures[-1].surveys += 1
            for f in figures:
                f.addressed += 1
                f.submitted += a["id"] in submitted
    for f in (total, *by_kreis.values()):
        f.rate = round(f.submitted / f.addressed, 4) if f.addressed else None
    return total, by_kreis


class SurveysStats:
    def __init__(
        self, polls: PollsRepository, surveys: QuestionnairesRepository, spotlights: SpotlightsService
    ) -> None:
        self.polls = polls
        self.surveys = surveys
        self.spotlights = spotlights

    async def figures(self) -> st.SurveysStats:
        topics = await self.polls.topics.find({}, {"status": 1}).to_list(None)
        by_status = {s: 0 for s in TOPIC_STATUSES}
        for t in topics:
            by_status[t["status"]] = by_status.get(t["status"], 0) + 1
        polls = await self.polls.polls.count_documents({})
        counted = []
        for doc in await self.surveys.surveys_all(with_addressed=True):
            if doc.get("status") not in COUNTED_SURVEYS:
                continue
            submitted = {r["respondent_id"] for r in await self.surveys.submitted_of(doc["_id"])}
            counted.append((doc.get("addressed") or [], submitted))
        responses, responses_by_kreis = response_figures(counted)
        spot, spot_by_kreis = await self.spotlights.stats()
        return st.SurveysStats(
            topics=len(topics),
            topics_by_status=by_status,
            spotlights=spot,
            spotlights_by_kreis=spot_by_kreis,
            responses=responses,
            responses_by_kreis=responses_by_kreis,
            polls=polls,
        )

    def endpoints(self) -> list[Endpoint[Any]]:
        async def stats(p: Principal | None, r: st.StatsRequest) -> st.SurveysStats:
            if p is None:
                raise Unauthorized()
            return await self.figures()

        return [Endpoint(st.Endpoints.SURVEYS, st.StatsRequest, stats)]
