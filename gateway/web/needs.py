"""Pages for needs and pilots: browse, report (with the similar-needs check), support, status,
solutions, pilot sign-up and selection."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect

from gateway.auth import Auth, form_csrf_ok, gateway_of, page_login
from gateway.clients.directory import DirectoryClient
from gateway.clients.needs import NeedsClient
from gateway.i18n import gettext as _
from gateway.web.forms import FormErrors, convert_all
from gateway.web.lineage import spotlights_of
from gateway.web.pages import render
from services.contracts import directory as d
from services.contracts import needs as c
from services.contracts.envelope import Principal
from services.runtime.errors import DomainError

T = TypeVar("T", bound=msgspec.Struct)

NOTICES = {
    "gemeldet": "Ihr Bedarf ist gemeldet.",
    "betroffen": "Ihre Kommune ist als betroffen eingetragen.",
    "zurueckgezogen": "Ihre Kommune ist nicht mehr als betroffen eingetragen.",
    "status": "Der Status ist geändert.",
    "loesung": "Der Lösungsansatz ist ergänzt.",
    "angemeldet": "Ihre Kommune ist angemeldet.",
    "abgemeldet": "Ihre Anmeldung ist zurückgezogen.",
    "auswahl": "Die Auswahl ist gespeichert.",
    "eroeffnet": "Das Pilotvorhaben ist eröffnet.",
}
SIGNUP_LABELS = {
    "confirmed": "Platz sicher",
    "waitlisted": "Warteliste",
    "selected": "Ausgewählt",
    "declined": "Nicht ausgewählt",
    "withdrawn": "Zurückgezogen",
}
SORT_LABELS = {
    "supporters": "Meiste betroffene Kommunen",
    "inhabitants": "Meiste betroffene Einwohner",
    "recent": "Neueste zuerst",
}


def _parse(type_: type[T], data: dict[str, Any], errors: FormErrors) -> T | None:
    value, problems = convert_all(type_, data)
    for err in problems:
        errors.add(err.field.split("[")[0], _(err.message))
    return value


def _domain(exc: DomainError, errors: FormErrors, known: set[str]) -> None:
    errors.add_all([type(e)(e.field.split("[")[0], _(e.message)) for e in exc.errors], known)
    if not exc.errors:
        errors.general.append(_(exc.detail or exc.title))


async def _attempt(call: Awaitable[object], errors: FormErrors, known: set[str]) -> bool:
    """Run the service call behind a form. False, with the refusal in `errors`, when the service
    said no; an unknown need or pilot stays a 404 page."""
    try:
        await call
    except DomainError as exc:
        if exc.status == 404:
            raise
        _domain(exc, errors, known)
        return False
    return True


async def _form(request: Request[Any, Any, Any]) -> Any:
    return await request.form()


def _labels() -> dict[str, Any]:
    return {
        "categories": {k: _(v) for k, v in c.CATEGORIES.items()},
        "statuses": {k: _(v) for k, v in c.STATUS_LABELS.items()},
        "solution_kinds": {k: _(v) for k, v in c.SOLUTION_KINDS.items()},
        "signup_labels": {k: _(v) for k, v in SIGNUP_LABELS.items()},
    }


class NeedPages(Controller):
    include_in_schema = False

    @get("/bedarfe")
    async def index(self, request: Request[Any, Any, Any]) -> Response[Any]:
        auth, who = await page_login(request)
        params = request.query_params
        raw = {
            k: params.get(k)
            for k in ("q", "category", "status", "sort", "landkreis", "cursor")
            if params.get(k)
        }
        errors = FormErrors()
        query = _parse(c.ListNeeds, {**raw, "limit": 20}, errors) or c.ListNeeds(limit=20)
        page = await NeedsClient(gateway_of(request).rpc).list_needs(who, query)
        kreise: list[d.Organisation] = []
        if who.has_any("ministry", "admin", "lotse"):
            listing = await DirectoryClient(gateway_of(request).rpc).organisations(
                who, d.ListOrganisations(kind="landkreis", limit=100)
            )
            kreise = listing.items
            cities = await DirectoryClient(gateway_of(request).rpc).organisations(
                who, d.ListOrganisations(kind="kreisfreie_stadt", limit=100)
            )
            kreise = sorted([*kreise, *cities.items], key=lambda o: o.name)
        more = None
        if page.next_cursor:
            more = "/bedarfe?" + urlencode(
                {**{k: v for k, v in raw.items() if k != "cursor"}, "cursor": page.next_cursor}
            )
        return await render(
            request,
            "needs/index.html",
            {
                "page": page,
                "query": query,
                "errors": errors,
                "kreise": kreise,
                "more": more,
                "sort_labels": {k: _(v) for k, v in SORT_LABELS.items()},
                **_labels(),
            },
            auth=auth,
        )

    @get("/bedarfe/neu")
    async def new(self, request: Request[Any, Any, Any]) -> Response[Any]:
        auth, _who = await page_login(request)
        return await render(
            request, "needs/new.html", {"values": {}, "similar": None, **_labels()}, auth=auth
        )

    @post("/bedarfe/neu")
    async def create(self, request: Request[Any, Any, Any]) -> Response[Any]:
        auth, who = await page_login(request)
        form = await _form(request)
        values = {
            "title": str(form.get("title", ""))[:300].strip(),
            "description": str(form.get("description", ""))[:20_000].strip(),
            "category": str(form.get("category", "")),
            "tags": str(form.get("tags", ""))[:500],
        }
        errors = FormErrors()
        if not form_csrf_ok(request, auth, form.get("csrf_token")):
            errors.general.append(_("Das Formular ist abgelaufen. Bitte senden Sie es erneut."))
        needs = NeedsClient(gateway_of(request).rpc)
        similar = None
        text = f"{values['title']} {values['description']}".strip()
        if form.get("action") == "check":
            if not text:
                errors.add(
                    "title", _("Bitte geben Sie einen Titel ein, damit wir ähnliche Bedarfe suchen können.")
                )
            else:
                similar = (await needs.similar(who, text[:10_000])).items
        elif not errors:
            tags = [t.strip() for t in values["tags"].split(",") if t.strip()]
            req = _parse(c.ReportNeed, {**values, "tags": tags}, errors)
            if values["category"] == "":
                errors.fields["category"] = _("Bitte wählen Sie eine Kategorie.")
            if req is not None and not errors:
                try:
                    need = await needs.report(who, req)
                except DomainError as exc:
                    _domain(exc, errors, {"title", "description", "category", "tags"})
                else:
                    return Redirect(path=f"/bedarfe/{need.id}?hinweis=gemeldet")
        status = 422 if errors else 200
        return await render(
            request,
            "needs/new.html",
            {"values": values, "similar": similar, "errors": errors, **_labels()},
            auth=auth,
            status=status,
        )

    @get("/bedarfe/{need_id:str}")
    async def show(self, request: Request[Any, Any, Any], need_id: str) -> Response[Any]:
        auth, who = await page_login(request)
        return await self._show(request, auth, who, need_id[:64])

    async def _show(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        who: Principal,
        need_id: str,
        errors: FormErrors | None = None,
        values: dict[str, str] | None = None,
        status: int = 200,
    ) -> Response[Any]:
        need = await NeedsClient(gateway_of(request).rpc).get(who, need_id)
        spotlights = await spotlights_of(request, who, need_id=need_id)
        hint = NOTICES.get(request.query_params.get("hinweis", ""))
        return await render(
            request,
            "needs/show.html",
            {
                "need": need,
                "spotlights": spotlights,
                "notice": _(hint) if hint else None,
                "errors": errors,
                "values": values or {},
                "can_set_status": who.has_any("ministry", "lotse", "admin"),
                "is_kommune": not who.is_ministry and not who.has_any("lotse"),
                **_labels(),
            },
            auth=auth,
            status=status,
        )

    @post("/bedarfe/{need_id:str}/betroffen")
    async def support(self, request: Request[Any, Any, Any], need_id: str) -> Response[Any]:
        auth, who = await page_login(request)
        form = await _form(request)
        errors = FormErrors()
        comment = str(form.get("comment", ""))[:3000].strip() or None
        if not form_csrf_ok(request, auth, form.get("csrf_token")):
            errors.general.append(_("Das Formular ist abgelaufen. Bitte senden Sie es erneut."))
        elif comment and len(comment) > 2000:
            errors.add("comment", _("Höchstens 2000 Zeichen."))
        else:
            if await _attempt(
                NeedsClient(gateway_of(request).rpc).support(who, need_id[:64], comment), errors, {"comment"}
            ):
                return Redirect(path=f"/bedarfe/{need_id[:64]}?hinweis=betroffen#betroffene")
        return await self._show(request, auth, who, need_id[:64], errors, {"comment": comment or ""}, 422)

    @post("/bedarfe/{need_id:str}/nicht-betroffen")
    async def withdraw(self, request: Request[Any, Any, Any], need_id: str) -> Response[Any]:
        auth, who = await page_login(request)
        form = await _form(request)
        errors = FormErrors()
        if not form_csrf_ok(request, auth, form.get("csrf_token")):
            errors.general.append(_("Das Formular ist abgelaufen. Bitte senden Sie es erneut."))
        else:
            if await _attempt(
                NeedsClient(gateway_of(request).rpc).withdraw_support(who, need_id[:64]), errors, set()
            ):
                return Redirect(path=f"/bedarfe/{need_id[:64]}?hinweis=zurueckgezogen#betroffene")
        return await self._show(request, auth, who, need_id[:64], errors, status=409)

    @post("/bedarfe/{need_id:str}/status")
    async def set_status(self, request: Request[Any, Any, Any], need_id: str) -> Response[Any]:
        auth, who = await page_login(request)
        form = await _form(request)
        errors = FormErrors()
        values = {"status": str(form.get("status", "")), "reason": str(form.get("reason", ""))[:3000].strip()}
        if not form_csrf_ok(request, auth, form.get("csrf_token")):
            errors.general.append(_("Das Formular ist abgelaufen. Bitte senden Sie es erneut."))
        else:
            body = _parse(
                c.SetStatus,
                {"id": need_id[:64], "status": values["status"], "reason": values["reason"] or None},
                errors,
            )
            if body is not None:
                client = NeedsClient(gateway_of(request).rpc)
                if await _attempt(
                    client.set_status(who, body.id, body.status, body.reason), errors, {"status", "reason"}
                ):
                    return Redirect(path=f"/bedarfe/{need_id[:64]}?hinweis=status#status")
        return await self._show(request, auth, who, need_id[:64], errors, values, 422)

    @post("/bedarfe/{need_id:str}/loesungen")
    async def add_solution(self, request: Request[Any, Any, Any], need_id: str) -> Response[Any]:
        auth, who = await page_login(request)
        form = await _form(request)
        errors = FormErrors()
        values = {
            k: str(form.get(k, ""))[:12_000].strip()
            for k in ("solution_title", "solution_description", "solution_kind", "solution_url")
        }
        if not form_csrf_ok(request, auth, form.get("csrf_token")):
            errors.general.append(_("Das Formular ist abgelaufen. Bitte senden Sie es erneut."))
        else:
            parsed = FormErrors()
            body = _parse(
                c.AddSolution,
                {
                    "need_id": need_id[:64],
                    "title": values["solution_title"],
                    "description": values["solution_description"],
                    "kind": values["solution_kind"],
                    "url": values["solution_url"] or None,
                },
                parsed,
            )
            for name, message in parsed.fields.items():
                errors.add(f"solution_{name}", message)
            if body is not None:
                if await _attempt(
                    NeedsClient(gateway_of(request).rpc).add_solution(who, body), errors, set()
                ):
                    return Redirect(path=f"/bedarfe/{need_id[:64]}?hinweis=loesung#loesungen")
        return await self._show(request, auth, who, need_id[:64], errors, values, 422)


class PilotPages(Controller):
    include_in_schema = False

    @get("/piloten")
    async def index(self, request: Request[Any, Any, Any]) -> Response[Any]:
        auth, who = await page_login(request)
        page = await NeedsClient(gateway_of(request).rpc).pilots(who, c.ListPilots(limit=100))
        return await render(
            request,
            "needs/pilots.html",
            {"pilots": page.items, "is_ministry": who.is_ministry, **_labels()},
            auth=auth,
        )

    @get("/piloten/neu")
    async def new(self, request: Request[Any, Any, Any]) -> Response[Any]:
        auth, who = await page_login(request)
        return await self._new(
            request, auth, who, FormErrors(), {"need_ids": [request.query_params.get("bedarf", "")]}
        )

    async def _new(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        who: Principal,
        errors: FormErrors,
        values: dict[str, Any],
        status: int = 200,
    ) -> Response[Any]:
        if not who.is_ministry:
            return await render(
                request,
                "error.html",
                {
                    "status": 403,
                    "title": _("Keine Berechtigung"),
                    "detail": _("Pilotvorhaben eröffnet das Ministerium."),
                },
                status=403,
                auth=auth,
            )
        needs = await NeedsClient(gateway_of(request).rpc).list_needs(who, c.ListNeeds(limit=100))
        return await render(
            request,
            "needs/pilot_new.html",
            {"needs": needs.items, "values": values, "errors": errors, **_labels()},
            auth=auth,
            status=status,
        )

    @post("/piloten/neu")
    async def create(self, request: Request[Any, Any, Any]) -> Response[Any]:
        auth, who = await page_login(request)
        form = await _form(request)
        errors = FormErrors()
        values: dict[str, Any] = {
            "title": str(form.get("title", ""))[:300].strip(),
            "description": str(form.get("description", ""))[:12_000].strip(),
            "capacity": str(form.get("capacity", "")).strip(),
            "signup_closes_at": str(form.get("signup_closes_at", "")).strip(),
            "need_ids": [str(v)[:64] for v in form.getall("need_ids", [])][:20],
        }
        if not form_csrf_ok(request, auth, form.get("csrf_token")):
            errors.general.append(_("Das Formular ist abgelaufen. Bitte senden Sie es erneut."))
        else:
            capacity: Any = values["capacity"]
            if not capacity.isdigit():
                errors.add("capacity", _("Bitte geben Sie eine ganze Zahl ein."))
            closes = values["signup_closes_at"]
            if not closes:
                errors.add("signup_closes_at", _("Bitte geben Sie eine Anmeldefrist an."))
            if not values["need_ids"]:
                errors.add("need_ids", _("Bitte wählen Sie mindestens einen Bedarf."))
            body = _parse(
                c.OpenPilot,
                {
                    "title": values["title"],
                    "description": values["description"],
                    "need_ids": values["need_ids"],
                    "capacity": int(capacity) if capacity.isdigit() else 1,
                    # a date from the form means the end of that day, Berlin time
                    "signup_closes_at": f"{closes}T23:59:59+01:00" if len(closes) == 10 else closes,
                },
                errors,
            )
            if body is not None and not errors:
                try:
                    pilot = await NeedsClient(gateway_of(request).rpc).open_pilot(who, body)
                except DomainError as exc:
                    _domain(exc, errors, {"title", "description", "capacity", "signup_closes_at", "need_ids"})
                else:
                    return Redirect(path=f"/piloten/{pilot.id}?hinweis=eroeffnet")
        return await self._new(request, auth, who, errors, values, 422)

    @get("/piloten/{pilot_id:str}")
    async def show(self, request: Request[Any, Any, Any], pilot_id: str) -> Response[Any]:
        auth, who = await page_login(request)
        return await self._show(request, auth, who, pilot_id[:64])

    async def _show(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        who: Principal,
        pilot_id: str,
        errors: FormErrors | None = None,
        values: dict[str, str] | None = None,
        status: int = 200,
    ) -> Response[Any]:
        client = NeedsClient(gateway_of(request).rpc)
        pilot = await client.pilot(who, pilot_id)
        mine = next((s for s in pilot.signups if s.organisation.id == who.organisation_id), None)
        hint = NOTICES.get(request.query_params.get("hinweis", ""))
        return await render(
            request,
            "needs/pilot.html",
            {
                "pilot": pilot,
                "mine": mine,
                "notice": _(hint) if hint else None,
                "errors": errors,
                "values": values or {},
                "is_ministry": who.is_ministry,
                "is_kommune": not who.is_ministry and not who.has_any("lotse"),
                **_labels(),
            },
            auth=auth,
            status=status,
        )

    @post("/piloten/{pilot_id:str}/anmeldung")
    async def sign_up(self, request: Request[Any, Any, Any], pilot_id: str) -> Response[Any]:
        auth, who = await page_login(request)
        form = await _form(request)
        errors = FormErrors()
        values = {k: str(form.get(k, ""))[:3000].strip() for k in ("contact_name", "contact_email", "note")}
        if not form_csrf_ok(request, auth, form.get("csrf_token")):
            errors.general.append(_("Das Formular ist abgelaufen. Bitte senden Sie es erneut."))
        else:
            body = _parse(
                c.SignUp,
                {
                    "pilot_id": pilot_id[:64],
                    "contact_name": values["contact_name"],
                    "contact_email": values["contact_email"],
                    "note": values["note"] or None,
                },
                errors,
            )
            if body is not None:
                if await _attempt(
                    NeedsClient(gateway_of(request).rpc).sign_up(who, body),
                    errors,
                    {"contact_name", "contact_email", "note"},
                ):
                    return Redirect(path=f"/piloten/{pilot_id[:64]}?hinweis=angemeldet#anmeldungen")
        return await self._show(request, auth, who, pilot_id[:64], errors, values, 422)

    @post("/piloten/{pilot_id:str}/abmeldung")
    async def withdraw(self, request: Request[Any, Any, Any], pilot_id: str) -> Response[Any]:
        auth, who = await page_login(request)
        form = await _form(request)
        errors = FormErrors()
        if not form_csrf_ok(request, auth, form.get("csrf_token")):
            errors.general.append(_("Das Formular ist abgelaufen. Bitte senden Sie es erneut."))
        else:
            if await _attempt(
                NeedsClient(gateway_of(request).rpc).withdraw_signup(who, pilot_id[:64]), errors, set()
            ):
                return Redirect(path=f"/piloten/{pilot_id[:64]}?hinweis=abgemeldet#anmeldungen")
        return await self._show(request, auth, who, pilot_id[:64], errors, status=409)

    @post("/piloten/{pilot_id:str}/auswahl")
    async def select(self, request: Request[Any, Any, Any], pilot_id: str) -> Response[Any]:
        auth, who = await page_login(request)
        form = await _form(request)
        errors = FormErrors()
        chosen = [str(v)[:64] for v in form.getall("organisation_ids", [])][:1000]
        if not form_csrf_ok(request, auth, form.get("csrf_token")):
            errors.general.append(_("Das Formular ist abgelaufen. Bitte senden Sie es erneut."))
        elif not chosen:
            errors.add("organisation_ids", _("Bitte wählen Sie mindestens eine Kommune."))
        else:
            if await _attempt(
                NeedsClient(gateway_of(request).rpc).select(who, pilot_id[:64], chosen),
                errors,
                {"organisation_ids"},
            ):
                return Redirect(path=f"/piloten/{pilot_id[:64]}?hinweis=auswahl#anmeldungen")
        return await self._show(request, auth, who, pilot_id[:64], errors, status=422)
