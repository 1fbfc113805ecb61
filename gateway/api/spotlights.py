"""Spotlights and Quick Wins: an AG's proposals to the Ressorts and their status."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.di import Provide
from litestar.params import Parameter

from gateway.auth import api_principal, gateway_of
from gateway.clients.spotlights import SpotlightsClient
from services.contracts import spotlights as c
from services.contracts.envelope import Principal

IdParam = Annotated[str, Parameter(max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class StatusBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    status: c.Status
    comment: c.Comment = ""
    answer: c.Text = ""


def _client(request: Request[Any, Any, Any]) -> SpotlightsClient:
    return SpotlightsClient(gateway_of(request).rpc)


class SpotlightController(Controller):
    path = "/api/v1/spotlights"
    tags = ["Spotlights"]
    dependencies = {"principal": Provide(api_principal)}

    @post(
        "/",
        status_code=201,
        summary="Spotlight oder Quick Win aus einem AG-Thema oder Bedarf entwerfen (Lotsen, Ministerium)",
        description="Mit `topic_id` und/oder `need_id`; die unterstützenden Kommunen werden übernommen. "
        "422 bei unbekanntem Thema, Bedarf, Ressort oder fehlendem Text.",
    )
    async def create(
        self, request: Request[Any, Any, Any], principal: Principal, data: c.CreateSpotlight
    ) -> c.Spotlight:
        return await _client(request).create(principal, data)

    @get("/", summary="Spotlights, gefiltert nach Status, AG, Ressort, Art, Thema oder Bedarf")
    async def list_spotlights(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        status: c.Status | None = None,
        group_id: IdParam | None = None,
        ressort_id: IdParam | None = None,
        kind: c.Kind | None = None,
        topic_id: IdParam | None = None,
        need_id: IdParam | None = None,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 100,
        cursor: Annotated[str | None, Parameter(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")] = None,
    ) -> c.SpotlightPage:
        req = c.ListSpotlights(
            status=status,
            group_id=group_id,
            ressort_id=ressort_id,
            kind=kind,
            topic_id=topic_id,
            need_id=need_id,
            limit=limit,
            cursor=cursor,
        )
        return await _client(request).list(principal, req)

    @get("/{spotlight_id:str}", summary="Ein Spotlight mit Herkunft, Unterstützern und Statusverlauf")
    async def get_spotlight(
        self, request: Request[Any, Any, Any], principal: Principal, spotlight_id: IdParam
    ) -> c.Spotlight:
        return await _client(request).get(principal, spotlight_id)

    @patch(
        "/{spotlight_id:str}",
        summary="Status ändern: einreichen (AG-Moderation), prüfen und entscheiden (Ministerium)",
        description="entwurf → eingereicht → in_pruefung → umgesetzt | abgelehnt; jeder Wechsel mit "
        "`comment`, Entscheidungen mit `answer` (Antwort des Ministeriums). 409 bei unmöglichem "
        "Wechsel, 403 wenn die Person ihn nicht vornehmen darf, 422 bei fehlendem Text.",
    )
    async def change_status(
        self, request: Request[Any, Any, Any], principal: Principal, spotlight_id: IdParam, data: StatusBody
    ) -> c.Spotlight:
        req = c.ChangeStatus(id=spotlight_id, status=data.status, comment=data.comment, answer=data.answer)
        return await _client(request).change_status(principal, req)
