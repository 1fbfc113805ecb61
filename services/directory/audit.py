"""The audit trail: who changed what and when, derived from the event stream.

A part of the directory because the directory knows who people are (the page shows names)
and is the service an admin already relies on; it reads only the stream, never another
service's database. One document per event id, so a redelivered event is stored once.
Events that record a ministry (or moderator, or admin) decision are audited; a type joins the
trail by being listed in `AUDITED` and naming its actor in one of `ACTOR_FIELDS`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from pymongo.errors import DuplicateKeyError

from services.contracts import privacy as p
from services.contracts.envelope import ROLE_ADMIN, Event, Principal
from services.runtime import privacy
from services.runtime.consumer import Permanent
from services.runtime.errors import Forbidden, Invalid, field
from services.runtime.mongo import AsyncDatabase, Document

# a type joins the trail by being listed in `privacy.AUDITED` (with its German label)
AUDITED = p.AUDITED

# the first of these present in an event's data names who acted
ACTOR_FIELDS = (
    "by",
    "changed_by",
    "published_by",
    "closed_by",
    "created_by",
    "requested_by",
    "deleted_by",
    "selected_by",
)
# never copied into the trail: secrets, personal data and long lists of addressees
_NOT_DETAILS = frozenset(
    {"token", "email", "name", "organisation_ids", "person_ids", "drafts", "ranking", "options", "type"}
)
_MAX_DETAIL_LIST = 50


# an event's data comes from the stream: only plain field names and values that any store can
# hold go into the trail (FerretDB refuses `.`/`$` in keys, BSON has no integers beyond 64 bits)
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_MAX_TEXT = 500


def _storable(value: Any) -> bool:
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    return isinstance(value, str | float)


def _details(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if not _KEY.match(key) or key in _NOT_DETAILS or key in ACTOR_FIELDS or key.endswith("_sha256"):
            continue
        if isinstance(value, str):
            out[key] = value[:_MAX_TEXT]
        elif _storable(value):
            out[key] = value
        elif isinstance(value, list) and all(isinstance(v, str | int) and _storable(v) for v in value):
            out[key] = [v[:_MAX_TEXT] if isinstance(v, str) else v for v in value[:_MAX_DETAIL_LIST]]
    return out


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class AuditLog:
    durable = "directory-audit"
    event_types = tuple(AUDITED)

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.entries = db["audit"]
        self.people = db["people"]

    async def create_indexes(self) -> None:
        await self.entries.create_index([("at", -1)])

    async def __call__(self, event: Event) -> None:
        try:
            data = msgspec.json.decode(event.data)
        except msgspec.DecodeError as exc:  # (bytes that are not UTF-8: the consumer parks them)
            raise Permanent(f"unlesbare Daten: {exc}") from exc
        if not isinstance(data, dict):
            raise Permanent("Daten sind kein Objekt")
        actor = next((data[f][:_MAX_TEXT] for f in ACTOR_FIELDS if isinstance(data.get(f), str)), None)
        doc: Document = {
            "_id": event.id,
            "action": event.type,
            "actor": actor,
            "object": event.subject,
            "title": data["title"][:_MAX_TEXT] if isinstance(data.get("title"), str) else None,
            "details": _details(data),
            "at": _aware(event.time),
            "source": event.source,
            "recorded_at": datetime.now(UTC),
        }
        deleted: p.PersonDeleted | None = None
        if event.type == p.EVENT_PERSON_DELETED:
            # the trail is read in stream order, so every entry about the person is in it by now:
            # this entry and those get the pseudonym, whenever the privacy consumer runs
            try:
                deleted = msgspec.convert(data, p.PersonDeleted)
            except msgspec.ValidationError as exc:
                raise Permanent(f"person.deleted unlesbar: {exc}") from exc
            doc = privacy.Match(
                person_id=deleted.person_id,
                pseudonym=deleted.pseudonym,
                email_sha256=deleted.email_sha256,
                name_sha256=deleted.name_sha256,
            ).scrub(doc)[0]
        try:
            await self.entries.insert_one(doc)
        except DuplicateKeyError:
            pass  # the same event again: the trail has it already
        if deleted is not None:
            await privacy.PersonalData(self.entries.database, privacy.Policy(service="directory")).erase(
                deleted, only=(self.entries.name,)
            )

    async def query(self, caller: Principal, q: p.AuditQuery) -> p.AuditPage:
        if not caller.has_any(ROLE_ADMIN):
            raise Forbidden("Das Protokoll sehen nur Administratorinnen und Administratoren.")
        filters: Document = {}
        if q.action:
            filters["action"] = q.action
        if q.actor:
            filters["actor"] = q.actor
        since = _day(q.since, "since") if q.since else None
        until = _day(q.until, "until") + timedelta(days=1) if q.until else None
        if since and until and until <= since:
            raise Invalid(
                "Der Zeitraum ist leer.", [field("until", "Das Ende liegt vor dem Anfang des Zeitraums.")]
            )
        docs = await self.entries.find(filters).to_list(None)
        docs = [
            d
            for d in docs
            if (since is None or _aware(d["at"]) >= since) and (until is None or _aware(d["at"]) < until)
        ]
        docs.sort(key=lambda d: (_aware(d["at"]), d["_id"]), reverse=True)
        if q.cursor:
            ids = [d["_id"] for d in docs]
            docs = docs[ids.index(q.cursor) + 1 :] if q.cursor in ids else []
        page = docs[: q.limit]
        actor_ids = sorted({d["actor"] for d in page if d.get("actor")})
        names = (
            {d["_id"]: d["name"] async for d in self.people.find({"_id": {"$in": actor_ids}}, {"name": 1})}
            if actor_ids
            else {}
        )
        items = [
            p.AuditEntry(
                id=d["_id"],
                action=d["action"],
                actor=d.get("actor"),
                actor_name=names.get(d.get("actor") or ""),
                object=d.get("object"),
                title=d.get("title"),
                details=d.get("details") or {},
                at=_aware(d["at"]),
                source=d.get("source", ""),
            )
            for d in page
        ]
        more = len(docs) > q.limit
        return p.AuditPage(
            items=items, next_cursor=page[-1]["_id"] if more and page else None, actions=sorted(AUDITED)
        )


def _day(value: str, name: str) -> datetime:
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError as exc:
        raise Invalid("Ungültiges Datum.", [field(name, "Kein gültiges Datum (JJJJ-MM-TT).")]) from exc
