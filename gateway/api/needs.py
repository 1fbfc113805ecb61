"""Needs, "betrifft uns auch", solutions and pilots."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, patch, post, put
from litestar.di import Provide
from litestar.params import Parameter

from gateway.auth import api_principal, gateway_of
from gateway.clients.needs import NeedsClient
from services.contracts import needs as c
from services.contracts.common import Email, Id, Name
from services.contracts.envelope import Principal

IdParam = Annotated[str, Parameter(max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class SupportBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    comment: c.Comment | None = None


class StatusBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    status: c.Status
    reason: c.Comment | None = None


class SolutionBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    title: c.Title
    description: c.Description
    kind: c.SolutionKind
    url: c.Url | None = None


class PilotBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    title: c.Title
    description: c.Description
    need_ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=20)]
    capacity: Annotated[int, msgspec.Meta(ge=1, le=1000)]
    signup_closes_at: datetime


class SignupBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    contact_name: Name
    contact_email: Email
    note: c.Comment | None = None


class SelectionBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    organisation_ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=1000)]


def _needs(request: Request[Any, Any, Any]) -> NeedsClient:
    return NeedsClient(gateway_of(request).rpc)


class NeedController(Controller):
    path = "/api/v1/needs"
    tags = ["Bedarfe"]
    dependencies = {"principal": Provide(api_principal)}

    @post("/", status_code=201, summary="Bedarf melden (für die eigene Kommune)")
    async def report(
        self, request: Request[Any, Any, Any], principal: Principal, data: c.ReportNeed
    ) -> c.Need:
        return await _needs(request).report(principal, data)

    @get("/", summary="Bedarfe suchen, filtern und nach Betroffenheit ordnen")
    async def list(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        q: Annotated[str | None, Parameter(max_length=500)] = None,
        category: c.Category | None = None,
        status: c.Status | None = None,
        landkreis: Annotated[
            str | None, Parameter(pattern=r"^[0-9]{5}$", description="AGS des Landkreises")
        ] = None,
        sort: c.Sort = "supporters",
        limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Parameter(max_length=200)] = None,
    ) -> c.NeedPage:
        req = c.ListNeeds(
            q=q, category=category, status=status, landkreis=landkreis, sort=sort, limit=limit, cursor=cursor
        )
        return await _needs(request).list_needs(principal, req)

    @get("/similar", summary="Ähnliche Bedarfe zu einem Text, die ähnlichsten zuerst")
    async def similar(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        text: Annotated[str, Parameter(min_length=1, max_length=10_000)],
        limit: Annotated[int, Parameter(ge=1, le=20)] = 5,
    ) -> c.SimilarList:
        return await _needs(request).similar(principal, text, limit)

    @get("/{need_id:str}", summary="Ein Bedarf mit betroffenen Kommunen, Lösungsansätzen und Piloten")
    async def get(self, request: Request[Any, Any, Any], principal: Principal, need_id: IdParam) -> c.Need:
        return await _needs(request).get(principal, need_id)

    @put(
        "/{need_id:str}/support",
        status_code=200,
        summary="„Betrifft uns auch“ für die eigene Kommune (idempotent)",
    )
    async def support(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        need_id: IdParam,
        data: SupportBody | None = None,
    ) -> c.SupportResult:
        return await _needs(request).support(principal, need_id, data.comment if data else None)

    @delete("/{need_id:str}/support", status_code=204, summary="„Betrifft uns auch“ zurückziehen")
    async def withdraw(self, request: Request[Any, Any, Any], principal: Principal, need_id: IdParam) -> None:
        await _needs(request).withdraw_support(principal, need_id)

    @patch("/{need_id:str}", summary="Status setzen (Ministerium/Lotse); „abgelehnt“ braucht eine Begründung")
    async def set_status(
        self, request: Request[Any, Any, Any], principal: Principal, need_id: IdParam, data: StatusBody
    ) -> c.Need:
        return await _needs(request).set_status(principal, need_id, data.status, data.reason)

    @post("/{need_id:str}/solutions", status_code=201, summary="Lösungsansatz zu einem Bedarf ergänzen")
    async def add_solution(
        self, request: Request[Any, Any, Any], principal: Principal, need_id: IdParam, data: SolutionBody
    ) -> c.Solution:
        req = c.AddSolution(
            need_id=need_id, title=data.title, description=data.description, kind=data.kind, url=data.url
        )
        return await _needs(request).add_solution(principal, req)


class PilotController(Controller):
    path = "/api/v1/pilots"
    tags = ["Piloten"]
    dependencies = {"principal": Provide(api_principal)}

    @post("/", status_code=201, summary="Pilotvorhaben eröffnen (Ministerium)")
    async def open(self, request: Request[Any, Any, Any], principal: Principal, data: PilotBody) -> c.Pilot:
        req = c.OpenPilot(
            title=data.title,
            description=data.description,
            need_ids=data.need_ids,
            capacity=data.capacity,
            signup_closes_at=data.signup_closes_at,
        )
        return await _needs(request).open_pilot(principal, req)

    @get("/", summary="Pilotvorhaben, die neuesten zuerst")
    async def list(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        need_id: Annotated[str | None, Parameter(max_length=64)] = None,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 50,
        cursor: Annotated[str | None, Parameter(max_length=64)] = None,
    ) -> c.PilotPage:
        return await _needs(request).pilots(
            principal, c.ListPilots(need_id=need_id, limit=limit, cursor=cursor)
        )

    @get("/{pilot_id:str}", summary="Ein Pilotvorhaben mit Anmeldungen und freien Plätzen")
    async def get(self, request: Request[Any, Any, Any], principal: Principal, pilot_id: IdParam) -> c.Pilot:
        return await _needs(request).pilot(principal, pilot_id)

    @put(
        "/{pilot_id:str}/signup",
        status_code=200,
        summary="Eigene Kommune anmelden (idempotent; über der Kapazität: Warteliste)",
    )
    async def sign_up(
        self, request: Request[Any, Any, Any], principal: Principal, pilot_id: IdParam, data: SignupBody
    ) -> c.SignupResult:
        req = c.SignUp(
            pilot_id=pilot_id,
            contact_name=data.contact_name,
            contact_email=data.contact_email,
            note=data.note,
        )
        return await _needs(request).sign_up(principal, req)

    @delete(
        "/{pilot_id:str}/signup",
        status_code=204,
        summary="Anmeldung zurückziehen (die erste Kommune der Warteliste rückt nach)",
    )
    async def withdraw(
        self, request: Request[Any, Any, Any], principal: Principal, pilot_id: IdParam
    ) -> None:
        await _needs(request).withdraw_signup(principal, pilot_id)

    @post(
        "/{pilot_id:str}/selection", status_code=200, summary="Teilnehmende Kommunen auswählen (Ministerium)"
    )
    async def select(
        self, request: Request[Any, Any, Any], principal: Principal, pilot_id: IdParam, data: SelectionBody
    ) -> c.Pilot:
        return await _needs(request).select(principal, pilot_id, data.organisation_ids)
