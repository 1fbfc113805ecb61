"""People, Kommunen, AGs and invitations."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post, put
from litestar.di import Provide
from litestar.params import Parameter

from gateway.api.schemas import AcceptInvitationRequest
from gateway.auth import api_principal, gateway_of
from gateway.clients.directory import DirectoryClient
from services.contracts import directory as c
from services.contracts.envelope import Principal

IdParam = Annotated[str, Parameter(max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


def _dir(request: Request[Any, Any, Any]) -> DirectoryClient:
    return DirectoryClient(gateway_of(request).rpc)


class MeController(Controller):
    path = "/api/v1/me"
    tags = ["Personen"]
    dependencies = {"principal": Provide(api_principal)}

    @get("/", summary="Die angemeldete Person mit Kommune, Rollen und AGs")
    async def me(self, request: Request[Any, Any, Any], principal: Principal) -> c.Me:
        return await _dir(request).me(principal)


class OrganisationController(Controller):
    path = "/api/v1/organisations"
    tags = ["Kommunen"]
    dependencies = {"principal": Provide(api_principal)}

    @get("/", summary="Kommunen und Land, gefiltert nach Art und übergeordneter Einheit")
    async def list(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        kind: c.OrganisationKind | None = None,
        parent: Annotated[str | None, Parameter(max_length=64, pattern=r"^[0-9]+$")] = None,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 100,
        cursor: Annotated[str | None, Parameter(max_length=64, pattern=r"^[0-9]+$")] = None,
    ) -> c.OrganisationPage:
        req = c.ListOrganisations(kind=kind, parent=parent, limit=limit, cursor=cursor)
        return await _dir(request).organisations(principal, req)

    @get("/{org_id:str}", summary="Eine Kommune")
    async def get(
        self, request: Request[Any, Any, Any], principal: Principal, org_id: IdParam
    ) -> c.Organisation:
        return await _dir(request).organisation(principal, org_id)


class PeopleController(Controller):
    path = "/api/v1/people"
    tags = ["Personen"]
    dependencies = {"principal": Provide(api_principal)}

    @post(
        "/",
        status_code=201,
        summary="Person anlegen (Ministerium/Admin); ohne Passwort wird eine Einladung verschickt",
    )
    async def create(
        self, request: Request[Any, Any, Any], principal: Principal, data: c.CreatePerson
    ) -> c.Person:
        return await _dir(request).create_person(principal, data)


class InvitationController(Controller):
    path = "/api/v1/invitations"
    tags = ["Personen"]

    @post(
        "/",
        status_code=201,
        summary="Person einladen (Ministerium/Admin); die Einladung kommt per E-Mail",
        dependencies={"principal": Provide(api_principal)},
    )
    async def invite(
        self, request: Request[Any, Any, Any], principal: Principal, data: c.CreateInvitation
    ) -> c.Invitation:
        return await _dir(request).invite(principal, data)

    @post("/{token:str}/accept", status_code=200, summary="Einladung annehmen und Passwort festlegen")
    async def accept(
        self,
        request: Request[Any, Any, Any],
        token: Annotated[str, Parameter(max_length=200, pattern=r"^[A-Za-z0-9_-]+$")],
        data: AcceptInvitationRequest,
    ) -> c.Person:
        return await _dir(request).accept_invitation(token, data.password)


class GroupController(Controller):
    path = "/api/v1/groups"
    tags = ["AGs"]
    dependencies = {"principal": Provide(api_principal)}

    @get("/", summary="Die Arbeitsgruppen mit Mitgliederzahl")
    async def list(self, request: Request[Any, Any, Any], principal: Principal) -> c.GroupPage:
        return await _dir(request).groups(principal)

    @put(
        "/{group_id:str}/members/{person_id:str}",
        status_code=204,
        summary="Mitglied aufnehmen (Ministerium/Lotse)",
    )
    async def add_member(
        self, request: Request[Any, Any, Any], principal: Principal, group_id: IdParam, person_id: IdParam
    ) -> None:
        await _dir(request).add_member(principal, group_id, person_id)

    @delete(
        "/{group_id:str}/members/{person_id:str}",
        status_code=204,
        summary="Mitglied entfernen (Ministerium/Lotse)",
    )
    async def remove_member(
        self, request: Request[Any, Any, Any], principal: Principal, group_id: IdParam, person_id: IdParam
    ) -> None:
        await _dir(request).remove_member(principal, group_id, person_id)
