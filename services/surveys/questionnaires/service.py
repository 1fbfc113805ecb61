"""Rules of surveys: who may do what, and what a change means. No transport code.

Permissions are checked here from the principal: the ministry builds, publishes, closes, sees
progress and results and exports; the addressed answer (a Kommune's members for their own
Kommune only, or each addressed person); a survey not addressed to the caller is a 403.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from datetime import UTC, datetime, timedelta

import msgspec
from pymongo.errors import PyMongoError

from services.contracts import surveys as c
from services.contracts.envelope import FieldError, Principal
from services.runtime.errors import Conflict, Forbidden, Invalid, NotFound
from services.runtime.events import OutboxHook, ignore_outbox, outbox_entry
from services.runtime.locks import Held, Locks
from services.runtime.mongo import Document
from services.runtime.recent import Recent, Schedule
from services.surveys.questionnaires import exports, progress, rules, statistics
from services.surveys.questionnaires.directory import Directory
from services.surveys.questionnaires.repository import QuestionnairesRepository, response_id

log = logging.getLogger(__name__)

DEFAULT_CLOSING_SOON = timedelta(hours=72)
MAX_SURVEY_DAYS = 366
SURVEY_RECENT_SECONDS = 1.0
# how long the survey is kept while this instance follows the others' survey.published and
# survey.closed events (app.py): they drop it at once; the time only covers an event that never
# came without the connection breaking (a break drops every copy)
FOLLOWED_SURVEY_SECONDS = 10.0
# a close seen in an event is kept in mind that long: the event leaves before the survey itself
# is written as closed, so a read in between still finds it open
CLOSED_SEEN_SECONDS = 300.0
# a response's lock stays with this instance that long after a write: a save is mostly followed
# by the next save or the submission within seconds
RESPONSE_LINGER_SECONDS = 1.0
# the deadline task's list of published surveys is read again after this long, or at once when
# a survey is published or closed (here, or by another instance: its event)
SCHEDULE_SECONDS = 300.0
RACED = "Die Antwort wurde soeben von anderer Stelle gespeichert. Bitte laden Sie die Seite neu."


def _now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """Sortable by creation time (milliseconds in fixed-width hex), unique by the random tail."""
    return f"s{int(time.time() * 1000):012x}{secrets.token_hex(4)}"


def state_of(doc: Document, now: datetime) -> c.SurveyState:
    if doc["status"] == "draft":
        return "draft"
    if doc["status"] == "closed" or now >= rules.aware(doc["closes_at"]):
        return "closed"
    if doc.get("opens_at") and now < rules.aware(doc["opens_at"]):
        return "scheduled"
    return "open"


def _questions(doc: Document) -> list[c.Question]:
    return msgspec.convert(doc.get("questions") or [], list[c.Question])


class _Derived:
    """What each answer derives from its survey: the questions as Structs and the addressees by
    id (the survey's `addressed_keys`, as a dictionary), worked out once per document read (the
    recent copy is one object for seconds) instead of on every request (converting 20 questions
    and scanning 218 addressees each time took an eighth of the service's CPU per answer)."""

    def __init__(self, max_entries: int = 32) -> None:
        # the surveys answered at a time, each entry holding its survey document (~50 KB); the
        # oldest makes room, as a bulk clear would make every open survey derive again
        self.max_entries = max_entries
        self._by_id: dict[str, tuple[Document, list[c.Question], dict[str, Document]]] = {}

    def of(self, doc: Document) -> tuple[list[c.Question], dict[str, Document]]:
        entry = self._by_id.get(doc["_id"])
        if entry is None or entry[0] is not doc:
            self._by_id.pop(doc["_id"], None)
            if len(self._by_id) >= self.max_entries:
                del self._by_id[next(iter(self._by_id))]
            entry = (doc, _questions(doc), {a["id"]: a for a in doc.get("addressed") or []})
            self._by_id[doc["_id"]] = entry
        return entry[1], entry[2]


def _opt(value: datetime | None) -> datetime | None:
    return rules.aware(value) if value else None


def _saver(snap: Document | None) -> c.PersonRef | None:
    return progress.person_ref(snap)


class QuestionnairesService:
    def __init__(
        self,
        repo: QuestionnairesRepository,
        directory: Directory,
        *,
        closing_soon: timedelta = DEFAULT_CLOSING_SOON,
        locks: Locks | None = None,
        survey_seconds: float = SURVEY_RECENT_SECONDS,
    ) -> None:
        self.repo = repo
        self.directory = directory
        self.closing_soon = closing_soon
        self.on_outbox: OutboxHook = ignore_outbox
        # FerretDB's updates are read-modify-write: a draft save whose read came before a
        # submission's write could turn the submission back into a draft. Writes to one response
        # therefore go one after the other, across all instances of the service.
        self.locks = locks or Locks.local()
        # the survey with its addressees (~50 KB for 218 Kommunen), read for every answer and page
        # otherwise. A manual close on another instance shows here within `survey_seconds`, or as
        # soon as its event arrives when the instance follows them (`survey_changed`); deadlines
        # are exact: `closes_at` is compared with the clock on every request
        self._recent: Recent[str, Document] = Recent(survey_seconds)
        self._closed_seen: Recent[str, datetime] = Recent(CLOSED_SEEN_SECONDS)
        # each response as this instance last wrote it, with the holding of its lock it was
        # written under: while that holding lasts nobody else can have written the response, so
        # the next write needs no read (the entries only need to outlive a lingering lock)
        self._written: Recent[str, tuple[int, Document]] = Recent(4 * RESPONSE_LINGER_SECONDS + 10)
        self._derived = _Derived()
        # the deadline task's list of the published surveys (see `run_deadlines`)
        self._schedule: Schedule[list[Document]] = Schedule(SCHEDULE_SECONDS)

    def _lock(self, rid: str) -> contextlib.AbstractAsyncContextManager[Held]:
        return self.locks.hold(f"response:{rid}", linger=RESPONSE_LINGER_SECONDS)

    async def _stored(self, rid: str, held: Held) -> Document | None:
        """The response as stored, read under its lock unless this instance wrote it last. The
        copy is taken out: only `_wrote`, once the next write is known to have happened, puts
        one back."""
        kept = self._written.get(rid)
        self._written.drop(rid)
        if kept is not None and kept[0] == held.since:
            return kept[1]
        return await self.repo.response(rid)

    def _wrote(self, rid: str, held: Held, written: Document | None) -> None:
        if written is not None:  # as a read returns it, without the outbox
            self._written.put(rid, (held.since, {k: v for k, v in written.items() if k != "outbox"}))

    # --- views -------------------------------------------------------------------------

    def _view(
        self, doc: Document, now: datetime, *, mine: c.ResponseState = "none", to_me: bool = False
    ) -> c.Survey:
        return c.Survey(
            id=doc["_id"],
            title=doc["title"],
            description=doc.get("description", ""),
            questions=_questions(doc),
            audience=msgspec.convert(doc["audience"], c.Audience),
            respond_as=doc["respond_as"],
            anonymous=bool(doc.get("anonymous")),
            opens_at=_opt(doc.get("opens_at")),
            closes_at=rules.aware(doc["closes_at"]),
            state=state_of(doc, now),
            revision=int(doc.get("revision", 0)),
            created_by=doc["created_by"],
            created_at=rules.aware(doc["created_at"]),
            published_at=_opt(doc.get("published_at")),
            closed_at=_opt(doc.get("closed_at")),
            addressed_count=len(doc.get("addressed_keys") or []),
            addressed_to_me=to_me,
            my_response=mine,
        )

    @staticmethod
    def _key(doc: Document, who: Principal) -> str:
        """Whose response the caller writes: their Kommune's or their own."""
        return who.person_id if doc["respond_as"] == "person" else who.organisation_id

    def _addressed(self, doc: Document, who: Principal) -> bool:
        # the addressees by id hold the same keys as `addressed_keys`, without a scan of the list
        return doc["status"] != "draft" and self._key(doc, who) in self._derived.of(doc)[1]

    def survey_changed(self, survey_id: str, closed_at: datetime | None = None) -> None:
        """Another instance published or closed the survey (its event): read it again when
        next needed. A close is kept in mind: its event is sent before the survey is written as
        closed, and a survey never opens again."""
        if closed_at is not None:
            self._closed_seen.put(survey_id, closed_at)
        self._recent.drop(survey_id)
        self._schedule.changed()

    def changes_missed(self) -> None:
        """The events may have been missed (the connection broke): read every survey again."""
        self._recent.clear()
        self._schedule.changed()

    async def _load(self, survey_id: str) -> Document | None:
        doc = await self.repo.survey(survey_id)
        closed_at = self._closed_seen.get(survey_id)
        if doc is not None and closed_at is not None and doc["status"] == "published":
            doc = {**doc, "status": "closed", "closed_at": doc.get("closed_at") or closed_at}
        return doc

    async def _read(self, survey_id: str, *, recent: bool) -> Document | None:
        if recent:
            return await self._recent.get_or_load(survey_id, lambda: self._load(survey_id))
        doc = await self._load(survey_id)
        if doc is not None:
            self._recent.put(survey_id, doc)
        return doc

    async def _survey(self, who: Principal, survey_id: str, *, recent: bool = False) -> Document:
        """The survey as the caller may see it: drafts only for the ministry, the others only
        if addressed to the caller (403 otherwise). `recent`: a copy read within the last
        SURVEY_RECENT_SECONDS will do (answering and reading, never changing the survey)."""
        doc = await self._read(survey_id, recent=recent)
        if doc is None or (doc["status"] == "draft" and not who.is_ministry):
            raise NotFound("Diese Umfrage gibt es nicht.")
        if not who.is_ministry and not self._addressed(doc, who):
            raise Forbidden("Diese Umfrage richtet sich nicht an Sie oder Ihre Kommune.")
        return doc

    @staticmethod
    def _ministry(who: Principal, what: str) -> None:
        if not who.is_ministry:
            raise Forbidden(f"{what} nur das Ministerium.")

    # --- building ----------------------------------------------------------------------

    def _checked(self, defn: c.SurveyDefinition) -> tuple[list[c.Question], list[FieldError]]:
        questions = [rules.normalise_question(q) for q in defn.questions]
        errors = rules.check_definition(msgspec.structs.replace(defn, questions=questions))
        closes, opens = rules.aware(defn.closes_at), _opt(defn.opens_at)
        if closes - (opens or _now()) > timedelta(days=MAX_SURVEY_DAYS):
            errors.append(FieldError("closes_at", f"Eine Umfrage läuft höchstens {MAX_SURVEY_DAYS} Tage."))
        return questions, errors

    @staticmethod
    def _fields(defn: c.SurveyDefinition, questions: list[c.Question]) -> Document:
        return {
            "title": defn.title.strip(),
            "description": defn.description.strip(),
            "questions": [msgspec.to_builtins(q) for q in questions],
            "audience": msgspec.to_builtins(defn.audience),
            "respond_as": defn.respond_as,
            "anonymous": defn.anonymous,
            "opens_at": _opt(defn.opens_at),
            "closes_at": rules.aware(defn.closes_at),
        }

    async def create(self, who: Principal, req: c.CreateSurvey) -> c.Survey:
        self._ministry(who, "Umfragen erstellt")
        questions, errors = self._checked(req)
        if errors:
            raise Invalid("Die Umfrage ist so nicht möglich.", errors)
        now = _now()
        doc: Document = {
            "_id": new_id(),
            **self._fields(req, questions),
            "status": "draft",
            "revision": 0,
            "created_by": who.person_id,
            "created_at": now,
            "outbox": [],
        }
        await self.repo.insert_survey(doc)
        return self._view(doc, now)

    async def update(self, who: Principal, req: c.UpdateSurvey) -> c.Survey:
        self._ministry(who, "Umfragen bearbeitet")
        doc = await self._survey(who, req.id)
        if doc["status"] != "draft":
            raise Conflict("Eine veröffentlichte Umfrage kann nicht mehr geändert werden.")
        questions, errors = self._checked(req)
        if errors:
            raise Invalid("Die Umfrage ist so nicht möglich.", errors)
        self._recent.drop(req.id)
        if not await self.repo.update_draft(req.id, req.revision, self._fields(req, questions)):
            raise Conflict(
                "Die Umfrage wurde inzwischen geändert oder veröffentlicht. Bitte laden Sie sie neu."
            )
        return await self.get(who, req.id)

    async def delete(self, who: Principal, survey_id: str) -> None:
        self._ministry(who, "Umfragen löscht")
        await self._survey(who, survey_id)
        self._recent.drop(survey_id)
        if not await self.repo.delete_draft(survey_id):
            raise Conflict("Nur Entwürfe können gelöscht werden.")

    async def publish(self, who: Principal, survey_id: str) -> c.Survey:
        self._ministry(who, "Umfragen veröffentlicht")
        doc = await self._survey(who, survey_id)
        if doc["status"] != "draft":
            raise Conflict("Die Umfrage ist bereits veröffentlicht.")
        now = _now()
        questions = _questions(doc)
        errors = rules.check_questions(questions)
        if not questions:
            errors.append(FieldError("questions", "Eine Umfrage braucht mindestens eine Frage."))
        if rules.aware(doc["closes_at"]) <= now:
            errors.append(FieldError("closes_at", "Das Ende liegt in der Vergangenheit."))
        if errors:
            raise Invalid("Die Umfrage kann so nicht veröffentlicht werden.", errors)
        audience = msgspec.convert(doc["audience"], c.Audience)
        addressed = await self.directory.addressees(audience, doc["respond_as"])
        if not addressed:
            raise Invalid(
                "Niemand ist angesprochen.",
                [FieldError("audience", "Diese Zielgruppe umfasst niemanden, der antworten kann.")],
            )
        person_level = doc["respond_as"] == "person"
        event = outbox_entry(
            c.EVENT_PUBLISHED,
            c.SurveyPublished(
                survey_id=survey_id,
                title=doc["title"],
                respond_as=doc["respond_as"],
                organisation_ids=sorted({a["organisation"]["id"] for a in addressed}),
                person_ids=[a["id"] for a in addressed] if person_level else [],
                opens_at=_opt(doc.get("opens_at")),
                closes_at=rules.aware(doc["closes_at"]),
                published_by=who.person_id,
            ),
            subject=f"surveys/{survey_id}",
        )
        fields = {
            "addressed": addressed,
            "addressed_keys": [a["id"] for a in addressed],
            "published_at": now,
            "published_by": who.person_id,
        }
        self._recent.drop(survey_id)
        if not await self.repo.publish(survey_id, int(doc.get("revision", 0)), fields, [event]):
            raise Conflict(
                "Die Umfrage wurde inzwischen geändert oder veröffentlicht. Bitte laden Sie sie neu."
            )
        self._schedule.changed()  # after the write: a read begun before it is not kept
        self.on_outbox(self.repo.surveys, survey_id, [event])
        return await self.get(who, survey_id)

    async def close(self, who: Principal, survey_id: str) -> c.Survey:
        self._ministry(who, "Umfragen schließt")
        doc = await self._survey(who, survey_id)
        if doc["status"] == "draft":
            raise Conflict("Ein Entwurf kann nicht geschlossen werden; löschen Sie ihn stattdessen.")
        if doc["status"] == "closed":
            raise Conflict("Die Umfrage ist bereits geschlossen.")
        await self._close(survey_id, reason="manual", by=who.person_id)
        return await self.get(who, survey_id)

    async def _close(self, survey_id: str, *, reason: str, by: str | None) -> None:
        """Once only, across instances: the milestone `<survey>:closed` carries the event."""
        doc = await self.repo.survey(survey_id)
        if doc is None or doc["status"] != "published":
            return
        now = _now()
        closed_at = now if reason == "manual" else min(now, rules.aware(doc["closes_at"]))
        submitted = len(await self.repo.submitted_of(survey_id))
        event = outbox_entry(
            c.EVENT_CLOSED,
            c.SurveyClosed(
                survey_id=survey_id,
                title=doc["title"],
                closed_at=closed_at,
                reason=reason,
                closed_by=by,
                addressed=len(doc.get("addressed_keys") or []),
                submitted=submitted,
            ),
            subject=f"surveys/{survey_id}",
        )
        mid = f"{survey_id}:closed"
        if await self.repo.insert_milestone(
            {"_id": mid, "survey_id": survey_id, "kind": "closed", "at": now, "outbox": [event]}
        ):
            self.on_outbox(self.repo.milestones, mid, [event])
            fields = {"closed_at": closed_at, "closed_by": by, "close_reason": reason}
        else:
            # closed before (possibly by another instance that stopped before this write)
            stored = await self.repo.milestone(mid)
            fields = {"closed_at": stored["at"] if stored else closed_at}
        self._recent.drop(survey_id)
        await self.repo.mark_closed(survey_id, fields)
        self._recent.drop(survey_id)
        self._schedule.changed()
        try:
            await self.repo.forget_drafts(survey_id)
        except PyMongoError as exc:  # tidying only: a left-over draft is never read again
            log.warning("drafts of closed survey %s not dropped: %r", survey_id, exc)

    # --- reading -----------------------------------------------------------------------

    async def get(self, who: Principal, survey_id: str) -> c.Survey:
        return (await self.get_for_page(who, survey_id, with_response=False)).survey

    async def get_for_page(
        self, who: Principal, survey_id: str, *, with_response: bool = True
    ) -> c.SurveyForPage:
        """The survey, and the caller's response if it is addressed to them: the answer page
        needs both, and the response is read once for its state and its answers."""
        doc = await self._survey(who, survey_id, recent=True)
        to_me = self._addressed(doc, who)
        mine: c.ResponseState = "none"
        stored: Document | None = None
        if to_me:
            stored = await self.repo.response(response_id(survey_id, self._key(doc, who)))
            mine = stored["state"] if stored else "none"
        survey = self._view(doc, _now(), mine=mine, to_me=to_me)
        response = (
            self._response_view(doc, stored, who, survey.questions) if to_me and with_response else None
        )
        return c.SurveyForPage(survey=survey, response=response)

    async def list_surveys(self, who: Principal, req: c.ListSurveys) -> c.SurveyPage:
        now = _now()
        if who.is_ministry:
            docs = await self.repo.surveys_all()
        else:
            docs = await self.repo.surveys_for([who.organisation_id, who.person_id])
        docs = [d for d in docs if req.state is None or state_of(d, now) == req.state]
        docs.sort(key=lambda d: (rules.aware(d["created_at"]), d["_id"]), reverse=True)
        if req.cursor:
            ids = [d["_id"] for d in docs]
            docs = docs[ids.index(req.cursor) + 1 :] if req.cursor in ids else []
        page = docs[: req.limit]
        keys = {
            d["_id"]: response_id(d["_id"], self._key(d, who))
            for d in page
            if d["status"] != "draft" and self._key(d, who) in (d.get("addressed_keys") or [])
        }
        states = await self.repo.response_states(list(keys.values())) if keys else {}
        items = [
            self._view(
                d,
                now,
                to_me=d["_id"] in keys,
                mine=states.get(keys.get(d["_id"], ""), "none"),  # type: ignore[arg-type]
            )
            for d in page
        ]
        more = len(docs) > req.limit
        return c.SurveyPage(items=items, next_cursor=page[-1]["_id"] if more and page else None)

    # --- answering ---------------------------------------------------------------------

    async def _answering(self, who: Principal, survey_id: str) -> tuple[Document, str]:
        """The survey and the caller's response id, if the caller may write it now."""
        doc = await self._survey(who, survey_id, recent=True)
        if not self._addressed(doc, who):
            raise Forbidden("Diese Umfrage richtet sich nicht an Sie oder Ihre Kommune.")
        self._writable(doc)
        return doc, response_id(survey_id, self._key(doc, who))

    @staticmethod
    def _writable(doc: Document) -> None:
        state = state_of(doc, _now())
        if state == "closed":
            raise Conflict("Die Umfrage ist geschlossen; Antworten lassen sich nicht mehr ändern.")
        if state == "scheduled":
            raise Conflict("Die Umfrage beginnt erst später.")

    def _response_view(
        self,
        doc: Document,
        stored: Document | None,
        who: Principal,
        questions: list[c.Question] | None = None,
    ) -> c.Response:
        questions = self._derived.of(doc)[0] if questions is None else questions
        state: c.ResponseState = stored["state"] if stored else "none"
        answers = dict(stored.get("answers") or {}) if stored else {}
        org = stored["organisation"] if stored else None
        person = stored.get("person") if stored else None
        if org is None:
            addressee = self._derived.of(doc)[1].get(self._key(doc, who))
            org = addressee["organisation"] if addressee else None
            person = addressee.get("person") if addressee else None
        return c.Response(
            survey_id=doc["_id"],
            id=stored["_id"] if stored else None,
            state=state,
            organisation=progress.org_ref(org) if org else None,
            person=progress.person_ref(person),
            answers=answers,
            hidden=rules.hidden(questions, answers),
            updated_by=_saver(stored.get("updated_by")) if stored else None,
            updated_at=_opt(stored.get("updated_at")) if stored else None,
            submitted_by=_saver(stored.get("submitted_by")) if stored and state == "submitted" else None,
            submitted_at=_opt(stored.get("submitted_at")) if stored and state == "submitted" else None,
            can_edit=state_of(doc, _now()) == "open" and state != "submitted",
        )

    async def response(self, who: Principal, survey_id: str) -> c.Response:
        doc = await self._read(survey_id, recent=True)
        if doc is None or doc["status"] == "draft":
            raise NotFound("Diese Umfrage gibt es nicht.")
        if not self._addressed(doc, who):
            raise Forbidden("Diese Umfrage richtet sich nicht an Sie oder Ihre Kommune.")
        stored = await self.repo.response(response_id(survey_id, self._key(doc, who)))
        return self._response_view(doc, stored, who)

    def _base(self, doc: Document, who: Principal) -> Document:
        addressee = self._derived.of(doc)[1][self._key(doc, who)]
        return {
            "survey_id": doc["_id"],
            "respondent_id": addressee["id"],
            "organisation": addressee["organisation"],
            "person": addressee.get("person"),
            "created_at": _now(),
        }

    async def save(self, who: Principal, req: c.SaveResponse) -> c.Response:
        doc, rid = await self._answering(who, req.survey_id)
        questions = self._derived.of(doc)[0]
        errors = rules.check_answers(questions, req.answers, complete=False)
        if errors:
            raise Invalid("Einige Antworten sind so nicht möglich.", errors)
        saver = {"id": who.person_id, "name": await self.directory.name_of(who)}
        fields = {
            "answers": rules.clean_draft(questions, req.answers),
            "updated_by": saver,
            "updated_at": _now(),
        }
        # read, check and write one after the other under the lock (see __init__); the answer
        # is built from what was written, not read back
        async with self._lock(rid) as held:
            stored = await self._stored(rid, held)
            if stored is not None and stored["state"] != "draft":
                raise Conflict(
                    "Die Antwort ist bereits eingereicht. Öffnen Sie sie erneut, um sie zu ändern."
                )
            written = await self.repo.save_draft(rid, stored, self._base(doc, who), fields)
            self._wrote(rid, held, written)
        if written is None:
            raise Conflict(RACED)
        return self._response_view(doc, written, who)

    async def submit(self, who: Principal, req: c.SubmitResponse) -> c.Response:
        doc, rid = await self._answering(who, req.survey_id)
        saver = {"id": who.person_id, "name": await self.directory.name_of(who)}
        async with self._lock(rid) as held:
            stored = await self._stored(rid, held)
            written, event = await self._submit(doc, rid, stored, req, who, saver)
            self._wrote(rid, held, written)
        self.on_outbox(self.repo.responses, rid, [event])
        return self._response_view(doc, written, who)

    async def _submit(
        self,
        doc: Document,
        rid: str,
        stored: Document | None,
        req: c.SubmitResponse,
        who: Principal,
        saver: Document,
    ) -> tuple[Document, Document]:
        """The submission, written under the response's lock: the stored response and its event."""
        if stored and stored["state"] == "submitted":
            raise Conflict("Die Antwort ist bereits eingereicht.")
        questions = self._derived.of(doc)[0]
        answers = (
            req.answers if req.answers is not None else dict(stored.get("answers") or {}) if stored else {}
        )
        errors = rules.check_answers(questions, answers, complete=True)
        if errors:
            raise Invalid("Bitte prüfen Sie die markierten Antworten.", errors)
        now = _now()
        base = self._base(doc, who)
        event = outbox_entry(
            c.EVENT_SUBMITTED,
            c.ResponseSubmitted(
                survey_id=doc["_id"],
                response_id=rid,
                organisation_id=base["organisation"]["id"],
                person_id=base["person"]["id"] if base.get("person") else None,
                submitted_by=who.person_id,
            ),
            subject=f"surveys/{doc['_id']}",
        )
        fields = {
            "answers": rules.clean_submission(questions, answers),
            "updated_by": saver,
            "updated_at": now,
            "submitted_by": saver,
            "submitted_at": now,
        }
        written = await self.repo.submit(rid, stored, base, fields, [event])
        if written is None:
            raise Conflict(RACED)
        return written, event

    async def reopen(self, who: Principal, survey_id: str) -> c.Response:
        doc, rid = await self._answering(who, survey_id)
        stored = await self.repo.response(rid)
        if stored is None or stored["state"] != "submitted":
            raise Conflict("Nur eine eingereichte Antwort kann wieder geöffnet werden.")
        event = outbox_entry(
            c.EVENT_REOPENED,
            c.ResponseReopened(
                survey_id=survey_id,
                response_id=rid,
                organisation_id=stored["organisation"]["id"],
                person_id=stored["person"]["id"] if stored.get("person") else None,
                by=who.person_id,
            ),
            subject=f"surveys/{survey_id}",
        )
        fields = {"reopened_at": _now(), "reopened_by": who.person_id}
        async with self._lock(rid) as held:
            current = await self._stored(rid, held)
            if current is None or current["state"] != "submitted":
                raise Conflict("Nur eine eingereichte Antwort kann wieder geöffnet werden.")
            written = await self.repo.reopen(rid, current, fields, [event])
            self._wrote(rid, held, written)
        self.on_outbox(self.repo.responses, rid, [event])
        return self._response_view(doc, written, who)

    # --- progress and reminders --------------------------------------------------------

    async def _responses_by_respondent(self, survey_id: str) -> dict[str, Document]:
        return {r["respondent_id"]: r for r in await self.repo.responses_of(survey_id)}

    async def progress(self, who: Principal, survey_id: str) -> c.Progress:
        self._ministry(who, "Den Fortschritt sieht")
        doc = await self._survey(who, survey_id)
        if doc["status"] == "draft":
            raise Conflict("Ein Entwurf hat noch keinen Fortschritt.")
        return progress.progress(
            survey_id,
            doc["respond_as"],
            doc.get("addressed") or [],
            await self._responses_by_respondent(survey_id),
            [rules.aware(t) for t in await self.repo.reminder_times(survey_id)],
        )

    async def remind(self, who: Principal, survey_id: str) -> c.ReminderResult:
        self._ministry(who, "Erinnerungen verschickt")
        doc = await self._survey(who, survey_id)
        if state_of(doc, _now()) != "open":
            raise Conflict("Erinnern lässt sich nur an eine laufende Umfrage.")
        orgs, people, drafts = progress.missing_ids(
            doc.get("addressed") or [], await self._responses_by_respondent(survey_id)
        )
        result = c.ReminderResult(
            survey_id=survey_id, reminded=len(people) or len(orgs), organisation_ids=orgs, person_ids=people
        )
        if not orgs:
            return result
        event = outbox_entry(
            c.EVENT_REMINDER,
            c.ReminderRequested(
                survey_id=survey_id,
                title=doc["title"],
                closes_at=rules.aware(doc["closes_at"]),
                respond_as=doc["respond_as"],
                organisation_ids=orgs,
                person_ids=people,
                drafts=drafts,
                requested_by=who.person_id,
            ),
            subject=f"surveys/{survey_id}",
        )
        rid = f"{survey_id}:{event['id']}"
        await self.repo.insert_reminder(
            {
                "_id": rid,
                "survey_id": survey_id,
                "at": _now(),
                "by": who.person_id,
                "count": result.reminded,
                "outbox": [event],
            }
        )
        self.on_outbox(self.repo.reminders, rid, [event])
        return result

    # --- deadlines ---------------------------------------------------------------------

    async def run_deadlines(self, now: datetime | None = None, *, recent: bool = False) -> None:
        """Close surveys whose time is up; state "closing soon" once, `closing_soon` before the
        end, for surveys published before that window began (a survey published with less time
        left was just announced). `recent`: the published surveys as read within
        SCHEDULE_SECONDS will do, unless one was published or closed since (the deadline task)."""
        now = now or _now()
        published = await self._published(recent=recent)
        for doc in published:
            if rules.aware(doc["closes_at"]) <= now:
                await self._close(doc["_id"], reason="deadline", by=None)
        due = [
            d
            for d in published
            if rules.aware(d["closes_at"]) - self.closing_soon <= now < rules.aware(d["closes_at"])
            and rules.aware(d.get("published_at") or d["created_at"])
            <= rules.aware(d["closes_at"]) - self.closing_soon
            and state_of(d, now) == "open"
        ]
        if not due:
            return
        done = await self.repo.milestone_ids([f"{d['_id']}:closing_soon" for d in due])
        for doc in due:
            if f"{doc['_id']}:closing_soon" not in done:
                await self._closing_soon(doc["_id"])

    async def _published(self, *, recent: bool) -> list[Document]:
        """The deadline fields of the published surveys. Reading them is a scan of every survey
        ever made, each converted whole with its addressees (~50 KB for 218 Kommunen, ~20 ms of
        FerretDB's CPU each): every five seconds and instance, that grew with the surveys of
        the years. Their deadlines never change once published, so a list read minutes ago
        only lacks what was published or closed since, and that clears it."""

        async def load() -> list[Document]:
            fields = ("_id", "status", "closes_at", "opens_at", "published_at", "created_at")
            return [{k: d[k] for k in fields if k in d} for d in await self.repo.surveys_published()]

        return await self._schedule.get(load, recent=recent)

    async def _closing_soon(self, survey_id: str) -> None:
        doc = await self.repo.survey(survey_id)
        if doc is None or doc["status"] != "published":  # the list may be minutes old
            return
        orgs, people, drafts = progress.missing_ids(
            doc.get("addressed") or [], await self._responses_by_respondent(survey_id)
        )
        event = outbox_entry(
            c.EVENT_CLOSING_SOON,
            c.ClosingSoon(
                survey_id=survey_id,
                title=doc["title"],
                closes_at=rules.aware(doc["closes_at"]),
                respond_as=doc["respond_as"],
                organisation_ids=orgs,
                person_ids=people,
                drafts=drafts,
                lead_seconds=int(self.closing_soon.total_seconds()),
            ),
            subject=f"surveys/{survey_id}",
        )
        mid = f"{survey_id}:closing_soon"
        if await self.repo.insert_milestone(
            {"_id": mid, "survey_id": survey_id, "kind": "closing_soon", "at": _now(), "outbox": [event]}
        ):
            self.on_outbox(self.repo.milestones, mid, [event])

    # --- results and exports -----------------------------------------------------------

    async def _readable_results(self, who: Principal, survey_id: str) -> Document:
        doc = await self._survey(who, survey_id)
        if doc["status"] == "draft":
            raise Conflict("Ein Entwurf hat noch keine Ergebnisse.")
        if not who.is_ministry and state_of(doc, _now()) != "closed":
            raise Forbidden("Die Ergebnisse sehen Sie, sobald die Umfrage geschlossen ist.")
        return doc

    async def _submitted(self, survey_id: str, landkreis: str | None, kind: str | None) -> list[Document]:
        found = await self.repo.submitted_of(survey_id)
        found = [
            r
            for r in found
            if (landkreis is None or r["organisation"].get("kreis") == landkreis)
            and (kind is None or r["organisation"].get("kind") == kind)
        ]
        found.sort(
            key=lambda r: (r["organisation"].get("kreis_name") or "", r["organisation"]["name"], r["_id"])
        )
        return found

    @staticmethod
    def _who_answered(doc: Document, r: Document, viewer: Principal) -> str | None:
        if doc.get("anonymous") or not viewer.is_ministry:
            return None
        person = r.get("person")
        return f"{person['name']} ({r['organisation']['name']})" if person else str(r["organisation"]["name"])

    async def results(self, who: Principal, req: c.GetResults) -> c.Results:
        doc = await self._readable_results(who, req.survey_id)
        found = await self._submitted(req.survey_id, req.landkreis, req.kind)
        answered = [
            statistics.Answered(r.get("answers") or {}, self._who_answered(doc, r, who)) for r in found
        ]
        return c.Results(
            survey_id=req.survey_id,
            title=doc["title"],
            state=state_of(doc, _now()),
            addressed=len(doc.get("addressed_keys") or []),
            responses=len(found),
            landkreis=req.landkreis,
            kind=req.kind,
            anonymous=bool(doc.get("anonymous")) or not who.is_ministry,
            questions=statistics.results(_questions(doc), answered),
        )

    async def export(self, who: Principal, req: c.ExportResults) -> c.ExportFile:
        self._ministry(who, "Exportieren darf")
        doc = await self._readable_results(who, req.survey_id)
        found = await self._submitted(req.survey_id, req.landkreis, req.kind)
        with_person = doc["respond_as"] == "person" and not doc.get("anonymous")
        rows = [
            exports.Row(
                organisation=r["organisation"],
                person=(r.get("person") or {}).get("name") if with_person else None,
                submitted_at=_opt(r.get("submitted_at")),
                answers=r.get("answers") or {},
            )
            for r in found
        ]
        questions = _questions(doc)
        head, body = exports.table(questions, rows, with_person=with_person)
        stem = f"umfrage-{req.survey_id}"
        if req.format == "csv":
            return c.ExportFile(
                filename=f"{stem}.csv",
                media_type="text/csv; charset=utf-8",
                content=exports.to_csv(head, body),
            )
        return c.ExportFile(
            filename=f"{stem}.xlsx",
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            content=exports.to_xlsx(head, body, questions, doc["title"]),
        )
