"""Pages for AG topics and polls: topic lists and pages, opening a poll, the ballot, the live
result (with a projector view for meetings). Everything works without JavaScript; with it the
result table follows the poll live (gateway/static/polls.js, fed by the SSE endpoint)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotAuthorizedException
from litestar.response import Redirect

from gateway import i18n
from gateway.auth import Auth, form_csrf_ok, gateway_of, resolve
from gateway.clients.directory import DirectoryClient
from gateway.clients.polls import PollsClient
from gateway.i18n import gettext as _
from gateway.web.forms import FormErrors
from gateway.web.lineage import spotlights_of
from gateway.web.pages import render
from services.contracts import polls as c
from services.contracts.envelope import Principal
from services.runtime.errors import DomainError
from services.runtime.validation import field_errors

BERLIN = ZoneInfo("Europe/Berlin")
MAX_FIELD = 5000

METHOD_LABELS = {
    "single": "Einfachauswahl (relative Mehrheit)",
    "approval": "Zustimmungswahl",
    "dot": "Punktabfrage",
    "score": "Bewertung von 0 bis 5",
    "borda": "Rangfolge (Borda-Zählung)",
    "schulze": "Rangfolge (Schulze-Methode)",
}
SCORE_LABELS = {
    "single": "Stimmen",
    "approval": "Zustimmungen",
    "dot": "Punkte",
    "score": "Mittelwert",
    "borda": "Borda-Punkte",
    "schulze": "Siege im Pfadvergleich",
}
TOPIC_STATUS = {
    "proposed": "Vorgeschlagen",
    "selected": "Ausgewählt",
    "in_work": "In Arbeit",
    "done": "Erledigt",
    "dropped": "Verworfen",
}
VOTERS = {"person": "Jede Person", "organisation": "Jede Kommune (eine Stimme je Kommune)"}
VISIBILITY = {"live": "Live während der Abstimmung", "after_close": "Erst nach dem Ende"}
NOTICES = {
    "gespeichert": "Ihre Stimme ist gespeichert. Bis zum Ende können Sie sie noch ändern.",
    "eroeffnet": "Die Abstimmung ist eröffnet.",
    "beendet": "Die Abstimmung ist beendet.",
    "vorgeschlagen": "Ihr Thema ist vorgeschlagen.",
    "stand": "Der Stand des Themas ist geändert.",
}
# fields of the poll request -> ids of the fields of the form that opens a poll
FORM_FIELDS = {
    "title": "title",
    "description": "description",
    "closes_at": "closes_at",
    "winners": "winners",
    "voters": "voters",
    "results_visibility": "results_visibility",
    "method.kind": "kind",
    "method.points": "points",
    "method.max_per_option": "max_per_option",
    "method.max_choices": "max_choices",
    "group_id": "group_id",
    "options": "labels",
}
EXPIRED = "Das Formular ist abgelaufen. Bitte senden Sie es erneut."


def is_moderator(who: Principal) -> bool:
    return who.has_any("ministry", "admin", "lotse")


def local_time(value: datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(BERLIN)
    if i18n.current.get() == "de":
        return local.strftime("%d.%m.%Y, %H:%M Uhr")
    return local.strftime("%d %b %Y, %H:%M")


def number(value: float) -> str:
    """German number: up to two decimals, comma as decimal separator."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") if i18n.current.get() == "de" else text


async def _login(request: Request[Any, Any, Any]) -> tuple[Auth, Principal]:
    auth = await resolve(request)
    if auth.principal is None:
        raise NotAuthorizedException()
    return auth, auth.principal


def _client(request: Request[Any, Any, Any]) -> PollsClient:
    return PollsClient(gateway_of(request).rpc)


def _labels() -> dict[str, Any]:
    return {
        "method_labels": {k: _(v) for k, v in METHOD_LABELS.items()},
        "score_labels": {k: _(v) for k, v in SCORE_LABELS.items()},
        "topic_status": {k: _(v) for k, v in TOPIC_STATUS.items()},
        "voter_labels": {k: _(v) for k, v in VOTERS.items()},
        "visibility_labels": {k: _(v) for k, v in VISIBILITY.items()},
        "local_time": local_time,
        "number": number,
    }


def _domain_errors(exc: DomainError, errors: FormErrors, known: dict[str, str] | None = None) -> None:
    """Service errors onto form fields: `known` maps a service field to the form field's id."""
    known = known or {}
    for err in exc.errors:
        target = known.get(err.field)
        if target:
            errors.add(target, _(err.message))
        else:
            errors.general.append(_(err.message))
    if not exc.errors:
        errors.general.append(_(exc.detail or exc.title))


async def _groups(request: Request[Any, Any, Any], who: Principal) -> dict[str, str]:
    page = await DirectoryClient(gateway_of(request).rpc).groups(who)
    return {g.id: g.name for g in page.items}


# --- the ballot form ----------------------------------------------------------------------------


def ballot_from_form(poll: c.Poll, form: Any, errors: FormErrors) -> c.BallotInput | None:
    """Read the ballot form; checks what only the form can get wrong (a place given twice, a
    number that is no number); the service checks everything else and names the field."""
    kind = poll.method.kind
    ids = [o.id for o in poll.options]
    if kind == "single":
        choice = str(form.get("choice", ""))
        if choice not in ids:
            errors.add(f"choice-{ids[0]}", _("Bitte wählen Sie eine Option."))
            return None
        return c.BallotInput(choice=choice)
    if kind == "approval":
        choices = [o for o in form.getall("choices", []) if o in ids]
        if not choices:
            errors.add(f"choices-{ids[0]}", _("Bitte wählen Sie mindestens eine Option."))
        elif poll.method.max_choices and len(choices) > poll.method.max_choices:
            errors.add(
                f"choices-{ids[0]}", _("Höchstens %(n)s Optionen erlaubt.") % {"n": poll.method.max_choices}
            )
        return None if errors else c.BallotInput(choices=choices)
    if kind in ("dot", "score"):
        values: dict[str, int] = {}
        for option in ids:
            raw = str(form.get(f"{kind}-{option}", "")).strip() or "0"
            try:
                values[option] = int(raw)
            except ValueError:
                errors.add(f"{kind}-{option}", _("Bitte geben Sie eine ganze Zahl ein."))
        if errors:
            return None
        if kind == "score":
            return c.BallotInput(scores=values)
        # the budget in the page's language; the service checks the same again
        cap = poll.method.max_per_option
        for option, n in values.items():
            if n < 0:
                errors.add(f"dot-{option}", _("Punkte können nicht negativ sein."))
            elif cap is not None and n > cap:
                errors.add(f"dot-{option}", _("Höchstens %(n)s Punkt(e) je Option.") % {"n": cap})
        total, budget = sum(n for n in values.values() if n > 0), poll.method.points or 0
        if total > budget:
            errors.general.append(
                _("Sie haben %(total)s Punkte vergeben, erlaubt sind %(budget)s.")
                % {"total": total, "budget": budget}
            )
        elif total == 0 and not errors:
            errors.general.append(_("Bitte vergeben Sie mindestens einen Punkt."))
        return None if errors else c.BallotInput(points=values)
    places: dict[int, str] = {}
    for option in ids:
        raw = str(form.get(f"rank-{option}", "")).strip()
        if not raw:
            continue
        if not raw.isdigit() or not 1 <= int(raw) <= len(ids):
            errors.add(f"rank-{option}", _("Bitte wählen Sie einen Platz aus der Liste."))
        elif int(raw) in places:
            errors.add(f"rank-{option}", _("Diesen Platz haben Sie schon vergeben."))
        else:
            places[int(raw)] = option
    if not places and not errors:
        errors.add(f"rank-{ids[0]}", _("Bitte reihen Sie mindestens eine Option."))
    if errors:
        return None
    return c.BallotInput(ranking=[places[p] for p in sorted(places)])


def ballot_values(poll: c.Poll, ballot: c.BallotInput | None, form: Any = None) -> dict[str, Any]:
    """What the form shows: the submitted values, else the stored ballot."""
    kind = poll.method.kind
    ids = [o.id for o in poll.options]
    if form is not None:
        return {
            "choice": str(form.get("choice", "")),
            "choices": list(form.getall("choices", [])),
            **{f"{kind}-{o}": str(form.get(f"{kind}-{o}", "")) for o in ids},
            **{f"rank-{o}": str(form.get(f"rank-{o}", "")) for o in ids},
        }
    values: dict[str, Any] = {"choice": "", "choices": []}
    if ballot is None:
        return values
    if ballot.choice:
        values["choice"] = ballot.choice
    values["choices"] = list(ballot.choices or [])
    for option, n in (ballot.points or {}).items():
        values[f"dot-{option}"] = str(n)
    for option, n in (ballot.scores or {}).items():
        values[f"score-{option}"] = str(n)
    for place, option in enumerate(ballot.ranking or [], start=1):
        values[f"rank-{option}"] = str(place)
    return values


def ballot_field_map(poll: c.Poll) -> dict[str, str]:
    ids = [o.id for o in poll.options]
    kind = poll.method.kind
    known = {f"points.{o}": f"dot-{o}" for o in ids} | {f"scores.{o}": f"score-{o}" for o in ids}
    if kind == "single":
        known["choice"] = f"choice-{ids[0]}"
    if kind == "approval":
        known["choices"] = f"choices-{ids[0]}"
    return known


# --- the results view ---------------------------------------------------------------------------


def results_view(poll: c.Poll, result: c.PollResults) -> dict[str, Any]:
    labels = {o.id: o.label for o in poll.options}
    return {
        "result": result,
        "labels": labels,
        "winners": [labels[w] for w in result.winners],
        "undecided": [labels[u] for u in result.undecided],
        "ties": [[labels[o] for o in group] for group in result.ties],
        "turnout": (
            f"{result.ballots / result.eligible * 100:.0f} %".replace(".", ",") if result.eligible else None
        ),
    }


class PollPages(Controller):
    include_in_schema = False

    @get("/abstimmungen")
    async def index(self, request: Request[Any, Any, Any]) -> Response[Any]:
        auth, who = await _login(request)
        polls = _client(request)
        open_ = await polls.polls(who, c.ListPolls(state="open", limit=100))
        closed = await polls.polls(who, c.ListPolls(state="closed", limit=20))
        groups = await _groups(request, who)
        return await render(
            request,
            "polls/index.html",
            {
                "open_polls": [p for p in open_.items if p.state == "open"],
                "closed_polls": [p for p in closed.items],
                "groups": groups,
                "moderator": is_moderator(who),
                **_labels(),
            },
            auth=auth,
        )

    @get("/abstimmungen/neu")
    async def new(self, request: Request[Any, Any, Any]) -> Response[Any]:
        auth, who = await _login(request)
        group_id = request.query_params.get("ag", "")[:64]
        return await self._new(request, auth, who, {"group_id": group_id})

    async def _new(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        who: Principal,
        values: dict[str, Any],
        errors: FormErrors | None = None,
        status: int = 200,
    ) -> Response[Any]:
        groups = await _groups(request, who)
        topics: list[c.Topic] = []
        group_id = values.get("group_id") or ""
        if group_id in groups:
            page = await _client(request).topics(who, c.ListTopics(group_id=group_id, status="proposed"))
            topics = page.items
        return await render(
            request,
            "polls/new.html",
            {
                "values": values,
                "errors": errors,
                "groups": groups,
                "topics": topics,
                "moderator": is_moderator(who),
                **_labels(),
            },
            auth=auth,
            status=status,
        )

    @post("/abstimmungen/neu")
    async def create(self, request: Request[Any, Any, Any]) -> Response[Any]:
        auth, who = await _login(request)
        form = await request.form()
        values: dict[str, Any] = {
            k: str(form.get(k, ""))[:MAX_FIELD].strip()
            for k in (
                "title",
                "description",
                "group_id",
                "kind",
                "points",
                "max_per_option",
                "max_choices",
                "voters",
                "results_visibility",
                "winners",
                "closes_at",
                "labels",
            )
        }
        values["cumulative"] = form.get("cumulative") == "1"
        values["topic_ids"] = [str(t)[:64] for t in form.getall("topic_ids", [])]
        errors = FormErrors()
        if not form_csrf_ok(request, auth, form.get("csrf_token")):
            errors.general.append(_(EXPIRED))
        options: list[dict[str, str]] = [{"topic_id": t} for t in values["topic_ids"]]
        options += [{"label": line.strip()} for line in values["labels"].splitlines() if line.strip()]
        if len(options) < 2:
            errors.add("labels", _("Bitte geben Sie mindestens zwei Optionen an (je Zeile eine)."))
        closes_at = None
        try:
            closes_at = datetime.fromisoformat(values["closes_at"]).replace(tzinfo=BERLIN)
        except ValueError:
            errors.add("closes_at", _("Bitte geben Sie Datum und Uhrzeit des Endes an."))
        numbers: dict[str, int] = {}
        for name in ("points", "max_per_option", "max_choices", "winners"):
            if values[name]:
                try:
                    numbers[name] = int(values[name])
                except ValueError:
                    errors.add(name, _("Bitte geben Sie eine ganze Zahl ein."))
        if not values["title"]:
            errors.add("title", _("Bitte geben Sie einen Titel ein."))
        if not errors and closes_at is not None:
            method: dict[str, Any] = {"kind": values["kind"]}
            if values["kind"] == "dot":
                method.update(
                    {k: numbers[k] for k in ("points", "max_per_option") if k in numbers},
                    cumulative=values["cumulative"],
                )
            if values["kind"] == "approval" and "max_choices" in numbers:
                method["max_choices"] = numbers["max_choices"]
            body = {
                "title": values["title"],
                "description": values["description"],
                "options": options,
                "method": method,
                "voters": values["voters"] or "person",
                "results_visibility": values["results_visibility"] or "live",
                "closes_at": closes_at,
                "group_id": values["group_id"] or None,
                "winners": numbers.get("winners", 1),
            }
            try:
                req = msgspec.convert(body, c.CreatePoll)
                poll = await _client(request).create_poll(who, req)
            except msgspec.ValidationError as exc:
                for err in field_errors(exc):
                    errors.add(FORM_FIELDS.get(err.field, err.field), _(err.message))
            except DomainError as exc:
                _domain_errors(exc, errors, FORM_FIELDS)
            else:
                return Redirect(path=f"/abstimmungen/{poll.id}?hinweis=eroeffnet")
        return await self._new(request, auth, who, values, errors, status=422)

    @get("/abstimmungen/{poll_id:str}")
    async def show(self, request: Request[Any, Any, Any], poll_id: str) -> Response[Any]:
        auth, who = await _login(request)
        return await self._show(request, auth, who, poll_id[:64])

    async def _show(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        who: Principal,
        poll_id: str,
        errors: FormErrors | None = None,
        form: Any = None,
        status: int = 200,
    ) -> Response[Any]:
        polls = _client(request)
        poll = await polls.poll(who, poll_id)
        ballot = None
        if poll.has_voted and form is None:
            ballot = (await polls.my_ballot(who, poll_id)).ballot
        group = (await _groups(request, who)).get(poll.group_id or "", "")
        return await render(
            request,
            "polls/show.html",
            {
                "poll": poll,
                "group_name": group,
                "values": ballot_values(poll, ballot, form),
                "errors": errors,
                "notice": _(NOTICES[n])
                if (n := request.query_params.get("hinweis", "")) in NOTICES
                else None,
                "moderator": is_moderator(who) or who.person_id == poll.created_by,
                **_labels(),
            },
            auth=auth,
            status=status,
        )

    @post("/abstimmungen/{poll_id:str}/stimme")
    async def cast(self, request: Request[Any, Any, Any], poll_id: str) -> Response[Any]:
        auth, who = await _login(request)
        poll_id = poll_id[:64]
        form = await request.form()
        errors = FormErrors()
        if not form_csrf_ok(request, auth, form.get("csrf_token")):
            errors.general.append(_(EXPIRED))
        polls = _client(request)
        poll = await polls.poll(who, poll_id)
        ballot = ballot_from_form(poll, form, errors)
        if ballot is not None and not errors:
            try:
                await polls.cast(who, poll_id, ballot)
            except DomainError as exc:
                if exc.status in (403, 409):
                    errors.general.append(_(exc.detail or exc.title))
                else:
                    _domain_errors(exc, errors, ballot_field_map(poll))
            else:
                return Redirect(path=f"/abstimmungen/{poll_id}?hinweis=gespeichert")
        return await self._show(request, auth, who, poll_id, errors, form, status=422)

    @post("/abstimmungen/{poll_id:str}/beenden")
    async def close(self, request: Request[Any, Any, Any], poll_id: str) -> Response[Any]:
        auth, who = await _login(request)
        form = await request.form()
        poll_id = poll_id[:64]
        errors = FormErrors()
        if not form_csrf_ok(request, auth, form.get("csrf_token")):
            errors.general.append(_(EXPIRED))
        else:
            try:
                await _client(request).close(who, poll_id)
            except DomainError as exc:
                if exc.status not in (403, 409):
                    raise
                errors.general.append(_(exc.detail or exc.title))
            else:
                return Redirect(path=f"/abstimmungen/{poll_id}/ergebnis?hinweis=beendet")
        return await self._show(request, auth, who, poll_id, errors, status=409)

    async def _results(self, request: Request[Any, Any, Any], poll_id: str, template: str) -> Response[Any]:
        auth, who = await _login(request)
        polls = _client(request)
        poll = await polls.poll(who, poll_id[:64])
        result = await polls.results(who, poll.id)
        return await render(
            request,
            template,
            {
                "poll": poll,
                "notice": _(NOTICES[n])
                if (n := request.query_params.get("hinweis", "")) in NOTICES
                else None,
                **results_view(poll, result),
                **_labels(),
            },
            auth=auth,
        )

    @get("/abstimmungen/{poll_id:str}/ergebnis")
    async def results(self, request: Request[Any, Any, Any], poll_id: str) -> Response[Any]:
        return await self._results(request, poll_id, "polls/results.html")

    @get("/abstimmungen/{poll_id:str}/projektor")
    async def projector(self, request: Request[Any, Any, Any], poll_id: str) -> Response[Any]:
        return await self._results(request, poll_id, "polls/projector.html")


class TopicPages(Controller):
    include_in_schema = False

    @get("/ags/{group_id:str}/themen")
    async def index(self, request: Request[Any, Any, Any], group_id: str) -> Response[Any]:
        auth, who = await _login(request)
        return await self._index(request, auth, who, group_id[:64])

    async def _index(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        who: Principal,
        group_id: str,
        errors: FormErrors | None = None,
        values: dict[str, str] | None = None,
        status: int = 200,
    ) -> Response[Any]:
        page = await _client(request).topics(who, c.ListTopics(group_id=group_id))
        groups = await _groups(request, who)
        me = await DirectoryClient(gateway_of(request).rpc).me(who)
        by_status: dict[str, list[c.Topic]] = {s: [] for s in TOPIC_STATUS}
        for topic in page.items:
            by_status[topic.status].append(topic)
        return await render(
            request,
            "polls/topics.html",
            {
                "group_id": group_id,
                "group_name": groups.get(group_id, group_id),
                "by_status": by_status,
                "can_propose": is_moderator(who) or any(g.id == group_id for g in me.groups),
                "moderator": is_moderator(who),
                "values": values or {},
                "errors": errors,
                "notice": _(NOTICES[n])
                if (n := request.query_params.get("hinweis", "")) in NOTICES
                else None,
                **_labels(),
            },
            auth=auth,
            status=status,
        )

    @post("/ags/{group_id:str}/themen")
    async def propose(self, request: Request[Any, Any, Any], group_id: str) -> Response[Any]:
        auth, who = await _login(request)
        group_id = group_id[:64]
        form = await request.form()
        values = {
            "title": str(form.get("title", ""))[:300].strip(),
            "description": str(form.get("description", ""))[:MAX_FIELD].strip(),
        }
        errors = FormErrors()
        if not form_csrf_ok(request, auth, form.get("csrf_token")):
            errors.general.append(_(EXPIRED))
        if not values["title"]:
            errors.add("title", _("Bitte geben Sie einen Titel ein."))
        elif len(values["title"]) > 200:
            errors.add("title", _("Höchstens 200 Zeichen."))
        if not errors:
            try:
                req = c.CreateTopic(
                    group_id=group_id, title=values["title"], description=values["description"]
                )
                await _client(request).propose_topic(who, req)
            except DomainError as exc:
                if exc.status == 404:
                    raise
                _domain_errors(exc, errors, {"title": "title", "description": "description"})
            else:
                return Redirect(path=f"/ags/{group_id}/themen?hinweis=vorgeschlagen")
        return await self._index(request, auth, who, group_id, errors, values, status=422)

    @get("/themen/{topic_id:str}")
    async def show(self, request: Request[Any, Any, Any], topic_id: str) -> Response[Any]:
        auth, who = await _login(request)
        return await self._show(request, auth, who, topic_id[:64])

    async def _show(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        who: Principal,
        topic_id: str,
        errors: FormErrors | None = None,
        status: int = 200,
    ) -> Response[Any]:
        polls = _client(request)
        topic = await polls.topic(who, topic_id)
        topic_polls = [await polls.poll(who, p) for p in topic.polls]
        spotlights = await spotlights_of(request, who, topic_id=topic_id)
        groups = await _groups(request, who)
        return await render(
            request,
            "polls/topic.html",
            {
                "topic": topic,
                "group_name": groups.get(topic.group_id, topic.group_id),
                "topic_polls": topic_polls,
                "spotlights": spotlights,
                "moderator": is_moderator(who),
                "errors": errors,
                "notice": _(NOTICES[n])
                if (n := request.query_params.get("hinweis", "")) in NOTICES
                else None,
                **_labels(),
            },
            auth=auth,
            status=status,
        )

    @post("/themen/{topic_id:str}/stand")
    async def change(self, request: Request[Any, Any, Any], topic_id: str) -> Response[Any]:
        auth, who = await _login(request)
        topic_id = topic_id[:64]
        form = await request.form()
        errors = FormErrors()
        status = str(form.get("status", ""))
        if not form_csrf_ok(request, auth, form.get("csrf_token")):
            errors.general.append(_(EXPIRED))
        elif status not in TOPIC_STATUS:
            errors.add("status", _("Bitte wählen Sie einen Stand."))
        else:
            try:
                req = msgspec.convert(
                    {"id": topic_id, "status": status, "reason": str(form.get("reason", ""))[:1000].strip()},
                    c.ChangeTopicStatus,
                )
                await _client(request).change_topic_status(who, req)
            except DomainError as exc:
                if exc.status == 404:
                    raise
                _domain_errors(exc, errors, {"status": "status"})
            else:
                return Redirect(path=f"/themen/{topic_id}?hinweis=stand")
        return await self._show(request, auth, who, topic_id, errors, status=422)
