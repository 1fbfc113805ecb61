"""Pages for surveys: the ministry's list, builder (one question at a time, no script needed),
preview, publishing, progress with reminders and results with charts and tables; a Kommune's
"Meine Umfragen" and answer page (draft, submit with every problem named, reopen)."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.response import Redirect

from gateway.auth import Auth, form_csrf_ok, gateway_of, resolve
from gateway.clients.directory import DirectoryClient
from gateway.clients.surveys import SurveysClient
from gateway.i18n import gettext as _
from gateway.web.forms import FormErrors
from gateway.web.pages import render
from services.contracts import directory as d
from services.contracts import surveys as c
from services.contracts.envelope import FieldError, Principal
from services.runtime.errors import DomainError, NotFound

BERLIN = ZoneInfo("Europe/Berlin")
EXPIRED = "Das Formular ist abgelaufen. Bitte senden Sie es erneut."
MAX_FIELD = 12_000

STATE_LABELS = {
    "draft": "Entwurf",
    "scheduled": "Geplant",
    "open": "Läuft",
    "closed": "Geschlossen",
}
RESPONSE_LABELS = {"none": "Noch nichts", "draft": "Entwurf", "submitted": "Eingereicht"}
KIND_LABELS = {
    "single": "Einfachauswahl",
    "multiple": "Mehrfachauswahl",
    "text": "Text",
    "number": "Zahl",
    "scale": "Skala",
    "date": "Datum",
    "matrix": "Matrix (Zeilen × Skala)",
}
AUDIENCE_LABELS = {
    "all_kommunen": "Alle Kommunen",
    "landkreis": "Die Kommunen eines oder mehrerer Landkreise",
    "group": "Die Mitglieder einer oder mehrerer AGs",
    "organisations": "Ausgewählte Kommunen",
}
RESPOND_LABELS = {"organisation": "Eine Antwort je Kommune", "person": "Eine Antwort je Person"}
ORG_KIND_LABELS = {
    "landkreis": "Landkreise",
    "kreisfreie_stadt": "Kreisfreie Städte",
    "verbandsgemeinde": "Verbandsgemeinden",
    "stadt": "Städte",
    "gemeinde": "Gemeinden",
}
NOTICES = {
    "angelegt": "Der Entwurf ist angelegt. Fügen Sie jetzt Fragen hinzu.",
    "gespeichert": "Die Änderungen sind gespeichert.",
    "frage": "Die Frage ist gespeichert.",
    "entfernt": "Die Frage ist entfernt.",
    "veroeffentlicht": "Die Umfrage ist veröffentlicht.",
    "geschlossen": "Die Umfrage ist geschlossen.",
    "entwurf": "Ihr Entwurf ist gespeichert.",
    "eingereicht": "Ihre Antwort ist eingereicht. Vielen Dank!",
    "geoeffnet": "Die Antwort ist wieder geöffnet und kann geändert werden.",
    "erinnert": "Die Erinnerung ist veranlasst.",
    "niemand": "Alle haben geantwortet; niemand musste erinnert werden.",
    "geloescht": "Der Entwurf ist gelöscht.",
}
SCALE_CHOICES = {"1-5": (1, 5), "0-10": (0, 10)}


# --- helpers -----------------------------------------------------------------------------


async def _login(request: Request[Any, Any, Any]) -> tuple[Auth, Principal]:
    auth = await resolve(request)
    if auth.principal is None:
        raise NotAuthorizedException()
    return auth, auth.principal


def _ministry(who: Principal) -> None:
    if not who.is_ministry:
        raise PermissionDeniedException(_("Diese Seite ist dem Ministerium vorbehalten."))


def _client(request: Request[Any, Any, Any]) -> SurveysClient:
    return SurveysClient(gateway_of(request).rpc)


def _sid(value: str) -> str:
    return value[:64]


def local(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(BERLIN).strftime("%d.%m.%Y, %H:%M")


def number(value: float | int | None, digits: int = 1) -> str:
    """German number: decimal comma, no needless zeros."""
    if value is None:
        return "–"
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    text = f"{value:,.{digits}f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return text.rstrip("0").rstrip(",") if "," in text else text


def _labels() -> dict[str, Any]:
    return {
        "state_labels": {k: _(v) for k, v in STATE_LABELS.items()},
        "response_labels": {k: _(v) for k, v in RESPONSE_LABELS.items()},
        "kind_labels_q": {k: _(v) for k, v in KIND_LABELS.items()},
        "audience_labels": {k: _(v) for k, v in AUDIENCE_LABELS.items()},
        "respond_labels": {k: _(v) for k, v in RESPOND_LABELS.items()},
        "org_kind_labels": {k: _(v) for k, v in ORG_KIND_LABELS.items()},
        "local": local,
        "number": number,
    }


def _notice(request: Request[Any, Any, Any]) -> str | None:
    hint = NOTICES.get(request.query_params.get("hinweis", ""))
    return _(hint) if hint else None


def _translated(errors: list[FieldError]) -> list[FieldError]:
    return [FieldError(e.field, _(e.message)) for e in errors]


async def _form(request: Request[Any, Any, Any]) -> Any:
    return await request.form()


def _text(form: Any, name: str, limit: int = MAX_FIELD) -> str:
    return str(form.get(name, ""))[:limit].strip()


def _parse_number(text: str) -> float | int | str | None:
    """Accepts 3, 3,5 and 3.5; anything else is passed on for the service to name."""
    raw = text.strip().replace(" ", "")
    if not raw:
        return None
    if re.fullmatch(r"-?[0-9]{1,3}(\.[0-9]{3})+(,[0-9]+)?", raw):
        raw = raw.replace(".", "")
    raw = raw.replace(",", ".")
    try:
        value = float(raw)
    except ValueError:
        return text.strip()[:100]
    if not math.isfinite(value):
        return text.strip()[:100]
    return int(value) if value.is_integer() and "." not in raw else value


def _local_time(text: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value.replace(tzinfo=BERLIN) if value.tzinfo is None else value


def _input_time(value: datetime | None) -> str:
    return value.astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M") if value else ""


# --- answers: form fields <-> answer values ------------------------------------------------


def anchor(q: c.Question) -> str:
    """The id of the first control of a question (error summary links point here)."""
    if q.kind in ("single", "multiple", "scale"):
        return f"f-{q.id}-0"
    if q.kind == "matrix":
        return f"f-{q.id}-0-0"
    return f"f-{q.id}"


def scale_values(q: c.Question) -> list[int]:
    low, high = (int(q.min), int(q.max)) if q.min is not None and q.max is not None else (1, 5)
    return list(range(low, high + 1))


def answers_from_form(questions: list[c.Question], form: Any) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for q in questions:
        name = f"a-{q.id}"
        if q.kind == "multiple":
            value: Any = [str(v)[:200] for v in form.getall(name, [])][: c.MAX_OPTIONS]
        elif q.kind == "matrix":
            value = {}
            for index, row in enumerate(q.rows):
                picked = _text(form, f"{name}-{index}", 200)
                if picked:
                    value[row] = picked
        elif q.kind == "number":
            value = _parse_number(_text(form, name, 100))
        elif q.kind == "scale":
            raw = _text(form, name, 10)
            value = int(raw) if raw.lstrip("-").isdigit() else (raw or None)
        else:
            value = _text(form, name, c.MAX_TEXT_LENGTH + 100) or None
        if value not in (None, "", [], {}):
            answers[q.id] = value
    return answers


def form_values(answers: dict[str, Any]) -> dict[str, Any]:
    """Answer values as the inputs show them (numbers with a decimal comma)."""
    out: dict[str, Any] = {}
    for key, value in answers.items():
        if isinstance(value, float):
            out[key] = str(int(value)) if value.is_integer() else number(value, digits=6)
        else:
            out[key] = value
    return out


def condition_text(q: c.Question, by_id: dict[str, c.Question]) -> str | None:
    if q.show_if is None:
        return None
    source = by_id.get(q.show_if.question)
    label = source.label if source else q.show_if.question
    if source is not None and source.kind == "multiple":
        return _("Nur beantworten, wenn Sie bei „%(q)s“ „%(v)s“ ausgewählt haben.") % {
            "q": label,
            "v": q.show_if.equals,
        }
    return _("Nur beantworten, wenn Sie „%(q)s“ mit „%(v)s“ beantwortet haben.") % {
        "q": label,
        "v": number(q.show_if.equals) if isinstance(q.show_if.equals, int | float) else q.show_if.equals,
    }


ANSWER_TEMPLATE = "surveys/answer.html"


def answer_page_context(
    survey: c.Survey,
    response: c.Response | None,
    *,
    preview: bool = False,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    notice: str | None = None,
) -> dict[str, Any]:
    """What the answer form is rendered from (besides what every page gets): the page itself and
    the benchmark, which times the rendering as a share of the page's least cost."""
    if values is None:
        values = form_values(response.answers) if response is not None else {}
    return {
        "survey": survey,
        "preview": preview,
        "response": response,
        "values": values,
        "errors": errors,
        "notice": notice,
        **_answer_context(survey),
        **_labels(),
    }


def _answer_context(survey: c.Survey) -> dict[str, Any]:
    by_id = {q.id: q for q in survey.questions}
    sections: list[tuple[str, list[c.Question]]] = []
    for q in survey.questions:
        if not sections or (q.section and q.section != sections[-1][0]):
            sections.append((q.section, [q]))
        else:
            sections[-1][1].append(q)
    return {
        "sections": sections,
        "conditions": {q.id: condition_text(q, by_id) for q in survey.questions},
        "source_kinds": {q.id: by_id[q.show_if.question].kind for q in survey.questions if q.show_if},
        "anchor": anchor,
        "scale_values": scale_values,
    }


# --- builder: form fields <-> questions ------------------------------------------------------


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _bound(text: str) -> float | int | None:
    value = _parse_number(text)
    return value if isinstance(value, int | float) else None


def question_values(q: c.Question | None) -> dict[str, Any]:
    if q is None:
        return {}
    scale = "0-10" if q.kind == "scale" and q.min == 0 else "1-5"
    return {
        "id": q.id,
        "kind": q.kind,
        "label": q.label,
        "help": q.help,
        "section": q.section,
        "required": q.required,
        "options": "\n".join(q.options),
        "rows": "\n".join(q.rows),
        "min": "" if q.min is None or q.kind == "scale" else number(q.min, 6),
        "max": "" if q.max is None or q.kind == "scale" else number(q.max, 6),
        "multiline": q.multiline,
        "scale": scale,
        "min_label": q.min_label,
        "max_label": q.max_label,
        "show_if_question": q.show_if.question if q.show_if else "",
        "show_if_equals": str(q.show_if.equals) if q.show_if else "",
    }


def _next_id(questions: list[c.Question]) -> str:
    taken = {q.id for q in questions}
    n = len(questions) + 1
    while f"f{n}" in taken:
        n += 1
    return f"f{n}"


def question_from_form(
    form: Any, kind: str, questions: list[c.Question], errors: FormErrors, keep_id: str | None
) -> c.Question | None:
    values: dict[str, Any] = {
        "id": keep_id or _text(form, "id", 40) or _next_id(questions),
        "kind": kind,
        "label": _text(form, "label", 600),
        "help": _text(form, "help", 1100),
        "section": _text(form, "section", 250),
        "required": form.get("required") == "1",
    }
    if kind in ("single", "multiple", "matrix"):
        values["options"] = _lines(_text(form, "options"))
    if kind == "matrix":
        values["rows"] = _lines(_text(form, "rows"))
    if kind in ("multiple", "text", "number"):
        for bound in ("min", "max"):
            raw = _text(form, bound, 50)
            if raw and _bound(raw) is None:
                errors.add(bound, _("Bitte eine Zahl eingeben."))
            values[bound] = _bound(raw)
    if kind == "text":
        values["multiline"] = form.get("multiline") == "1"
    if kind == "scale":
        values["min"], values["max"] = SCALE_CHOICES.get(_text(form, "scale", 10), (1, 5))
        values["min_label"] = _text(form, "min_label", 120)
        values["max_label"] = _text(form, "max_label", 120)
    source_id = _text(form, "show_if_question", 40)
    if source_id:
        source = next((q for q in questions if q.id == source_id), None)
        raw = _text(form, "show_if_equals", 250)
        equals: Any = raw
        if source is not None and source.kind in ("number", "scale"):
            equals = _parse_number(raw)
        if not raw:
            errors.add("show_if_equals", _("Bitte geben Sie an, bei welcher Antwort die Frage erscheint."))
        values["show_if"] = {"question": source_id, "equals": equals}
    try:
        question = msgspec.convert(values, c.Question)
    except msgspec.ValidationError as exc:
        errors.add("label", _("Ungültige Angabe: %(m)s") % {"m": str(exc).split(" - at")[0]})
        return None
    return None if errors else question


def _question_field(name: str) -> str:
    """`questions[3].show_if.equals` → `show_if_equals` (the builder's field names)."""
    tail = re.sub(r"^questions\[\d+\]\.?", "", name)
    return tail.replace(".", "_") or "label"


def definition_of(survey: c.Survey, questions: list[c.Question]) -> c.UpdateSurvey:
    return c.UpdateSurvey(
        id=survey.id,
        revision=survey.revision,
        title=survey.title,
        description=survey.description,
        questions=questions,
        audience=survey.audience,
        respond_as=survey.respond_as,
        opens_at=survey.opens_at,
        closes_at=survey.closes_at,
        anonymous=survey.anonymous,
    )


def settings_from_form(form: Any, errors: FormErrors) -> dict[str, Any]:
    kind = _text(form, "audience_kind", 40) or "all_kommunen"
    ids: list[str] = []
    if kind == "landkreis":
        ids = [str(v)[:64] for v in form.getall("audience_landkreis", [])]
    elif kind == "group":
        ids = [str(v)[:64] for v in form.getall("audience_group", [])]
    elif kind == "organisations":
        ids = [i for i in re.split(r"[\s,;]+", _text(form, "audience_organisations", 20_000)) if i]
    title = _text(form, "title", 300)
    if not 3 <= len(title) <= 200:
        errors.add("title", _("Der Titel muss 3 bis 200 Zeichen lang sein."))
    if kind not in AUDIENCE_LABELS:
        errors.add("audience_ids", _("Bitte wählen Sie, an wen sich die Umfrage richtet."))
    elif kind != "all_kommunen" and not ids:
        errors.add("audience_ids", _("Bitte wählen Sie mindestens einen Eintrag für diese Zielgruppe."))
    closes = _local_time(_text(form, "closes_at", 40))
    opens = _local_time(_text(form, "opens_at", 40))
    if closes is None:
        errors.add("closes_at", _("Bitte geben Sie an, wann die Umfrage endet."))
    if _text(form, "opens_at", 40) and opens is None:
        errors.add("opens_at", _("Bitte ein gültiges Datum mit Uhrzeit angeben."))
    return {
        "title": title,
        "description": _text(form, "description"),
        "audience": {
            "kind": kind,
            "ids": ids[:1000],
            "organisation_kinds": [str(v)[:40] for v in form.getall("organisation_kinds", [])][:6],
        },
        "respond_as": _text(form, "respond_as", 20) or "organisation",
        "anonymous": form.get("anonymous") == "1",
        "opens_at": opens,
        "closes_at": closes,
    }


def settings_values(survey: c.Survey | None, posted: dict[str, Any] | None = None) -> dict[str, Any]:
    if posted is not None:
        audience = posted["audience"]
        return {
            **posted,
            "audience_kind": audience["kind"],
            "audience_ids": audience["ids"],
            "audience_organisations": "\n".join(audience["ids"])
            if audience["kind"] == "organisations"
            else "",
            "organisation_kinds": audience["organisation_kinds"],
            "opens_at": _input_time(posted["opens_at"]),
            "closes_at": _input_time(posted["closes_at"]),
        }
    if survey is None:
        return {
            "audience_kind": "all_kommunen",
            "respond_as": "organisation",
            "audience_ids": [],
            "organisation_kinds": [],
        }
    return {
        "title": survey.title,
        "description": survey.description,
        "audience_kind": survey.audience.kind,
        "audience_ids": survey.audience.ids,
        "audience_organisations": "\n".join(survey.audience.ids)
        if survey.audience.kind == "organisations"
        else "",
        "organisation_kinds": survey.audience.organisation_kinds,
        "respond_as": survey.respond_as,
        "anonymous": survey.anonymous,
        "opens_at": _input_time(survey.opens_at),
        "closes_at": _input_time(survey.closes_at),
    }


SETTINGS_FIELDS = {
    "title",
    "description",
    "audience",
    "audience_ids",
    "respond_as",
    "anonymous",
    "opens_at",
    "closes_at",
}


def _settings_field(name: str) -> str:
    """The service's field name as the settings form calls it."""
    return {"audience.ids": "audience_ids", "audience": "audience_ids"}.get(name, name)


# --- charts ------------------------------------------------------------------------------

CHART_WIDTH = 640
LABEL_WIDTH = 230
BAR_AREA = 320
ROW_HEIGHT = 30


def bar_chart(items: list[c.OptionCount]) -> dict[str, Any]:
    """Geometry of a horizontal bar chart (drawn as SVG by the template, no inline styles)."""
    top = max((i.count for i in items), default=0)
    bars = []
    for index, item in enumerate(items):
        width = round(BAR_AREA * item.count / top) if top else 0
        label = item.label if len(item.label) <= 32 else item.label[:31] + "…"
        bars.append(
            {
                "y": index * ROW_HEIGHT + 6,
                "label": label,
                "width": width,
                "text_x": LABEL_WIDTH + width + 8,
                "value": f"{item.count} ({number(item.percent)} %)",
            }
        )
    return {
        "width": CHART_WIDTH,
        "height": len(items) * ROW_HEIGHT + 8,
        "label_width": LABEL_WIDTH,
        "bars": bars,
    }


def summary_text(r: c.QuestionResult) -> str:
    if r.n == 0:
        return _("Keine Antworten.")
    parts = [_("%(n)s von %(asked)s Befragten haben geantwortet.") % {"n": r.n, "asked": r.asked}]
    if r.options and r.kind in ("single", "multiple", "scale"):
        best = max(r.options, key=lambda o: o.count)
        ties = [o for o in r.options if o.count == best.count]
        if len(ties) == 1:
            parts.append(
                _("Am häufigsten: „%(label)s“ (%(count)s, %(percent)s %%).")
                % {"label": best.label, "count": best.count, "percent": number(best.percent)}
            )
        else:
            parts.append(
                _("Gleich häufig: %(labels)s (je %(count)s).")
                % {"labels": ", ".join(f"„{o.label}“" for o in ties), "count": best.count}
            )
    if r.summary and r.summary.n:
        parts.append(
            _("Mittelwert %(mean)s, Median %(median)s, kleinster Wert %(min)s, größter Wert %(max)s.")
            % {
                "mean": number(r.summary.mean, 2),
                "median": number(r.summary.median, 2),
                "min": number(r.summary.min, 2),
                "max": number(r.summary.max, 2),
            }
        )
    if r.kind == "date" and r.earliest:
        parts.append(_("Frühestes Datum %(a)s, spätestes %(b)s.") % {"a": r.earliest, "b": r.latest})
    return " ".join(parts)


def matrix_items(r: c.QuestionResult) -> list[c.OptionCount]:
    return [
        c.OptionCount(label=f"{row.label}: {cell.label}", count=cell.count, percent=cell.percent)
        for row in r.matrix
        for cell in row.counts
    ]


# --- pages -------------------------------------------------------------------------------


class SurveyPages(Controller):
    include_in_schema = False

    @get("/umfragen")
    async def index(self, request: Request[Any, Any, Any]) -> Response[Any]:
        auth, who = await _login(request)
        state = request.query_params.get("stand") or None
        req = c.ListSurveys(state=state if state in STATE_LABELS else None, limit=100)  # type: ignore[arg-type]
        page = await _client(request).list_surveys(who, req)
        return await render(
            request,
            "surveys/index.html",
            {
                "page": page,
                "is_ministry": who.is_ministry,
                "state": req.state or "",
                "notice": _notice(request),
                **_labels(),
            },
            auth=auth,
        )

    # --- building ----------------------------------------------------------------------

    async def _settings_page(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        who: Principal,
        survey: c.Survey | None,
        values: dict[str, Any],
        errors: FormErrors | None = None,
        status: int = 200,
    ) -> Response[Any]:
        directory = DirectoryClient(gateway_of(request).rpc)
        kreise = (await directory.organisations(who, d.ListOrganisations(kind="landkreis", limit=100))).items
        cities = (
            await directory.organisations(who, d.ListOrganisations(kind="kreisfreie_stadt", limit=100))
        ).items
        groups = (await directory.groups(who)).items
        return await render(
            request,
            "surveys/settings.html",
            {
                "survey": survey,
                "values": values,
                "errors": errors,
                "kreise": sorted([*kreise, *cities], key=lambda o: o.name),
                "groups": groups,
                **_labels(),
            },
            auth=auth,
            status=status,
        )

    @get("/umfragen/neu")
    async def new(self, request: Request[Any, Any, Any]) -> Response[Any]:
        auth, who = await _login(request)
        _ministry(who)
        return await self._settings_page(request, auth, who, None, settings_values(None))

    @post("/umfragen/neu")
    async def create(self, request: Request[Any, Any, Any]) -> Response[Any]:
        auth, who = await _login(request)
        _ministry(who)
        form = await _form(request)
        errors = FormErrors()
        if not form_csrf_ok(request, auth, form.get("csrf_token")):
            errors.general.append(_(EXPIRED))
        posted = settings_from_form(form, errors)
        if not errors:
            try:
                req = msgspec.convert({**posted, "questions": []}, c.CreateSurvey)
                survey = await _client(request).create(who, req)
            except msgspec.ValidationError as exc:
                errors.general.append(_("Ungültige Angabe: %(m)s") % {"m": str(exc)})
            except DomainError as exc:
                if exc.status not in (400, 409, 422):
                    raise
                errors.add_refusal(exc, SETTINGS_FIELDS, _settings_field)
            else:
                return Redirect(path=f"/umfragen/{survey.id}/bearbeiten?hinweis=angelegt")
        return await self._settings_page(request, auth, who, None, settings_values(None, posted), errors, 422)

    @post("/umfragen/{survey_id:str}/einstellungen")
    async def update_settings(self, request: Request[Any, Any, Any], survey_id: str) -> Response[Any]:
        auth, who = await _login(request)
        _ministry(who)
        survey = await _client(request).get(who, _sid(survey_id))
        form = await _form(request)
        errors = FormErrors()
        if not form_csrf_ok(request, auth, form.get("csrf_token")):
            errors.general.append(_(EXPIRED))
        posted = settings_from_form(form, errors)
        if not errors:
            try:
                req = msgspec.convert(
                    {
                        **posted,
                        "id": survey.id,
                        "revision": int(_text(form, "revision", 10) or "0"),
                        "questions": msgspec.to_builtins(survey.questions),
                    },
                    c.UpdateSurvey,
                )
                await _client(request).update(who, req)
            except (msgspec.ValidationError, ValueError) as exc:
                errors.general.append(_("Ungültige Angabe: %(m)s") % {"m": str(exc)})
            except DomainError as exc:
                if exc.status not in (400, 409, 422):
                    raise
                errors.add_refusal(exc, SETTINGS_FIELDS, _settings_field)
            else:
                return Redirect(path=f"/umfragen/{survey.id}/bearbeiten?hinweis=gespeichert")
        return await self._settings_page(
            request, auth, who, survey, settings_values(survey, posted), errors, 422
        )

    @get("/umfragen/{survey_id:str}/einstellungen")
    async def settings(self, request: Request[Any, Any, Any], survey_id: str) -> Response[Any]:
        auth, who = await _login(request)
        _ministry(who)
        survey = await _client(request).get(who, _sid(survey_id))
        return await self._settings_page(request, auth, who, survey, settings_values(survey))

    @get("/umfragen/{survey_id:str}/bearbeiten")
    async def builder(self, request: Request[Any, Any, Any], survey_id: str) -> Response[Any]:
        auth, who = await _login(request)
        _ministry(who)
        survey = await _client(request).get(who, _sid(survey_id))
        if survey.state != "draft":
            return Redirect(path=f"/umfragen/{survey.id}")
        return await self._builder(request, auth, survey)

    async def _builder(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        survey: c.Survey,
        errors: FormErrors | None = None,
        status: int = 200,
    ) -> Response[Any]:
        by_id = {q.id: q for q in survey.questions}
        return await render(
            request,
            "surveys/builder.html",
            {
                "survey": survey,
                "errors": errors,
                "notice": _notice(request),
                "conditions": {q.id: condition_text(q, by_id) for q in survey.questions},
                **_labels(),
            },
            auth=auth,
            status=status,
        )

    async def _question_page(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        survey: c.Survey,
        kind: str,
        values: dict[str, Any],
        question_id: str | None,
        errors: FormErrors | None = None,
        status: int = 200,
    ) -> Response[Any]:
        index = next(
            (i for i, q in enumerate(survey.questions) if q.id == question_id), len(survey.questions)
        )
        earlier = [q for q in survey.questions[:index] if q.kind != "matrix"]
        return await render(
            request,
            "surveys/question.html",
            {
                "survey": survey,
                "kind": kind,
                "values": values,
                "question_id": question_id,
                "earlier": earlier,
                "errors": errors,
                **_labels(),
            },
            auth=auth,
            status=status,
        )

    @get("/umfragen/{survey_id:str}/fragen/neu")
    async def new_question(self, request: Request[Any, Any, Any], survey_id: str) -> Response[Any]:
        auth, who = await _login(request)
        _ministry(who)
        survey = await _client(request).get(who, _sid(survey_id))
        kind = request.query_params.get("art", "")
        if kind not in KIND_LABELS:
            errors = FormErrors()
            errors.add("art", _("Bitte wählen Sie die Art der Frage."))
            return await self._builder(request, auth, survey, errors, 422)
        section = survey.questions[-1].section if survey.questions else ""
        return await self._question_page(
            request, auth, survey, kind, {"section": section, "scale": "1-5"}, None
        )

    @get("/umfragen/{survey_id:str}/fragen/{question_id:str}")
    async def edit_question(
        self, request: Request[Any, Any, Any], survey_id: str, question_id: str
    ) -> Response[Any]:
        auth, who = await _login(request)
        _ministry(who)
        survey = await _client(request).get(who, _sid(survey_id))
        question = next((q for q in survey.questions if q.id == question_id[:40]), None)
        if question is None:
            raise NotFound(_("Diese Frage gibt es nicht."))
        return await self._question_page(
            request, auth, survey, question.kind, question_values(question), question.id
        )

    @post("/umfragen/{survey_id:str}/fragen/neu")
    async def add_question(self, request: Request[Any, Any, Any], survey_id: str) -> Response[Any]:
        return await self._save_question(request, _sid(survey_id), None)

    @post("/umfragen/{survey_id:str}/fragen/{question_id:str}")
    async def save_question(
        self, request: Request[Any, Any, Any], survey_id: str, question_id: str
    ) -> Response[Any]:
        return await self._save_question(request, _sid(survey_id), question_id[:40])

    async def _save_question(
        self, request: Request[Any, Any, Any], survey_id: str, question_id: str | None
    ) -> Response[Any]:
        auth, who = await _login(request)
        _ministry(who)
        client = _client(request)
        survey = await client.get(who, survey_id)
        form = await _form(request)
        errors = FormErrors()
        existing = next((q for q in survey.questions if q.id == question_id), None)
        if question_id is not None and existing is None:
            raise NotFound(_("Diese Frage gibt es nicht."))
        kind = existing.kind if existing else _text(form, "kind", 20)
        if kind not in KIND_LABELS:
            kind = "text"
        values = {k: _text(form, k) for k in form} | {
            "required": form.get("required") == "1",
            "multiline": form.get("multiline") == "1",
        }
        if not form_csrf_ok(request, auth, form.get("csrf_token")):
            errors.general.append(_(EXPIRED))
        elif str(survey.revision) != _text(form, "revision", 10):
            errors.general.append(
                _(
                    "Die Umfrage wurde inzwischen geändert. Bitte prüfen Sie Ihre Eingaben und speichern Sie erneut."
                )
            )
        others = [q for q in survey.questions if q.id != question_id]
        question = (
            question_from_form(form, kind, survey.questions, errors, question_id) if not errors else None
        )
        if question is not None:
            if question_id is None:
                questions = [*survey.questions, question]
            else:
                questions = [question if q.id == question_id else q for q in survey.questions]
            if question_id is None and any(q.id == question.id for q in others):
                errors.add("id", _("Diese Kennung ist schon vergeben."))
            else:
                try:
                    await client.update(who, definition_of(survey, questions))
                except DomainError as exc:
                    if exc.status not in (400, 409, 422):
                        raise
                    for e in exc.errors:
                        name = _question_field(e.field)
                        if name in values or name in (
                            "options",
                            "rows",
                            "min",
                            "max",
                            "label",
                            "id",
                            "show_if_question",
                            "show_if_equals",
                            "min_label",
                            "multiline",
                        ):
                            errors.add(name, _(e.message))
                        else:
                            errors.general.append(_(e.message))
                    if not exc.errors:
                        errors.general.append(_(exc.detail or exc.title))
                else:
                    return Redirect(
                        path=f"/umfragen/{survey.id}/bearbeiten?hinweis=frage#frage-{question.id}"
                    )
        return await self._question_page(request, auth, survey, kind, values, question_id, errors, 422)

    async def _change_questions(
        self, request: Request[Any, Any, Any], survey_id: str, change: Any, notice: str
    ) -> Response[Any]:
        auth, who = await _login(request)
        _ministry(who)
        client = _client(request)
        survey = await client.get(who, survey_id)
        form = await _form(request)
        errors = FormErrors()
        if not form_csrf_ok(request, auth, form.get("csrf_token")):
            errors.general.append(_(EXPIRED))
        elif str(survey.revision) != _text(form, "revision", 10):
            errors.general.append(
                _(
                    "Die Umfrage wurde inzwischen geändert. Bitte prüfen Sie die Fragen und versuchen Sie es erneut."
                )
            )
        else:
            try:
                await client.update(who, definition_of(survey, change(list(survey.questions))))
            except DomainError as exc:
                if exc.status not in (400, 409, 422):
                    raise
                errors.general += [_(e.message) for e in exc.errors] or [_(exc.detail or exc.title)]
            else:
                return Redirect(path=f"/umfragen/{survey.id}/bearbeiten?hinweis={notice}")
        return await self._builder(request, auth, survey, errors, 409)

    @post("/umfragen/{survey_id:str}/fragen/{question_id:str}/entfernen")
    async def remove_question(
        self, request: Request[Any, Any, Any], survey_id: str, question_id: str
    ) -> Response[Any]:
        def change(questions: list[c.Question]) -> list[c.Question]:
            return [q for q in questions if q.id != question_id]

        return await self._change_questions(request, _sid(survey_id), change, "entfernt")

    @post("/umfragen/{survey_id:str}/fragen/{question_id:str}/verschieben")
    async def move_question(
        self, request: Request[Any, Any, Any], survey_id: str, question_id: str
    ) -> Response[Any]:
        form = await _form(request)
        step = -1 if form.get("richtung") == "hoch" else 1

        def change(questions: list[c.Question]) -> list[c.Question]:
            index = next((i for i, q in enumerate(questions) if q.id == question_id), None)
            target = None if index is None else index + step
            if index is None or target is None or not 0 <= target < len(questions):
                return questions
            questions[index], questions[target] = questions[target], questions[index]
            return questions

        return await self._change_questions(request, _sid(survey_id), change, "gespeichert")

    @post("/umfragen/{survey_id:str}/loeschen")
    async def delete(self, request: Request[Any, Any, Any], survey_id: str) -> Response[Any]:
        auth, who = await _login(request)
        _ministry(who)
        form = await _form(request)
        if not form_csrf_ok(request, auth, form.get("csrf_token")):
            return Redirect(path=f"/umfragen/{_sid(survey_id)}/bearbeiten")
        await _client(request).delete(who, _sid(survey_id))
        return Redirect(path="/umfragen?hinweis=geloescht")

    @post("/umfragen/{survey_id:str}/veroeffentlichen")
    async def publish(self, request: Request[Any, Any, Any], survey_id: str) -> Response[Any]:
        return await self._state_change(request, _sid(survey_id), "publish")

    @post("/umfragen/{survey_id:str}/schliessen")
    async def close(self, request: Request[Any, Any, Any], survey_id: str) -> Response[Any]:
        return await self._state_change(request, _sid(survey_id), "close")

    async def _state_change(
        self, request: Request[Any, Any, Any], survey_id: str, action: str
    ) -> Response[Any]:
        auth, who = await _login(request)
        _ministry(who)
        client = _client(request)
        form = await _form(request)
        errors = FormErrors()
        if not form_csrf_ok(request, auth, form.get("csrf_token")):
            errors.general.append(_(EXPIRED))
        else:
            try:
                if action == "publish":
                    await client.publish(who, survey_id)
                else:
                    await client.close(who, survey_id)
            except DomainError as exc:
                if exc.status not in (400, 409, 422):
                    raise
                errors.general += [_(e.message) for e in exc.errors] or [_(exc.detail or exc.title)]
            else:
                notice = "veroeffentlicht" if action == "publish" else "geschlossen"
                return Redirect(path=f"/umfragen/{survey_id}?hinweis={notice}")
        survey = await client.get(who, survey_id)
        if survey.state == "draft":
            return await self._builder(request, auth, survey, errors, 422)
        return await self._overview(request, auth, survey, errors, 409)

    # --- the survey page: overview (ministry) or answer form (Kommune) -------------------------

    @get("/umfragen/{survey_id:str}")
    async def show(self, request: Request[Any, Any, Any], survey_id: str) -> Response[Any]:
        auth, who = await _login(request)
        found = await _client(request).get_for_page(who, _sid(survey_id))
        if found.response is not None:
            return await self._answer_page(request, auth, who, found.survey, response=found.response)
        return await self._overview(request, auth, found.survey)

    async def _overview(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        survey: c.Survey,
        errors: FormErrors | None = None,
        status: int = 200,
    ) -> Response[Any]:
        return await render(
            request,
            "surveys/overview.html",
            {"survey": survey, "errors": errors, "notice": _notice(request), **_labels()},
            auth=auth,
            status=status,
        )

    @get("/umfragen/{survey_id:str}/vorschau")
    async def preview(self, request: Request[Any, Any, Any], survey_id: str) -> Response[Any]:
        auth, who = await _login(request)
        _ministry(who)
        survey = await _client(request).get(who, _sid(survey_id))
        return await render(
            request,
            ANSWER_TEMPLATE,
            answer_page_context(survey, None, preview=True),
            auth=auth,
        )

    async def _answer_page(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        who: Principal,
        survey: c.Survey,
        *,
        values: dict[str, Any] | None = None,
        errors: FormErrors | None = None,
        status: int = 200,
        response: c.Response | None = None,
    ) -> Response[Any]:
        if response is None:
            response = await _client(request).response(who, survey.id)
        return await render(
            request,
            ANSWER_TEMPLATE,
            answer_page_context(survey, response, values=values, errors=errors, notice=_notice(request)),
            auth=auth,
            status=status,
        )

    @post("/umfragen/{survey_id:str}/antwort")
    async def answer(self, request: Request[Any, Any, Any], survey_id: str) -> Response[Any]:
        auth, who = await _login(request)
        client = _client(request)
        survey = await client.get(who, _sid(survey_id))
        form = await _form(request)
        errors = FormErrors()
        answers = answers_from_form(survey.questions, form)
        submit = form.get("action") == "submit"
        if not form_csrf_ok(request, auth, form.get("csrf_token")):
            errors.general.append(_(EXPIRED))
        else:
            try:
                if submit:
                    await client.submit(who, c.SubmitResponse(survey_id=survey.id, answers=answers))
                else:
                    await client.save(who, c.SaveResponse(survey_id=survey.id, answers=answers))
            except DomainError as exc:
                if exc.status not in (400, 409, 422):
                    raise
                by_id = {q.id: q for q in survey.questions}
                for e in _translated(exc.errors):
                    if e.field in by_id:
                        errors.add(anchor(by_id[e.field]), e.message)
                    else:
                        errors.general.append(e.message)
                if not exc.errors:
                    errors.general.append(_(exc.detail or exc.title))
            else:
                notice = "eingereicht" if submit else "entwurf"
                return Redirect(path=f"/umfragen/{survey.id}?hinweis={notice}")
        return await self._answer_page(request, auth, who, survey, values=answers, errors=errors, status=422)

    @post("/umfragen/{survey_id:str}/wieder-oeffnen")
    async def reopen(self, request: Request[Any, Any, Any], survey_id: str) -> Response[Any]:
        auth, who = await _login(request)
        client = _client(request)
        survey = await client.get(who, _sid(survey_id))
        form = await _form(request)
        errors = FormErrors()
        if not form_csrf_ok(request, auth, form.get("csrf_token")):
            errors.general.append(_(EXPIRED))
        else:
            try:
                await client.reopen(who, survey.id)
            except DomainError as exc:
                if exc.status not in (400, 409, 422):
                    raise
                errors.general.append(_(exc.detail or exc.title))
            else:
                return Redirect(path=f"/umfragen/{survey.id}?hinweis=geoeffnet")
        return await self._answer_page(request, auth, who, survey, errors=errors, status=409)

    # --- progress and results ----------------------------------------------------------

    @get("/umfragen/{survey_id:str}/fortschritt")
    async def progress(self, request: Request[Any, Any, Any], survey_id: str) -> Response[Any]:
        auth, who = await _login(request)
        _ministry(who)
        return await self._progress(request, auth, who, _sid(survey_id))

    async def _progress(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        who: Principal,
        survey_id: str,
        errors: FormErrors | None = None,
        status: int = 200,
    ) -> Response[Any]:
        client = _client(request)
        survey = await client.get(who, survey_id)
        progress = await client.progress(who, survey_id)
        return await render(
            request,
            "surveys/progress.html",
            {
                "survey": survey,
                "progress": progress,
                "errors": errors,
                "notice": _notice(request),
                **_labels(),
            },
            auth=auth,
            status=status,
        )

    @post("/umfragen/{survey_id:str}/erinnerung")
    async def remind(self, request: Request[Any, Any, Any], survey_id: str) -> Response[Any]:
        auth, who = await _login(request)
        _ministry(who)
        form = await _form(request)
        errors = FormErrors()
        if not form_csrf_ok(request, auth, form.get("csrf_token")):
            errors.general.append(_(EXPIRED))
        else:
            try:
                result = await _client(request).remind(who, _sid(survey_id))
            except DomainError as exc:
                if exc.status not in (400, 409, 422):
                    raise
                errors.general.append(_(exc.detail or exc.title))
            else:
                notice = "erinnert" if result.reminded else "niemand"
                return Redirect(path=f"/umfragen/{_sid(survey_id)}/fortschritt?hinweis={notice}")
        return await self._progress(request, auth, who, _sid(survey_id), errors, 409)

    @get("/umfragen/{survey_id:str}/ergebnisse")
    async def results(self, request: Request[Any, Any, Any], survey_id: str) -> Response[Any]:
        auth, who = await _login(request)
        client = _client(request)
        survey = await client.get(who, _sid(survey_id))
        params = request.query_params
        landkreis = params.get("landkreis") or None
        kind = params.get("art") or None
        errors = FormErrors()
        if landkreis and not re.fullmatch(r"[0-9]{5}", landkreis):
            errors.add("landkreis", _("Bitte wählen Sie einen Landkreis aus der Liste."))
            landkreis = None
        if kind and kind not in ORG_KIND_LABELS:
            errors.add("art", _("Bitte wählen Sie eine Art aus der Liste."))
            kind = None
        results = await client.results(
            who,
            c.GetResults(survey_id=survey.id, landkreis=landkreis, kind=kind),  # type: ignore[arg-type]
        )
        kreise: list[d.Organisation] = []
        if who.is_ministry:
            directory = DirectoryClient(gateway_of(request).rpc)
            listed = await directory.organisations(who, d.ListOrganisations(kind="landkreis", limit=100))
            cities = await directory.organisations(
                who, d.ListOrganisations(kind="kreisfreie_stadt", limit=100)
            )
            kreise = sorted([*listed.items, *cities.items], key=lambda o: o.name)
        query = urlencode({k: v for k, v in {"landkreis": landkreis, "kind": kind}.items() if v})
        charts = {}
        for r in results.questions:
            if r.kind in ("single", "multiple", "scale") and r.options:
                charts[r.id] = bar_chart(r.options)
            elif r.kind == "matrix" and r.matrix:
                charts[r.id] = bar_chart(matrix_items(r))
        return await render(
            request,
            "surveys/results.html",
            {
                "survey": survey,
                "results": results,
                "charts": charts,
                "summaries": {r.id: summary_text(r) for r in results.questions},
                "kreise": kreise,
                "filters": {"landkreis": landkreis or "", "art": kind or ""},
                "export_query": f"?{query}" if query else "",
                "is_ministry": who.is_ministry,
                "errors": errors,
                "now": datetime.now(UTC),
                **_labels(),
            },
            auth=auth,
            status=422 if errors else 200,
        )
