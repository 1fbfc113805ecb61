"""Pages for meetings: upcoming occurrences, a meeting with registration and agenda (and the
live dot vote when a poll is attached), the planning form, cancellations and calendar feeds."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect

from gateway.api.meetings import feed_links
from gateway.auth import Auth, form_csrf_ok, gateway_of, page_login
from gateway.clients.directory import DirectoryClient
from gateway.clients.meetings import MeetingsClient
from gateway.clients.polls import PollsClient
from gateway.i18n import gettext as _
from gateway.web.forms import FormErrors, convert_all
from gateway.web.pages import render
from gateway.web.polls import _labels as poll_labels
from gateway.web.polls import results_view
from services.contracts import meetings as c
from services.contracts.envelope import Principal
from services.runtime.errors import DomainError

NOTICES = {
    "angelegt": "Der Termin ist angelegt.",
    "geaendert": "Der Termin ist geändert.",
    "angemeldet": "Sie sind angemeldet.",
    "abgemeldet": "Ihre Anmeldung ist zurückgezogen.",
    "abgesagt": "Der Termin ist abgesagt.",
    "verschoben": "Der Termin ist verschoben.",
    "erneuert": "Die Kalenderadressen sind erneuert; die alten gelten nicht mehr.",
}
REPEAT_LABELS = {
    "": "Einmaliger Termin",
    "weekly": "Wöchentlich am selben Wochentag",
    "monthly": "Monatlich am selben n-ten Wochentag (z. B. 3. Freitag)",
    "yearly": "Jährlich am selben Datum",
    "custom": "Eigene Regel (RFC 5545)",
}
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
WEEKDAY_NAMES = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
FORM_FIELDS = (
    "title",
    "agenda",
    "start_date",
    "start_time",
    "duration_minutes",
    "repeat",
    "until",
    "rrule",
    "exdates",
    "location",
    "online_url",
    "group_id",
    "capacity",
    "poll_id",
)
EXPIRED = "Das Formular ist abgelaufen. Bitte senden Sie es erneut."


def _client(request: Request[Any, Any, Any]) -> MeetingsClient:
    return MeetingsClient(gateway_of(request).rpc)


def _notice(request: Request[Any, Any, Any]) -> str | None:
    key = request.query_params.get("hinweis", "")
    return _(NOTICES[key]) if key in NOTICES else None


def may_plan(who: Principal) -> bool:
    return who.is_ministry or who.has_any("lotse")


def _rule_for(repeat: str, start: date, until: str, custom: str) -> str | None:
    """The RRULE the simple choices stand for; the service checks it like any other."""
    if repeat == "custom":
        return custom or None
    if repeat not in ("weekly", "monthly", "yearly"):
        return None
    end = f";UNTIL={until.replace('-', '')}" if until else ""
    weekday = WEEKDAYS[start.weekday()]
    if repeat == "weekly":
        return f"FREQ=WEEKLY;BYDAY={weekday}{end}"
    if repeat == "monthly":
        nth = (start.day - 1) // 7 + 1
        return f"FREQ=MONTHLY;BYDAY={'-1' if nth == 5 else nth}{weekday}{end}"
    return f"FREQ=YEARLY{end}"


def _values_of(meeting: c.Meeting) -> dict[str, str]:
    start = datetime.strptime(meeting.start, "%Y-%m-%dT%H:%M")
    return {
        "title": meeting.title,
        "agenda": meeting.agenda,
        "start_date": start.date().isoformat(),
        "start_time": start.strftime("%H:%M"),
        "duration_minutes": str(meeting.duration_minutes),
        "repeat": "custom" if meeting.rrule else "",
        "until": "",
        "rrule": meeting.rrule or "",
        "exdates": "\n".join(x[:10] for x in meeting.exdates),
        "location": meeting.location or "",
        "online_url": meeting.online_url or "",
        "group_id": meeting.group_id or "",
        "capacity": str(meeting.capacity or ""),
        "poll_id": meeting.poll_id or "",
    }


def _fields_from(values: dict[str, str], errors: FormErrors) -> c.MeetingFields | None:
    """The form's values as the contract's fields; problems the form can see are named here,
    the rest (the rule, the AG, the poll) by the service."""
    start: date | None = None
    if not values["start_date"]:
        errors.add("start_date", _("Bitte geben Sie ein Datum an."))
    else:
        try:
            start = date.fromisoformat(values["start_date"])
        except ValueError:
            errors.add("start_date", _("Kein gültiges Datum."))
    if not values["start_time"]:
        errors.add("start_time", _("Bitte geben Sie eine Uhrzeit an."))
    if values["repeat"] not in REPEAT_LABELS:
        errors.add("repeat", _("Bitte wählen Sie eine der Möglichkeiten."))
    if values["repeat"] in ("weekly", "monthly", "yearly") and not values["until"]:
        errors.add("until", _("Bitte geben Sie an, bis wann die Serie läuft."))
    if values["repeat"] == "custom" and not values["rrule"]:
        errors.add("rrule", _("Bitte geben Sie eine Regel an, z. B. FREQ=WEEKLY;BYDAY=TU;COUNT=10."))
    if not values["location"] and not values["online_url"]:
        errors.add("location", _("Bitte geben Sie einen Ort oder einen Online-Link an."))
    exdates: list[str] = []
    for line in values["exdates"].split():
        try:
            exdates.append(f"{date.fromisoformat(line.strip()).isoformat()}T{values['start_time'][:5]}")
        except ValueError:
            errors.add("exdates", _("„%(d)s“ ist kein Datum der Form JJJJ-MM-TT.") % {"d": line[:20]})
    data: dict[str, Any] = {
        "title": values["title"],
        "agenda": values["agenda"],
        "start": f"{values['start_date']}T{values['start_time'][:5]}",
        "duration_minutes": values["duration_minutes"] or "60",
        "rrule": _rule_for(values["repeat"], start, values["until"], values["rrule"]) if start else None,
        "exdates": exdates,
        "location": values["location"] or None,
        "online_url": values["online_url"] or None,
        "group_id": values["group_id"] or None,
        "capacity": values["capacity"] or None,
        "poll_id": values["poll_id"] or None,
    }
    for name in ("duration_minutes", "capacity"):
        raw = data[name]
        if raw is not None:
            try:
                data[name] = int(raw)
            except ValueError:
                errors.add(name, _("Bitte geben Sie eine ganze Zahl an."))
    value, problems = convert_all(c.MeetingFields, data)
    for err in problems:
        name = err.field.split("[")[0]
        errors.add("start_date" if name == "start" else name, _(err.message))
    return None if errors else value


def _service_errors(exc: DomainError, errors: FormErrors, values: dict[str, str]) -> None:
    def rename(field: str) -> str:
        name = field.split("[")[0]
        if name == "start":
            return "start_date"
        if name == "rrule" and values.get("repeat") != "custom":
            return "until" if values.get("repeat") else "repeat"
        return name

    errors.add_refusal(exc, FORM_FIELDS, rename)


class MeetingPages(Controller):
    include_in_schema = False

    @get("/termine")
    async def index(self, request: Request[Any, Any, Any]) -> Response[Any]:
        auth, who = await page_login(request)
        client = _client(request)
        upcoming = await client.occurrences(who, c.ListOccurrences(days=90, limit=200))
        meetings = await client.list_meetings(who, c.ListMeetings())
        titles = {m.id: m for m in meetings.items}
        return await render(
            request,
            "meetings/index.html",
            {
                "occurrences": upcoming.items,
                "meetings": titles,
                "can_plan": may_plan(who),
                "notice": _notice(request),
            },
            auth=auth,
        )

    @get("/termine/kalender")
    async def feeds(self, request: Request[Any, Any, Any]) -> Response[Any]:
        auth, who = await page_login(request)
        return await self._feeds(request, auth, who)

    async def _feeds(
        self, request: Request[Any, Any, Any], auth: Auth, who: Principal, errors: FormErrors | None = None
    ) -> Response[Any]:
        links = feed_links(request, await _client(request).feed_token(who))
        groups = {g.id: g.name for g in (await DirectoryClient(gateway_of(request).rpc).groups(who)).items}
        return await render(
            request,
            "meetings/feeds.html",
            {"links": links, "groups": groups, "notice": _notice(request), "errors": errors},
            auth=auth,
            status=409 if errors else 200,
        )

    @post("/termine/kalender/erneuern")
    async def renew(self, request: Request[Any, Any, Any]) -> Response[Any]:
        auth, who = await page_login(request)
        form = await request.form()
        if not form_csrf_ok(request, auth, form.get("csrf_token")):
            errors = FormErrors(general=[_(EXPIRED)])
            return await self._feeds(request, auth, who, errors)
        await _client(request).feed_token(who, renew=True)
        return Redirect(path="/termine/kalender?hinweis=erneuert")

    @get("/termine/neu")
    async def new(self, request: Request[Any, Any, Any]) -> Response[Any]:
        auth, who = await page_login(request)
        values = {k: "" for k in FORM_FIELDS} | {"duration_minutes": "60"}
        if group := request.query_params.get("ag"):
            values["group_id"] = group[:64]
        return await self._form(request, auth, who, values, FormErrors(), None)

    async def _form(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        who: Principal,
        values: dict[str, str],
        errors: FormErrors,
        meeting_id: str | None,
        status: int = 200,
    ) -> Response[Any]:
        groups = (await DirectoryClient(gateway_of(request).rpc).groups(who)).items
        return await render(
            request,
            "meetings/form.html",
            {
                "values": values,
                "errors": errors,
                "meeting_id": meeting_id,
                "groups": [(g.id, g.name) for g in groups],
                "repeat_labels": [(k, _(v)) for k, v in REPEAT_LABELS.items()],
                "can_plan": may_plan(who),
            },
            auth=auth,
            status=403 if not may_plan(who) else status,
        )

    async def _submit(self, request: Request[Any, Any, Any], meeting_id: str | None) -> Response[Any]:
        auth, who = await page_login(request)
        form = await request.form()
        values = {k: str(form.get(k, ""))[:12_000].strip() for k in FORM_FIELDS}
        errors = FormErrors()
        if not form_csrf_ok(request, auth, form.get("csrf_token")):
            errors.general.append(_(EXPIRED))
            return await self._form(request, auth, who, values, errors, meeting_id, 422)
        fields = _fields_from(values, errors)
        if fields is not None:
            client = _client(request)
            try:
                if meeting_id is None:
                    meeting = await client.create(who, c.CreateMeeting(**_as_dict(fields)))
                    return Redirect(path=f"/termine/{meeting.id}?hinweis=angelegt")
                meeting = await client.update(who, c.UpdateMeeting(id=meeting_id, **_as_dict(fields)))
                return Redirect(path=f"/termine/{meeting.id}?hinweis=geaendert")
            except DomainError as exc:
                if exc.status == 404:
                    raise
                _service_errors(exc, errors, values)
        return await self._form(request, auth, who, values, errors, meeting_id, 422)

    @post("/termine/neu")
    async def create(self, request: Request[Any, Any, Any]) -> Response[Any]:
        return await self._submit(request, None)

    @get("/termine/{meeting_id:str}/bearbeiten")
    async def edit(self, request: Request[Any, Any, Any], meeting_id: str) -> Response[Any]:
        auth, who = await page_login(request)
        meeting = await _client(request).get(who, meeting_id[:64])
        return await self._form(request, auth, who, _values_of(meeting), FormErrors(), meeting.id)

    @post("/termine/{meeting_id:str}/bearbeiten")
    async def update(self, request: Request[Any, Any, Any], meeting_id: str) -> Response[Any]:
        return await self._submit(request, meeting_id[:64])

    @get("/termine/{meeting_id:str}")
    async def show(self, request: Request[Any, Any, Any], meeting_id: str) -> Response[Any]:
        auth, who = await page_login(request)
        return await self._show(request, auth, who, meeting_id[:64])

    async def _show(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        who: Principal,
        meeting_id: str,
        errors: FormErrors | None = None,
        values: dict[str, str] | None = None,
        status: int = 200,
    ) -> Response[Any]:
        meeting = await _client(request).get(who, meeting_id, upcoming=12)
        poll: dict[str, Any] = {}
        if meeting.poll_id:
            polls = PollsClient(gateway_of(request).rpc)
            try:
                found = await polls.poll(who, meeting.poll_id)
                poll = {
                    "poll": found,
                    **results_view(found, await polls.results(who, found.id)),
                    **poll_labels(),
                }
            except DomainError:
                poll = {}  # the poll is gone or its service away: the meeting page still works
        return await render(
            request,
            "meetings/show.html",
            {
                "meeting": meeting,
                "notice": _notice(request),
                "errors": errors,
                "values": values or {},
                "weekday_names": WEEKDAY_NAMES,
                **poll,
            },
            auth=auth,
            status=status,
        )

    @post("/termine/{meeting_id:str}/anmeldung")
    async def register(self, request: Request[Any, Any, Any], meeting_id: str) -> Response[Any]:
        auth, who = await page_login(request)
        form = await request.form()
        errors = FormErrors()
        if not form_csrf_ok(request, auth, form.get("csrf_token")):
            errors.general.append(_(EXPIRED))
            return await self._show(request, auth, who, meeting_id[:64], errors, status=422)
        client = _client(request)
        try:
            if form.get("action") == "abmelden":
                await client.withdraw(who, meeting_id[:64])
                return Redirect(path=f"/termine/{meeting_id[:64]}?hinweis=abgemeldet#anmeldung")
            await client.register(who, meeting_id[:64])
        except DomainError as exc:
            if exc.status == 404:
                raise
            errors.general.append(_(exc.detail or exc.title))
            return await self._show(request, auth, who, meeting_id[:64], errors, status=exc.status)
        return Redirect(path=f"/termine/{meeting_id[:64]}?hinweis=angemeldet#anmeldung")

    @post("/termine/{meeting_id:str}/absage")
    async def cancel(self, request: Request[Any, Any, Any], meeting_id: str) -> Response[Any]:
        auth, who = await page_login(request)
        form = await request.form()
        values = {k: str(form.get(k, ""))[:2000].strip() for k in ("occurrence", "reason")}
        errors = FormErrors()
        if not form_csrf_ok(request, auth, form.get("csrf_token")):
            errors.general.append(_(EXPIRED))
        else:
            if len(values["reason"]) < 3:
                errors.add("reason", _("Bitte nennen Sie einen Grund (mindestens 3 Zeichen)."))
            if not values["occurrence"]:
                errors.add("occurrence", _("Bitte wählen Sie den Termin, der ausfällt."))
        if not errors:
            client = _client(request)
            try:
                if values["occurrence"] == "alle":
                    await client.cancel(who, c.CancelMeeting(id=meeting_id[:64], reason=values["reason"]))
                else:
                    req = c.CancelOccurrence(
                        id=meeting_id[:64], occurrence=values["occurrence"][:13], reason=values["reason"]
                    )
                    await client.cancel_occurrence(who, req)
            except DomainError as exc:
                if exc.status == 404 and not exc.errors and "Serie" not in exc.detail:
                    raise
                errors.general.append(_(exc.detail or exc.title))
            except Exception:  # an ill-formed occurrence key from a tampered form
                errors.add("occurrence", _("Bitte wählen Sie den Termin, der ausfällt."))
            else:
                return Redirect(path=f"/termine/{meeting_id[:64]}?hinweis=abgesagt#termine")
        return await self._show(request, auth, who, meeting_id[:64], errors, values, 422)


def _as_dict(fields: c.MeetingFields) -> dict[str, Any]:
    return {f: getattr(fields, f) for f in fields.__struct_fields__}
