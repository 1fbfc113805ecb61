"""Privacy (DSGVO) and audit over the API: export, deletion, the audit trail."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.params import Parameter

from gateway.api.session import session_cookie
from gateway.auth import api_principal, forget_tokens_of, gateway_of
from gateway.clients.privacy import PersonalDataExport, PrivacyClient
from services.contracts import privacy as pv
from services.contracts.envelope import ROLE_ADMIN, Principal
from services.runtime.errors import Forbidden, Invalid, field

IdParam = Annotated[str, Parameter(max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
DayParam = Annotated[str | None, Parameter(max_length=10, pattern=r"^\d{4}-\d{2}-\d{2}$")]


class DeletionConfirmation(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    confirm: bool


def _client(request: Request[Any, Any, Any]) -> PrivacyClient:
    return PrivacyClient(gateway_of(request).rpc)


def _admin(principal: Principal) -> None:
    if ROLE_ADMIN not in principal.roles:
        raise Forbidden("Nur für Administratorinnen und Administratoren.")


def _confirmed(data: DeletionConfirmation) -> None:
    if not data.confirm:
        raise Invalid(
            "Die Löschung ist nicht bestätigt.",
            [field("confirm", "Bitte bestätigen Sie die Löschung mit true.")],
        )


async def delete_person(
    request: Request[Any, Any, Any], who: Principal, person_id: str
) -> pv.DeletionAccepted:
    """Ask the directory, then end every session of the person at once (the login already fails)."""
    accepted = await _client(request).delete(who, person_id)
    await gateway_of(request).sessions.end_all_of(person_id)
    await forget_tokens_of(gateway_of(request), person_id)
    return accepted


class PrivacyController(Controller):
    tags = ["Datenschutz"]
    dependencies = {"principal": Provide(api_principal)}

    @get(
        "/api/v1/me/export",
        summary="Meine Daten als JSON (Auskunft, Art. 15/20 DSGVO)",
        description="Ein Abschnitt je Dienst mit allen Einträgen, die die Kennung der Person tragen; "
        "Passwörter, Schlüssel und deren Hashes nie. 503, wenn ein Dienst nicht antwortet.",
    )
    async def export_me(
        self, request: Request[Any, Any, Any], principal: Principal
    ) -> Response[PersonalDataExport]:
        export = await _client(request).export(principal, principal.person_id)
        return Response(
            export,
            headers={
                "Content-Disposition": 'attachment; filename="meine-daten.json"',
                "Cache-Control": "no-store",
            },
        )

    @post(
        "/api/v1/me/deletion",
        status_code=202,
        summary="Mein Konto löschen (Art. 17 DSGVO); `{confirm: true}`",
        description="Die Anmeldung endet sofort (alle Sitzungen, alle Zugangsschlüssel); jeder Dienst "
        "entfernt oder pseudonymisiert danach die personenbezogenen Daten. Angaben der Kommune bleiben.",
    )
    async def delete_me(
        self, request: Request[Any, Any, Any], principal: Principal, data: DeletionConfirmation
    ) -> Response[pv.DeletionAccepted]:
        _confirmed(data)
        accepted = await delete_person(request, principal, principal.person_id)
        return Response(
            accepted, status_code=202, cookies=[session_cookie(gateway_of(request), "", expire=True)]
        )

    @get("/api/v1/people/{person_id:str}/export", summary="Daten einer Person als JSON (Admin)")
    async def export_person(
        self, request: Request[Any, Any, Any], principal: Principal, person_id: IdParam
    ) -> PersonalDataExport:
        _admin(principal)
        return await _client(request).export(principal, person_id)

    @post(
        "/api/v1/people/{person_id:str}/deletion",
        status_code=202,
        summary="Eine Person löschen (Admin); `{confirm: true}`",
    )
    async def delete_other(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        person_id: IdParam,
        data: DeletionConfirmation,
    ) -> pv.DeletionAccepted:
        _admin(principal)
        _confirmed(data)
        return await delete_person(request, principal, person_id)

    @get(
        "/api/v1/audit",
        summary="Protokoll: wer hat wann was geändert (Admin)",
        description="Aus dem Ereignisstrom abgeleitet; Filter nach Aktion, Person und Zeitraum (Tage, UTC).",
    )
    async def audit(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        action: Annotated[str | None, Parameter(max_length=64, pattern=r"^[a-z_.]+$")] = None,
        actor: Annotated[str | None, Parameter(max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")] = None,
        since: DayParam = None,
        until: DayParam = None,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 50,
        cursor: Annotated[str | None, Parameter(max_length=200)] = None,
    ) -> pv.AuditPage:
        _admin(principal)
        req = pv.AuditQuery(action=action, actor=actor, since=since, until=until, limit=limit, cursor=cursor)
        return await _client(request).audit(principal, req)
