"""Pages: "Meine Daten" (export and deletion), and for admins the processing record (Art. 30
DSGVO) and the audit trail."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import PermissionDeniedException
from litestar.params import Body

from gateway.api.privacy import delete_person
from gateway.api.session import session_cookie
from gateway.auth import form_csrf_ok, gateway_of, page_login
from gateway.clients.privacy import PrivacyClient
from gateway.i18n import gettext as _
from gateway.web.forms import FormErrors
from gateway.web.pages import render
from services.contracts import privacy as pv
from services.contracts.envelope import ROLE_ADMIN, Principal
from services.runtime.errors import DomainError

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
_export_encoder = msgspec.json.Encoder()


def _admin_only(who: Principal) -> None:
    if ROLE_ADMIN not in who.roles:
        raise PermissionDeniedException(_("Diese Seite ist nur für Administratorinnen und Administratoren."))


def _day(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip()[:10]).isoformat()
    except ValueError:
        return ""


class PrivacyPages(Controller):
    include_in_schema = False

    @get("/meine-daten")
    async def my_data(self, request: Request[Any, Any, Any]) -> Response[Any]:
        auth, _who = await page_login(request)
        return await render(request, "privacy/my_data.html", auth=auth)

    @get("/meine-daten/export.json")
    async def download(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        _auth, who = await page_login(request)
        export = await PrivacyClient(gateway_of(request).rpc).export(who, who.person_id)
        return Response(
            _export_encoder.encode(export),
            media_type="application/json",
            headers={
                "Content-Disposition": 'attachment; filename="meine-daten.json"',
                "Cache-Control": "no-store",
            },
        )

    @get("/meine-daten/loeschen")
    async def confirm(self, request: Request[Any, Any, Any]) -> Response[Any]:
        auth, _who = await page_login(request)
        return await render(request, "privacy/delete.html", {"errors": FormErrors()}, auth=auth)

    @post("/meine-daten/loeschen")
    async def delete(
        self, request: Request[Any, Any, Any], data: Annotated[dict[str, str], Form]
    ) -> Response[Any]:
        auth, who = await page_login(request)
        errors = FormErrors()
        if not form_csrf_ok(request, auth, data.get("csrf_token")):
            errors.general.append(_("Das Formular ist abgelaufen. Bitte senden Sie es erneut."))
        if data.get("confirm") != "1":
            errors.add("confirm", _("Bitte bestätigen Sie, dass Ihr Konto gelöscht werden soll."))
        if errors:
            return await render(request, "privacy/delete.html", {"errors": errors}, status=422, auth=auth)
        await delete_person(request, who, who.person_id)
        page = await render(request, "privacy/deleted.html", {"user": None, "unread": None})
        page.cookies.append(session_cookie(gateway_of(request), "", expire=True))
        return page

    @get("/verwaltung/verarbeitungsverzeichnis")
    async def processing_record(self, request: Request[Any, Any, Any]) -> Response[Any]:
        auth, who = await page_login(request)
        _admin_only(who)
        settings = gateway_of(request).settings
        return await render(
            request,
            "privacy/processing_record.html",
            {
                "inbox_days": settings.retention_inbox_days,
                "log_days": settings.retention_delivery_log_days,
                "session_hours": settings.session_ttl_seconds // 3600,
                "invitation_days": settings.invitation_ttl_days,
            },
            auth=auth,
        )

    @get("/verwaltung/protokoll")
    async def audit(self, request: Request[Any, Any, Any]) -> Response[Any]:
        auth, who = await page_login(request)
        _admin_only(who)
        q = request.query_params
        values = {
            "aktion": (q.get("aktion") or "")[:64],
            "person": (q.get("person") or "")[:64],
            "von": (q.get("von") or "")[:10],
            "bis": (q.get("bis") or "")[:10],
        }
        errors = FormErrors()
        since, until = _day(values["von"]), _day(values["bis"])
        if since == "":
            errors.add("von", _("Bitte geben Sie ein Datum im Format JJJJ-MM-TT an."))
        if until == "":
            errors.add("bis", _("Bitte geben Sie ein Datum im Format JJJJ-MM-TT an."))
        if values["aktion"] and values["aktion"] not in pv.AUDITED:
            errors.add("aktion", _("Diese Aktion gibt es nicht."))
        page: pv.AuditPage | None = None
        if not errors:
            try:
                query = msgspec.convert(
                    {
                        "action": values["aktion"] or None,
                        "actor": values["person"].strip() or None,
                        "since": since,
                        "until": until,
                        "limit": 50,
                        "cursor": (q.get("weiter") or "")[:200] or None,
                    },
                    pv.AuditQuery,
                )
            except msgspec.ValidationError:
                errors.add("person", _("Die Kennung enthält unzulässige Zeichen."))
            else:
                try:
                    page = await PrivacyClient(gateway_of(request).rpc).audit(who, query)
                except DomainError as exc:  # a refused filter (an empty range) goes into the form
                    if exc.status != 422:
                        raise
                    errors.add_all(exc.errors, set())
        return await render(
            request,
            "privacy/audit.html",
            {
                "page": page,
                "values": values,
                "errors": errors,
                "labels": pv.AUDITED,
                "action_options": [(k, _(v)) for k, v in pv.AUDITED.items()],
            },
            status=422 if errors else 200,
            auth=auth,
        )
