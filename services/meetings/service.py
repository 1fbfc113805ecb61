"""Rules of meetings: who may plan them, their checks, registrations, feeds, reminders.

No transport code. Recurrence lives in `recurrence.py`, the iCalendar text in `ical.py`.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from services.contracts import meetings as c
from services.contracts.envelope import FieldError, Principal
from services.meetings import ical
from services.meetings import recurrence as r
from services.meetings.peers import Peers
from services.meetings.repository import MeetingsRepository
from services.runtime.errors import Conflict, Forbidden, Invalid, NotFound, field
from services.runtime.events import OutboxHook, ignore_outbox, outbox_entry
from services.runtime.mongo import Document

DEFAULT_REMINDER_LEAD = timedelta(hours=24)
# a registration guard this old without a registration belongs to a request that died midway
GUARD_LEASE = timedelta(seconds=30)


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def may_plan(who: Principal) -> bool:
    """Ministry (and admins) and Digital-Lotsen plan meetings; members register for them."""
    return who.is_ministry or who.has_any("lotse")


class MeetingsService:
    def __init__(
        self,
        repo: MeetingsRepository,
        peers: Peers,
        *,
        public_url: str,
        reminder_lead: timedelta = DEFAULT_REMINDER_LEAD,
    ) -> None:
        self.repo = repo
        self.peers = peers
        self.public_url = public_url
        self.reminder_lead = reminder_lead
        self.on_outbox: OutboxHook = ignore_outbox

    # checks ---------------------------------------------------------------------------

    async def _checked(self, who: Principal, req: c.MeetingFields) -> tuple[Document, str | None]:
        """The stored fields of a valid request, and the AG's name; every problem at once."""
        problems: list[FieldError] = []
        start: datetime | None = None
        try:
            start = r.parse_local(req.start)
        except ValueError:
            problems.append(field("start", "Kein gültiges Datum mit Uhrzeit."))
        rule: str | None = None
        exdates: list[str] = []
        if start is not None and req.rrule is not None and req.rrule.strip():
            try:
                rule = r.normalise_rule(req.rrule, start)
            except r.RuleError as exc:
                problems.append(field(exc.field, exc.message))
        if start is not None and req.exdates:
            if rule is None and not problems:
                problems.append(field("exdates", "Ausnahmen gibt es nur bei wiederkehrenden Terminen."))
            elif rule is not None:
                known = {r.key_of(s) for s in r.starts(start, rule)}
                for raw in req.exdates:
                    try:
                        key = r.key_of(r.parse_local(raw))
                    except ValueError:
                        problems.append(field("exdates", f"„{raw}“ ist kein gültiges Datum."))
                        continue
                    if key not in known:
                        problems.append(
                            field("exdates", f"Am {raw.replace('T', ' um ')} liegt kein Termin der Serie.")
                        )
                    elif key not in exdates:
                        exdates.append(key)
                if len(exdates) >= len(known):
                    problems.append(field("exdates", "Die Ausnahmen dürfen nicht alle Termine entfernen."))
        location = (req.location or "").strip() or None
        if location is None and req.online_url is None:
            problems.append(field("location", "Bitte geben Sie einen Ort oder einen Online-Link an."))
        group_name: str | None = None
        if req.group_id is not None:
            groups = await self.peers.groups(who)
            if req.group_id not in groups:
                problems.append(field("group_id", "Diese AG gibt es nicht."))
            group_name = groups.get(req.group_id)
        if req.poll_id is not None and not await self.peers.poll_exists(who, req.poll_id):
            problems.append(field("poll_id", "Diese Abstimmung gibt es nicht."))
        if problems:
            raise Invalid("Der Termin kann so nicht gespeichert werden.", problems)
        assert start is not None
        return (
            {
                "title": req.title.strip(),
                "agenda": req.agenda.strip(),
                "start": r.format_local(start),
                "duration_minutes": req.duration_minutes,
                "rrule": rule,
                "exdates": sorted(exdates),
                "location": location,
                "online_url": req.online_url,
                "group_id": req.group_id,
                "group_name": group_name,
                "capacity": req.capacity,
                "poll_id": req.poll_id,
            },
            group_name,
        )

    def _require_planner(self, who: Principal) -> None:
        if not may_plan(who):
            raise Forbidden("Termine planen nur das Ministerium und die Digital-Lotsen.")

    async def _doc(self, meeting_id: str) -> Document:
        doc = await self.repo.meeting(meeting_id)
        if doc is None:
            raise NotFound("Diesen Termin gibt es nicht.")
        return doc

    # planning -------------------------------------------------------------------------

    async def create(self, who: Principal, req: c.CreateMeeting) -> c.Meeting:
        self._require_planner(who)
        fields, _ = await self._checked(who, req)
        now = _now()
        meeting_id = uuid.uuid4().hex[:16]
        event = outbox_entry(
            c.EVENT_CREATED,
            c.MeetingCreated(
                meeting_id=meeting_id,
                title=fields["title"],
                start=fields["start"],
                starts_at=r.aware(r.parse_local(fields["start"])),
                rrule=fields["rrule"],
                group_id=fields["group_id"],
                by=who.person_id,
            ),
            subject=f"meetings/{meeting_id}",
        )
        doc: Document = {
            "_id": meeting_id,
            **fields,
            "cancelled": False,
            "cancel_reason": None,
            "cancellations": {},
            "moved": {},
            "sequence": 0,
            "created_by": who.person_id,
            "created_at": now,
            "updated_at": now,
            "outbox": [event],
        }
        await self.repo.insert_meeting(doc)
        self.on_outbox(self.repo.meetings, meeting_id, [event])
        return await self.get(who, c.GetMeeting(id=meeting_id))

    async def update(self, who: Principal, req: c.UpdateMeeting) -> c.Meeting:
        self._require_planner(who)
        doc = await self._doc(req.id)
        if doc.get("cancelled"):
            raise Conflict("Der Termin ist abgesagt und kann nicht mehr geändert werden.")
        fields, _ = await self._checked(who, req)
        registered = await self.repo.registrations_of(req.id)
        if fields["capacity"] is not None and len(registered) > fields["capacity"]:
            raise Invalid(
                "Der Termin kann so nicht gespeichert werden.",
                [field("capacity", f"Es sind schon {len(registered)} Personen angemeldet.")],
            )
        if (doc.get("capacity") is None) != (fields["capacity"] is None) and registered:
            # seats and open registrations have different ids; switching would need a migration
            raise Conflict(
                "Die Art der Anmeldung (mit/ohne Platzzahl) lässt sich nach Anmeldungen nicht mehr ändern."
            )
        # exceptions of occurrences the new rule no longer has are dropped with it
        keys = {r.key_of(s) for s in r.starts(r.parse_local(fields["start"]), fields["rrule"])}
        changes = {
            **fields,
            "cancellations": {k: v for k, v in (doc.get("cancellations") or {}).items() if k in keys},
            "moved": {k: v for k, v in (doc.get("moved") or {}).items() if k in keys},
            "sequence": int(doc.get("sequence", 0)) + 1,
            "updated_at": _now(),
        }
        event = outbox_entry(
            c.EVENT_CHANGED,
            c.MeetingChanged(
                meeting_id=req.id,
                title=fields["title"],
                starts_at=r.aware(r.parse_local(fields["start"])),
                group_id=fields["group_id"],
                registered=sorted({g["person_id"] for g in registered}),
                by=who.person_id,
            ),
            subject=f"meetings/{req.id}",
        )
        return await self._change(who, req.id, changes, event)

    async def _change(self, who: Principal, meeting_id: str, changes: Document, event: Document) -> c.Meeting:
        """Write a change with its event in the meeting's outbox, publish it, answer the new state."""
        await self.repo.update_meeting(meeting_id, changes, [event])
        self.on_outbox(self.repo.meetings, meeting_id, [event])
        return await self.get(who, c.GetMeeting(id=meeting_id))

    async def cancel_occurrence(self, who: Principal, req: c.CancelOccurrence) -> c.Meeting:
        self._require_planner(who)
        doc = await self._doc(req.id)
        series = ical.series_of(doc)
        if not series.has(req.occurrence):
            raise NotFound("Diesen Termin gibt es in der Serie nicht.")
        if req.occurrence in series.cancelled:
            raise Conflict("Dieser Termin ist schon abgesagt.")
        occ = next(o for o in series.occurrences() if o.key == req.occurrence)
        registered = await self.repo.registrations_of(req.id)
        event = outbox_entry(
            c.EVENT_OCCURRENCE_CANCELLED,
            c.OccurrenceCancelled(
                meeting_id=req.id,
                title=doc["title"],
                occurrence=req.occurrence,
                starts_at=occ.start,
                reason=req.reason.strip(),
                group_id=doc.get("group_id"),
                registered=sorted({g["person_id"] for g in registered}),
                by=who.person_id,
            ),
            subject=f"meetings/{req.id}",
        )
        cancellations = dict(doc.get("cancellations") or {})
        cancellations[req.occurrence] = {"reason": req.reason.strip(), "by": who.person_id, "at": _now()}
        changes = {
            "cancellations": cancellations,
            "sequence": int(doc.get("sequence", 0)) + 1,
            "updated_at": _now(),
        }
        return await self._change(who, req.id, changes, event)

    async def move_occurrence(self, who: Principal, req: c.MoveOccurrence) -> c.Meeting:
        self._require_planner(who)
        doc = await self._doc(req.id)
        series = ical.series_of(doc)
        if not series.has(req.occurrence):
            raise NotFound("Diesen Termin gibt es in der Serie nicht.")
        if req.occurrence in series.cancelled:
            raise Conflict("Ein abgesagter Termin kann nicht verschoben werden.")
        try:
            new_start = r.parse_local(req.start)
        except ValueError as exc:
            raise Invalid("Ungültige Eingaben", [field("start", "Kein gültiges Datum mit Uhrzeit.")]) from exc
        duration = req.duration_minutes or int(doc["duration_minutes"])
        registered = await self.repo.registrations_of(req.id)
        event = outbox_entry(
            c.EVENT_OCCURRENCE_MOVED,
            c.OccurrenceMoved(
                meeting_id=req.id,
                title=doc["title"],
                occurrence=req.occurrence,
                starts_at=r.aware(new_start),
                original_starts_at=r.aware(r.from_key(req.occurrence)),
                group_id=doc.get("group_id"),
                registered=sorted({g["person_id"] for g in registered}),
                by=who.person_id,
            ),
            subject=f"meetings/{req.id}",
        )
        moved = dict(doc.get("moved") or {})
        moved[req.occurrence] = {
            "start": r.format_local(new_start),
            "duration_minutes": duration,
            "by": who.person_id,
        }
        changes = {"moved": moved, "sequence": int(doc.get("sequence", 0)) + 1, "updated_at": _now()}
        return await self._change(who, req.id, changes, event)

    async def cancel(self, who: Principal, req: c.CancelMeeting) -> c.Meeting:
        self._require_planner(who)
        doc = await self._doc(req.id)
        if doc.get("cancelled"):
            raise Conflict("Der Termin ist schon abgesagt.")
        registered = await self.repo.registrations_of(req.id)
        event = outbox_entry(
            c.EVENT_CANCELLED,
            c.MeetingCancelled(
                meeting_id=req.id,
                title=doc["title"],
                reason=req.reason.strip(),
                group_id=doc.get("group_id"),
                registered=sorted({g["person_id"] for g in registered}),
                by=who.person_id,
            ),
            subject=f"meetings/{req.id}",
        )
        changes = {
            "cancelled": True,
            "cancel_reason": req.reason.strip(),
            "sequence": int(doc.get("sequence", 0)) + 1,
            "updated_at": _now(),
        }
        return await self._change(who, req.id, changes, event)

    # reading --------------------------------------------------------------------------

    def _occurrence(self, doc: Document, occ: r.Occ) -> c.Occurrence:
        return c.Occurrence(
            meeting_id=doc["_id"],
            key=occ.key,
            starts_at=occ.start,
            ends_at=occ.end,
            status="cancelled" if doc.get("cancelled") else occ.status,  # type: ignore[arg-type]
            reason=doc.get("cancel_reason") if doc.get("cancelled") else occ.reason,
            title=doc["title"],
            group_id=doc.get("group_id"),
        )

    def _view(
        self, who: Principal, doc: Document, registrations: Sequence[Document], upcoming: int
    ) -> c.Meeting:
        series = ical.series_of(doc)
        now = _now()
        future = [o for o in series.occurrences(after=now)][:upcoming]
        exceptions = [o for o in series.occurrences() if o.status != "scheduled"]
        capacity = doc.get("capacity")
        return c.Meeting(
            id=doc["_id"],
            title=doc["title"],
            agenda=doc.get("agenda") or "",
            start=doc["start"],
            duration_minutes=int(doc["duration_minutes"]),
            rrule=doc.get("rrule"),
            exdates=[r.format_local(r.from_key(k)) for k in doc.get("exdates") or []],
            location=doc.get("location"),
            online_url=doc.get("online_url"),
            group_id=doc.get("group_id"),
            group_name=doc.get("group_name"),
            capacity=capacity,
            poll_id=doc.get("poll_id"),
            cancelled=bool(doc.get("cancelled")),
            cancel_reason=doc.get("cancel_reason"),
            sequence=int(doc.get("sequence", 0)),
            created_by=doc["created_by"],
            created_at=_aware(doc["created_at"]),
            updated_at=_aware(doc["updated_at"]),
            registrations=len(registrations),
            seats_left=None if capacity is None else max(0, capacity - len(registrations)),
            registered=any(g["person_id"] == who.person_id for g in registrations),
            can_edit=may_plan(who),
            upcoming=[self._occurrence(doc, o) for o in future],
            exceptions=[self._occurrence(doc, o) for o in exceptions],
        )

    async def get(self, who: Principal, req: c.GetMeeting) -> c.Meeting:
        doc = await self._doc(req.id)
        return self._view(who, doc, await self.repo.registrations_of(req.id), req.upcoming)

    async def list_meetings(self, who: Principal, req: c.ListMeetings) -> c.MeetingPage:
        docs = await self.repo.all_meetings()
        per_meeting: defaultdict[str, list[Document]] = defaultdict(list)
        for g in await self.repo.all_registrations():
            per_meeting[g["meeting_id"]].append(g)
        if req.group_id is not None:
            docs = [d for d in docs if d.get("group_id") == req.group_id]
        if req.mine:
            groups = set(await self.peers.groups_of(who))
            docs = [
                d
                for d in docs
                if d.get("group_id") in groups
                or any(g["person_id"] == who.person_id for g in per_meeting[d["_id"]])
            ]
        views = [self._view(who, d, per_meeting[d["_id"]], 3) for d in docs]
        far = datetime.max.replace(tzinfo=UTC)
        views.sort(key=lambda m: (m.upcoming[0].starts_at if m.upcoming else far, m.title, m.id))
        return c.MeetingPage(items=views)

    async def occurrences(self, who: Principal, req: c.ListOccurrences) -> c.OccurrencePage:
        begin = _aware(req.start) if req.start else _now()
        end = begin + timedelta(days=req.days)
        items: list[c.Occurrence] = []
        for doc in await self.repo.all_meetings():
            if req.group_id is not None and doc.get("group_id") != req.group_id:
                continue
            for occ in ical.series_of(doc).occurrences(after=begin, before=end):
                items.append(self._occurrence(doc, occ))
        items.sort(key=lambda o: (o.starts_at, o.title, o.meeting_id))
        return c.OccurrencePage(items=items[: req.limit])

    async def stats(self, who: Principal, req: c.StatsRequest) -> c.MeetingStats:
        now = _now()
        held = 0
        upcoming = 0
        by_group: Counter[str] = Counter()
        for doc in await self.repo.all_meetings():
            if doc.get("cancelled"):
                continue
            for occ in ical.series_of(doc).occurrences():
                if occ.status == "cancelled":
                    continue
                if occ.end <= now:
                    held += 1
                    if doc.get("group_id"):
                        by_group[doc["group_id"]] += 1
                elif occ.start > now:
                    upcoming += 1
        registrations = len(await self.repo.all_registrations())
        return c.MeetingStats(
            held=held, held_by_group=dict(by_group), upcoming=upcoming, registrations=registrations
        )

    # registration ---------------------------------------------------------------------

    async def register(self, who: Principal, meeting_id: str) -> c.Registration:
        doc = await self._doc(meeting_id)
        if doc.get("cancelled"):
            raise Conflict("Der Termin ist abgesagt; eine Anmeldung ist nicht mehr möglich.")
        if not ical.series_of(doc).occurrences(after=_now()):
            raise Conflict("Der Termin liegt in der Vergangenheit; eine Anmeldung ist nicht mehr möglich.")
        existing = [
            g for g in await self.repo.registrations_of(meeting_id) if g["person_id"] == who.person_id
        ]
        if existing:
            return await self._registration(who, doc)
        now = _now()
        if not await self.repo.claim_registrant(meeting_id, who.person_id, {"at": now}):
            guard = await self.repo.registrant(meeting_id, who.person_id)
            if guard is None or _aware(guard["at"]) > now - GUARD_LEASE:
                # the same person in another tab a moment ago: whatever that request decided stands
                return await self._registration(who, doc)
            # left behind by a request that died between guard and seat: take it over
            await self.repo.release_registrant(meeting_id, who.person_id)
            if not await self.repo.claim_registrant(meeting_id, who.person_id, {"at": now}):
                return await self._registration(who, doc)
        event = outbox_entry(
            c.EVENT_REGISTERED,
            c.Registered(meeting_id=meeting_id, person_id=who.person_id, organisation_id=who.organisation_id),
            subject=f"meetings/{meeting_id}",
        )
        base: Document = {
            "meeting_id": meeting_id,
            "person_id": who.person_id,
            "organisation_id": who.organisation_id,
            "at": now,
            "outbox": [event],
        }
        capacity = doc.get("capacity")
        placed: str | None = None
        if capacity is None:
            placed = f"{meeting_id}:p:{who.person_id}"
            await self.repo.insert_registration({"_id": placed, **base})
        else:
            taken = {g["_id"] for g in await self.repo.registrations_of(meeting_id)}
            for seat in range(1, int(capacity) + 1):
                seat_id = f"{meeting_id}:seat:{seat}"
                if seat_id in taken:
                    continue
                if await self.repo.insert_registration({"_id": seat_id, **base, "seat": seat}):
                    placed = seat_id
                    break
        if placed is None:
            await self.repo.release_registrant(meeting_id, who.person_id)
            raise Conflict(
                f"Der Termin ist ausgebucht: alle {capacity} Plätze sind vergeben.", title="Ausgebucht"
            )
        self.on_outbox(self.repo.registrations, placed, [event])
        return await self._registration(who, doc)

    async def withdraw(self, who: Principal, meeting_id: str) -> None:
        await self._doc(meeting_id)
        mine = [g for g in await self.repo.registrations_of(meeting_id) if g["person_id"] == who.person_id]
        if not mine:
            await self.repo.release_registrant(meeting_id, who.person_id)
            return
        event = outbox_entry(
            c.EVENT_WITHDRAWN,
            c.Withdrawn(meeting_id=meeting_id, person_id=who.person_id, organisation_id=who.organisation_id),
            subject=f"meetings/{meeting_id}",
        )
        withdrawal_id = uuid.uuid4().hex
        await self.repo.record_withdrawal(
            {
                "_id": withdrawal_id,
                "meeting_id": meeting_id,
                "person_id": who.person_id,
                "at": _now(),
                "outbox": [event],
            }
        )
        for g in mine:
            await self.repo.delete_registration(g["_id"])
        await self.repo.release_registrant(meeting_id, who.person_id)
        self.on_outbox(self.repo.withdrawals, withdrawal_id, [event])

    async def _registration(self, who: Principal, doc: Document) -> c.Registration:
        regs = await self.repo.registrations_of(doc["_id"])
        capacity = doc.get("capacity")
        return c.Registration(
            meeting_id=doc["_id"],
            registered=any(g["person_id"] == who.person_id for g in regs),
            registrations=len(regs),
            seats_left=None if capacity is None else max(0, capacity - len(regs)),
        )

    # calendar feeds -------------------------------------------------------------------

    async def feed_token(self, who: Principal, *, renew: bool = False) -> c.FeedInfo:
        current = await self.repo.feed_token(who.person_id)
        if current is not None and not renew:
            return c.FeedInfo(
                token=current["token"],
                group_ids=await self.peers.groups_of(who),
                created_at=_aware(current["created_at"]),
            )
        token = secrets.token_urlsafe(32)
        now = _now()
        owner = {"person_id": who.person_id, "organisation_id": who.organisation_id, "roles": list(who.roles)}
        await self.repo.save_feed_token(
            {"_id": who.person_id, "token": token, "created_at": now},
            {"_id": token_hash(token), **owner, "created_at": now},
            token_hash(current["token"]) if current else None,
        )
        return c.FeedInfo(token=token, group_ids=await self.peers.groups_of(who), created_at=now)

    async def feed(self, req: c.GetFeed) -> c.Feed:
        owner = await self.repo.feed_owner(token_hash(req.token))
        if owner is None:
            # the same answer for a wrong and a revoked token
            raise NotFound("Diesen Kalender gibt es nicht (mehr).")
        who = Principal(
            person_id=owner["person_id"],
            organisation_id=owner["organisation_id"],
            roles=tuple(owner["roles"]),
        )
        docs = await self.repo.all_meetings()
        if req.group_id is not None:
            groups = await self.peers.groups(who)
            if req.group_id not in groups:
                raise NotFound("Diese AG gibt es nicht.")
            chosen = [d for d in docs if d.get("group_id") == req.group_id]
            name = f"GDST – {groups[req.group_id]}"
        else:
            mine_groups = set(await self.peers.groups_of(who))
            registered = {
                g["meeting_id"]
                for g in await self.repo.all_registrations()
                if g["person_id"] == who.person_id
            }
            chosen = [d for d in docs if d["_id"] in registered or d.get("group_id") in mine_groups]
            name = "GDST – Meine Termine"
        chosen.sort(key=lambda d: (d["start"], d["_id"]))
        text = ical.calendar(name, chosen, public_url=self.public_url, now=_now())
        return c.Feed(calendar=text, name=name)

    # reminders ------------------------------------------------------------------------

    async def state_upcoming(self, now: datetime | None = None) -> int:
        """State `meeting.occurrence_upcoming` once for every occurrence that starts within the
        lead time. Returns how many were stated by this call."""
        now = now or _now()
        stated = 0
        for doc in await self.repo.all_meetings():
            if doc.get("cancelled"):
                continue
            due = [
                o
                for o in ical.series_of(doc).occurrences(after=now, before=now + self.reminder_lead)
                if o.status != "cancelled" and o.start > now
            ]
            if not due:
                continue
            ids = [f"{doc['_id']}:{o.key}" for o in due]
            done = await self.repo.reminder_ids(ids)
            registered: list[str] | None = None
            for occ, reminder_id in zip(due, ids, strict=True):
                if reminder_id in done:
                    continue
                if registered is None:
                    registered = sorted(
                        {g["person_id"] for g in await self.repo.registrations_of(doc["_id"])}
                    )
                event = outbox_entry(
                    c.EVENT_OCCURRENCE_UPCOMING,
                    c.OccurrenceUpcoming(
                        meeting_id=doc["_id"],
                        title=doc["title"],
                        occurrence=occ.key,
                        starts_at=occ.start,
                        ends_at=occ.end,
                        location=doc.get("location"),
                        online_url=doc.get("online_url"),
                        group_id=doc.get("group_id"),
                        registered=registered,
                    ),
                    subject=f"meetings/{doc['_id']}",
                    # the event id follows from the occurrence: even a duplicate that slipped
                    # past the `_id` would be dropped by JetStream's duplicate window
                    event_id=f"upcoming-{doc['_id']}-{occ.key}",
                )
                inserted = await self.repo.insert_reminder(
                    {
                        "_id": reminder_id,
                        "meeting_id": doc["_id"],
                        "occurrence": occ.key,
                        "at": now,
                        "outbox": [event],
                    }
                )
                if inserted:
                    self.on_outbox(self.repo.reminders, reminder_id, [event])
                    stated += 1
        return stated


__all__ = ["MeetingsService", "may_plan"]
