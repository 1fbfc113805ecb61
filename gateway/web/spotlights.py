"""Pages for Spotlights and Quick Wins (list with filters, draft, detail with lineage and status
history, status changes) and the dashboard "Zahlen und Fakten"."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect

from gateway import dashboard as dash
from gateway.auth import Auth, form_csrf_ok, gateway_of, page_login
from gateway.clients.directory import DirectoryClient
from gateway.clients.spotlights import SpotlightsClient
from gateway.i18n import gettext as _
from gateway.web.forms import FormErrors
from gateway.web.pages import render
from gateway.web.polls import local_time
from gateway.web.surveys import number
from services.contracts import directory as d
from services.contracts import spotlights as c
from services.contracts.envelope import Principal
from services.runtime.errors import DomainError

EXPIRED = "Das Formular ist abgelaufen. Bitte senden Sie es erneut."
NOTICES = {
    "angelegt": "Der Entwurf ist angelegt.",
    "status": "Der Status ist geändert.",
}
FIELDS = {"title", "proposal", "reasoning", "ressort_ids", "kind", "topic_id", "need_id", "group_id"}
NEED_LABELS = {
    "neu": "Neu",
    "in_pruefung": "In Prüfung",
    "in_umsetzung": "In Umsetzung",
    "geloest": "Gelöst",
    "abgelehnt": "Abgelehnt",
}
TOPIC_LABELS = {
    "proposed": "Vorgeschlagen",
    "selected": "Ausgewählt",
    "in_work": "In Arbeit",
    "done": "Erledigt",
    "dropped": "Verworfen",
}
PAGE_SIZE = 50
# chart geometry (the template draws the SVG; no inline styles)
CHART_WIDTH = 640
LABEL_WIDTH = 230
BAR_AREA = 300
ROW_HEIGHT = 30


def _client(request: Request[Any, Any, Any]) -> SpotlightsClient:
    return SpotlightsClient(gateway_of(request).rpc)


def _labels() -> dict[str, Any]:
    return {
        "status_labels": {k: _(v) for k, v in c.STATUS_LABELS.items()},
        "spot_kind_labels": {k: _(v) for k, v in c.KIND_LABELS.items()},
        "local_time": local_time,
        "number": number,
    }


def may_draft(who: Principal) -> bool:
    return who.has_any("lotse", "ministry", "admin")


async def _ressorts(request: Request[Any, Any, Any], who: Principal) -> list[d.Organisation]:
    page = await DirectoryClient(gateway_of(request).rpc).organisations(
        who, d.ListOrganisations(kind="ressort", limit=100)
    )
    return sorted(page.items, key=lambda o: o.name)


async def _groups(request: Request[Any, Any, Any], who: Principal) -> dict[str, str]:
    page = await DirectoryClient(gateway_of(request).rpc).groups(who)
    return {g.id: g.name for g in page.items}


def _field(name: str) -> str:
    return name.split("[")[0].split(".")[0]


def bar_chart(items: list[tuple[str, float, str]]) -> dict[str, Any]:
    """Geometry of a horizontal bar chart: (label, value, value text) per bar."""
    top = max((v for _l, v, _t in items), default=0)
    bars = []
    for index, (label, value, text) in enumerate(items):
        width = round(BAR_AREA * value / top) if top else 0
        bars.append(
            {
                "y": index * ROW_HEIGHT + 6,
                "label": label if len(label) <= 32 else label[:31] + "…",
                "width": width,
                "text_x": LABEL_WIDTH + width + 8,
                "value": text,
            }
        )
    return {
        "width": CHART_WIDTH,
        "height": len(items) * ROW_HEIGHT + 8,
        "label_width": LABEL_WIDTH,
        "bars": bars,
    }


def percent(share: float | None) -> str:
    return _("nicht verfügbar") if share is None else f"{number(share * 100)} %"


class SpotlightPages(Controller):
    include_in_schema = False

    @get("/spotlights")
    async def index(self, request: Request[Any, Any, Any]) -> Response[Any]:
        auth, who = await page_login(request)
        params = request.query_params
        values = {k: str(params.get(k, ""))[:64] for k in ("status", "group_id", "ressort_id", "kind")}
        cursor = str(params.get("cursor", ""))[:64] or None
        errors = FormErrors()
        groups = await _groups(request, who)
        ressorts = await _ressorts(request, who)
        if values["status"] and values["status"] not in c.STATUS_LABELS:
            errors.add("status", _("Unbekannter Status."))
        if values["kind"] and values["kind"] not in c.KIND_LABELS:
            errors.add("kind", _("Unbekannte Art."))
        if values["group_id"] and values["group_id"] not in groups:
            errors.add("group_id", _("Unbekannte AG."))
        if values["ressort_id"] and values["ressort_id"] not in {r.id for r in ressorts}:
            errors.add("ressort_id", _("Unbekanntes Ressort."))
        items: list[c.Spotlight] = []
        more: str | None = None
        if cursor is not None and not cursor.replace("-", "").replace("_", "").isalnum():
            cursor = None
        if not errors:
            req = c.ListSpotlights(
                status=values["status"] or None,  # type: ignore[arg-type]
                group_id=values["group_id"] or None,
                ressort_id=values["ressort_id"] or None,
                kind=values["kind"] or None,  # type: ignore[arg-type]
                limit=PAGE_SIZE,
                cursor=cursor,
            )
            page = await _client(request).list(who, req)
            items = page.items
            if page.next_cursor:
                more = "/spotlights?" + urlencode(
                    {**{k: v for k, v in values.items() if v}, "cursor": page.next_cursor}
                )
        return await render(
            request,
            "spotlights/index.html",
            {
                "items": items,
                "more": more,
                "values": values,
                "errors": errors,
                "groups": groups,
                "ressort_options": [(r.id, r.name) for r in ressorts],
                "can_draft": may_draft(who),
                **_labels(),
            },
            auth=auth,
            status=422 if errors else 200,
        )

    @get("/spotlights/neu")
    async def new(self, request: Request[Any, Any, Any]) -> Response[Any]:
        auth, who = await page_login(request)
        params = request.query_params
        values: dict[str, Any] = {
            "topic_id": str(params.get("thema", ""))[:64],
            "need_id": str(params.get("bedarf", ""))[:64],
            "kind": "spotlight",
            "ressort_ids": [],
        }
        return await self._new(request, auth, who, values)

    async def _new(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        who: Principal,
        values: dict[str, Any],
        errors: FormErrors | None = None,
        status: int = 200,
    ) -> Response[Any]:
        return await render(
            request,
            "spotlights/new.html",
            {
                "values": values,
                "errors": errors,
                "groups": await _groups(request, who),
                "ressorts": await _ressorts(request, who),
                "can_draft": may_draft(who),
                **_labels(),
            },
            auth=auth,
            status=status,
        )

    @post("/spotlights/neu")
    async def create(self, request: Request[Any, Any, Any]) -> Response[Any]:
        auth, who = await page_login(request)
        form = await request.form()
        values: dict[str, Any] = {
            k: str(form.get(k, ""))[:6000].strip()
            for k in ("title", "proposal", "reasoning", "kind", "topic_id", "need_id", "group_id")
        }
        values["ressort_ids"] = [str(v)[:64] for v in form.getall("ressort_ids", [])][:20]
        errors = FormErrors()
        if not form_csrf_ok(request, auth, form.get("csrf_token")):
            errors.general.append(_(EXPIRED))
        if not values["title"]:
            errors.add("title", _("Bitte geben Sie einen Titel ein."))
        elif len(values["title"]) > 200:
            errors.add("title", _("Höchstens 200 Zeichen."))
        if not values["proposal"]:
            errors.add("proposal", _("Bitte beschreiben Sie den Vorschlag."))
        if not values["reasoning"]:
            errors.add("reasoning", _("Bitte begründen Sie den Vorschlag."))
        if not values["ressort_ids"]:
            errors.add("ressort_ids", _("Bitte wählen Sie mindestens ein Ressort."))
        if values["kind"] not in c.KIND_LABELS:
            errors.add("kind", _("Bitte wählen Sie die Art."))
        if not values["topic_id"] and not values["need_id"]:
            errors.add("topic_id", _("Ein Spotlight entsteht aus einem AG-Thema oder einem Bedarf."))
        if not errors:
            try:
                req = c.CreateSpotlight(
                    title=values["title"],
                    proposal=values["proposal"],
                    reasoning=values["reasoning"],
                    ressort_ids=values["ressort_ids"],
                    kind=values["kind"],
                    topic_id=values["topic_id"] or None,
                    need_id=values["need_id"] or None,
                    group_id=values["group_id"] or None,
                )
                spotlight = await _client(request).create(who, req)
            except DomainError as exc:
                errors.add_refusal(exc, FIELDS, _field)
            else:
                return Redirect(path=f"/spotlights/{spotlight.id}?hinweis=angelegt")
        return await self._new(request, auth, who, values, errors, 422)

    @get("/spotlights/{spotlight_id:str}")
    async def show(self, request: Request[Any, Any, Any], spotlight_id: str) -> Response[Any]:
        auth, who = await page_login(request)
        return await self._show(request, auth, who, spotlight_id[:64])

    async def _show(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        who: Principal,
        spotlight_id: str,
        errors: FormErrors | None = None,
        values: dict[str, str] | None = None,
        status: int = 200,
    ) -> Response[Any]:
        spotlight = await _client(request).get(who, spotlight_id)
        hint = NOTICES.get(request.query_params.get("hinweis", ""))
        return await render(
            request,
            "spotlights/show.html",
            {
                "s": spotlight,
                "notice": _(hint) if hint else None,
                "errors": errors,
                "values": values or {},
                **_labels(),
            },
            auth=auth,
            status=status,
        )

    @post("/spotlights/{spotlight_id:str}/status")
    async def change(self, request: Request[Any, Any, Any], spotlight_id: str) -> Response[Any]:
        auth, who = await page_login(request)
        spotlight_id = spotlight_id[:64]
        form = await request.form()
        values = {k: str(form.get(k, ""))[:6000].strip() for k in ("status", "comment", "answer")}
        errors = FormErrors()
        if not form_csrf_ok(request, auth, form.get("csrf_token")):
            errors.general.append(_(EXPIRED))
        elif values["status"] not in c.STATUS_LABELS:
            errors.add("status", _("Bitte wählen Sie einen Status."))
        else:
            try:
                req = c.ChangeStatus(
                    id=spotlight_id,
                    status=values["status"],  # type: ignore[arg-type]
                    comment=values["comment"][:2000],
                    answer=values["answer"][:5000],
                )
                await _client(request).change_status(who, req)
            except DomainError as exc:
                if exc.status == 404:
                    raise
                errors.add_refusal(exc, ("status", "comment", "answer"), _field)
                if exc.errors and exc.status != 422:
                    # 403 and 409 explain themselves in the detail; the field hint follows
                    errors.general.insert(0, _(exc.detail or exc.title))
            else:
                return Redirect(path=f"/spotlights/{spotlight_id}?hinweis=status#verlauf")
        return await self._show(request, auth, who, spotlight_id, errors, values, 422)


class DashboardPages(Controller):
    include_in_schema = False

    @get("/zahlen")
    async def dashboard(self, request: Request[Any, Any, Any]) -> Response[Any]:
        return await self._dashboard(request, print_view=False)

    @get("/zahlen/druck")
    async def printable(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """The same figures without navigation and forms, laid out for paper or PDF."""
        return await self._dashboard(request, print_view=True)

    async def _dashboard(self, request: Request[Any, Any, Any], *, print_view: bool) -> Response[Any]:
        auth, who = await page_login(request)
        kreis = str(request.query_params.get("kreis", ""))[:5] or None
        board = await dash.dashboard(gateway_of(request).rpc, who, kreis)
        errors = FormErrors()
        if kreis and board.kreise and kreis not in {k.id for k in board.kreise}:
            errors.add(
                "kreis", _("Bitte wählen Sie einen Landkreis oder eine kreisfreie Stadt aus der Liste.")
            )
            board = await dash.dashboard(gateway_of(request).rpc, who, None)
        charts: dict[str, Any] = {}
        if board.needs is not None:
            need_labels = {k: _(v) for k, v in NEED_LABELS.items()}
            charts["needs"] = bar_chart(
                [(need_labels.get(k, k), v, number(v)) for k, v in board.needs.by_status.items()]
            )
        if board.spotlights is not None:
            charts["spotlights"] = bar_chart(
                [(_(c.STATUS_LABELS[k]), v, number(v)) for k, v in board.spotlights.by_status.items()]
            )
        if board.participation is not None:
            p = board.participation
            charts["participation"] = bar_chart(
                [
                    (_("Kommunen insgesamt"), p.kommunen, number(p.kommunen)),
                    (_("davon beteiligt"), p.participating, number(p.participating)),
                ]
            )
        return await render(
            request,
            "dashboard.html",
            {
                "board": board,
                "charts": charts,
                "print_view": print_view,
                "errors": errors,
                "percent": percent,
                "need_labels": {k: _(v) for k, v in NEED_LABELS.items()},
                "topic_labels": {k: _(v) for k, v in TOPIC_LABELS.items()},
                **_labels(),
            },
            auth=auth,
            status=422 if errors else 200,
        )
