"""Rules of AG topics and polls: who may do what, and what a change means. No transport code."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from services.contracts import polls as c
from services.contracts.envelope import Principal
from services.runtime.errors import Conflict, Forbidden, Invalid, NotFound, field
from services.runtime.events import OutboxHook, ignore_outbox, outbox_entry
from services.runtime.mongo import Document
from services.runtime.recent import Recent, Schedule
from services.surveys.polls import rules
from services.surveys.polls.directory import Directory
from services.surveys.polls.repository import PollsRepository, ballot_id

log = logging.getLogger(__name__)

MODERATORS = ("ministry", "admin", "lotse")
# a topic's life: proposed → selected → in_work → done, or dropped on the way
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "proposed": ("selected", "dropped"),
    "selected": ("in_work", "proposed", "dropped"),
    "in_work": ("done", "dropped"),
    "done": (),
    "dropped": (),
}
MAX_POLL_DAYS = 366
# a close that has not stored its count after this long was interrupted and is finished again
INTERRUPTED_AFTER = timedelta(seconds=30)
# a poll is read once per this time for ballots, not once per ballot; a close waits longer
# than this before counting, so a ballot let in by another instance's copy is still counted
OPEN_POLL_RECENT_SECONDS = 0.5
# the closer's list of the polls without a result is read again after this long at the latest;
# a poll opened or closed here or on another instance (its event) clears it at once
SCHEDULE_SECONDS = 300.0

Notify = Callable[[str], None]


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def new_id(prefix: str) -> str:
    """Sortable by creation time (milliseconds in fixed-width hex), unique by the random tail."""
    return f"{prefix}{int(time.time() * 1000):012x}{secrets.token_hex(4)}"


def topic_view(doc: Document) -> c.Topic:
    return c.Topic(
        id=doc["_id"],
        group_id=doc["group_id"],
        title=doc["title"],
        description=doc.get("description", ""),
        status=doc["status"],
        proposed_by=doc["proposed_by"],
        organisation_id=doc["organisation_id"],
        created_at=_aware(doc["created_at"]),
        selected_by_poll=doc.get("selected_by_poll"),
        polls=list(doc.get("polls") or []),
        history=[msgspec.convert(h, c.TopicEvent) for h in doc.get("history") or []],
    )


def is_moderator(who: Principal) -> bool:
    return who.has_any(*MODERATORS)


# Ballots another instance stores come in with their events (`seen_ballot`), one `_id` lookup
# each. The full read of a poll's ballots, which on FerretDB reads every ballot of every poll
# (a third of its CPU during a vote when it ran every 5 s, docs/performance.md #48), is the
# safety net for what no event brought: NATS away for a moment, a ballot deleted.
LIVE_RELOAD_SECONDS = 60.0
# held ballots of a poll nobody has voted in or counted live for this long are let go: an open
# poll keeps its ballots in memory only while it is busy (each bench round left 2,000 behind;
# with rounds of ~25 s a minute still held two rounds' polls at the end of the third)
LIVE_IDLE_SECONDS = 20.0


class _LiveBallots:
    """The ballots of one open poll, by ballot id, for live counts. Ballots stored while the
    full reload reads the database are applied again on top of what it read, so none is lost."""

    def __init__(self) -> None:
        self.reloading: asyncio.Task[None] | None = None
        self.ballots: dict[str, Document] = {}
        self.loaded_at = float("-inf")
        self.used_at = time.monotonic()
        self._during_reload: list[Document] | None = None
        # how long the last reload took: on FerretDB it reads every ballot of every poll, so it
        # grows with the data, and reloads are spaced to take at most a tenth of the time
        self.reload_seconds = 0.0

    def stale(self) -> bool:
        return time.monotonic() - self.loaded_at > max(LIVE_RELOAD_SECONDS, 10 * self.reload_seconds)

    @classmethod
    def new_poll(cls) -> _LiveBallots:
        """A poll created here has no ballots yet: its live count needs no read of them."""
        held = cls()
        held.loaded_at = time.monotonic()
        return held

    def reloading_now(self) -> bool:
        return self.reloading is not None and not self.reloading.done()

    def idle(self, now: float) -> bool:
        busy = self.reloading_now() or self._during_reload is not None
        return not busy and now - self.used_at > LIVE_IDLE_SECONDS

    def put(self, ballot: Document) -> None:
        self.used_at = time.monotonic()
        self.ballots[ballot["_id"]] = ballot
        if self._during_reload is not None:
            self._during_reload.append(ballot)

    def put_newer(self, ballot: Document) -> bool:
        """Hold a ballot read from the database unless the one held was cast later (a lookup
        answered after the voter replaced it here). Returns whether it was taken."""
        held = self.ballots.get(ballot["_id"])
        if held is not None and _aware(held["cast_at"]) >= _aware(ballot["cast_at"]):
            return False
        self.put(ballot)
        return True

    def begin_reload(self) -> None:
        self._during_reload = []
        self.loaded_at = time.monotonic()

    def finish_reload(self, stored: list[Document]) -> None:
        fresh = {d["_id"]: d for d in stored}
        for ballot in self._during_reload or []:
            fresh[ballot["_id"]] = ballot
        self.ballots = fresh
        self._during_reload = None


class PollsService:
    def __init__(
        self,
        repo: PollsRepository,
        directory: Directory,
        *,
        close_settle_seconds: float = OPEN_POLL_RECENT_SECONDS + 0.3,
    ) -> None:
        self.repo = repo
        self.directory = directory
        self.close_settle_seconds = close_settle_seconds
        self._recent: Recent[str, Document] = Recent(OPEN_POLL_RECENT_SECONDS)
        # set by the composition root
        self.on_outbox: OutboxHook = ignore_outbox
        self.on_ballots_changed: Notify = lambda poll_id: None
        # live counts: the ballots of open polls held in memory (see live_results)
        self._live: dict[str, _LiveBallots] = {}
        # the closer's list of the polls without a result (see `close_due`)
        self._schedule: Schedule[list[Document]] = Schedule(SCHEDULE_SECONDS)

    # topics ------------------------------------------------------------------------------

    async def _require_group(self, who: Principal, group_id: str) -> None:
        if await self.directory.group(who, group_id) is None:
            raise NotFound(f"Keine AG mit der Kennung {group_id}.")

    async def propose_topic(self, who: Principal, req: c.CreateTopic) -> c.Topic:
        await self._require_group(who, req.group_id)
        if not is_moderator(who) and req.group_id not in await self.directory.groups_of(who):
            raise Forbidden("Themen schlagen die Mitglieder der AG vor.")
        now = _now()
        topic_id = new_id("t")
        title = req.title.strip()
        if not title:
            raise Invalid("Der Titel fehlt.", [field("title", "Bitte geben Sie einen Titel ein.")])
        event = outbox_entry(
            c.EVENT_TOPIC_PROPOSED,
            c.TopicProposed(
                topic_id=topic_id,
                group_id=req.group_id,
                title=title,
                proposed_by=who.person_id,
                organisation_id=who.organisation_id,
            ),
            subject=f"topics/{topic_id}",
        )
        doc: Document = {
            "_id": topic_id,
            "group_id": req.group_id,
            "title": title,
            "description": req.description.strip(),
            "status": "proposed",
            "proposed_by": who.person_id,
            "organisation_id": who.organisation_id,
            "created_at": now,
            "selected_by_poll": None,
            "polls": [],
            "history": [
                {"at": now, "status": "proposed", "by": who.person_id, "poll_id": None, "reason": ""}
            ],
            "outbox": [event],
        }
        await self.repo.insert_topic(doc)
        self.on_outbox(self.repo.topics, topic_id, [event])
        return topic_view(doc)

    async def list_topics(self, who: Principal, req: c.ListTopics) -> c.TopicPage:
        await self._require_group(who, req.group_id)
        docs = await self.repo.topics_page(req.group_id, req.status, req.cursor, req.limit + 1)
        more = len(docs) > req.limit
        docs = docs[: req.limit]
        return c.TopicPage(items=[topic_view(d) for d in docs], next_cursor=docs[-1]["_id"] if more else None)

    async def get_topic(self, topic_id: str) -> c.Topic:
        doc = await self.repo.topic(topic_id)
        if doc is None:
            raise NotFound("Dieses Thema gibt es nicht.")
        return topic_view(doc)

    async def change_topic_status(self, who: Principal, req: c.ChangeTopicStatus) -> c.Topic:
        if not is_moderator(who):
            raise Forbidden("Den Stand eines Themas ändern Ministerium und Digital-Lotsen.")
        doc = await self.repo.topic(req.id)
        if doc is None:
            raise NotFound("Dieses Thema gibt es nicht.")
        await self._move_topic(doc, req.status, who.person_id, reason=req.reason.strip())
        return await self.get_topic(req.id)

    async def _move_topic(
        self, doc: Document, status: str, by: str | None, *, reason: str = "", poll_id: str | None = None
    ) -> bool:
        old = doc["status"]
        if status not in TRANSITIONS[old]:
            raise Conflict(
                f"Ein Thema im Stand „{old}“ kann nicht in den Stand „{status}“ wechseln.",
                [field("status", f"Möglich: {', '.join(TRANSITIONS[old]) or 'nichts mehr'}.")],
            )
        if status == "selected" and poll_id is not None:
            event = outbox_entry(
                c.EVENT_TOPIC_SELECTED,
                c.TopicSelected(
                    topic_id=doc["_id"], group_id=doc["group_id"], title=doc["title"], poll_id=poll_id
                ),
                subject=f"topics/{doc['_id']}",
            )
        else:
            event = outbox_entry(
                c.EVENT_TOPIC_STATUS_CHANGED,
                c.TopicStatusChanged(
                    topic_id=doc["_id"],
                    group_id=doc["group_id"],
                    title=doc["title"],
                    old_status=old,
                    status=status,
                    changed_by=by,
                    reason=reason,
                ),
                subject=f"topics/{doc['_id']}",
            )
        fields: Document = {"status": status}
        if status == "selected":
            fields["selected_by_poll"] = poll_id
        step = {"at": _now(), "status": status, "by": by, "poll_id": poll_id, "reason": reason}
        if not await self.repo.change_topic_status(doc["_id"], old, fields, step, [event]):
            raise Conflict("Das Thema wurde gerade von jemand anderem geändert. Bitte laden Sie neu.")
        self.on_outbox(self.repo.topics, doc["_id"], [event])
        return True

    # polls -------------------------------------------------------------------------------

    async def _options(self, who: Principal, req: c.CreatePoll) -> list[c.Option]:
        errors = []
        topic_ids = [o.topic_id for o in req.options if o.topic_id]
        topics = await self.repo.topics_by_ids(topic_ids) if topic_ids else {}
        options: list[c.Option] = []
        seen_topics: set[str] = set()
        seen_labels: set[str] = set()
        for i, option in enumerate(req.options, start=1):
            where = f"options[{i - 1}]"
            if (option.label is None) == (option.topic_id is None):
                errors.append(field(where, "Bitte entweder „label“ oder „topic_id“ angeben."))
                continue
            if option.topic_id is not None:
                topic = topics.get(option.topic_id)
                if req.group_id is None:
                    errors.append(field(f"{where}.topic_id", "Themen als Optionen nur mit „group_id“."))
                elif topic is None or topic["group_id"] != req.group_id:
                    errors.append(field(f"{where}.topic_id", "Kein Thema dieser AG."))
                elif topic["status"] != "proposed":
                    errors.append(
                        field(f"{where}.topic_id", "Nur vorgeschlagene Themen können zur Wahl stehen.")
                    )
                elif option.topic_id in seen_topics:
                    errors.append(field(f"{where}.topic_id", "Dieses Thema steht schon zur Wahl."))
                else:
                    seen_topics.add(option.topic_id)
                    options.append(c.Option(id=f"o{i}", label=topic["title"], topic_id=option.topic_id))
                continue
            label = (option.label or "").strip()
            if not label:
                errors.append(field(f"{where}.label", "Bitte geben Sie eine Bezeichnung ein."))
            elif label.casefold() in seen_labels:
                errors.append(field(f"{where}.label", "Diese Option gibt es schon."))
            else:
                seen_labels.add(label.casefold())
                options.append(c.Option(id=f"o{i}", label=label))
        if errors:
            raise Invalid("Die Optionen sind ungültig.", errors)
        return options

    async def _eligible_count(self, who: Principal, voters: str, group_id: str | None) -> int:
        if group_id is None:
            if voters == "person":
                return await self.directory.people_count()
            return await self.directory.kommunen_count(who)
        members = await self.directory.group_members(who, group_id)
        if voters == "person":
            return len(members)
        return len(await self.directory.kommunen_of(who, {m.organisation_id for m in members}))

    async def create_poll(self, who: Principal, req: c.CreatePoll) -> c.Poll:
        if not is_moderator(who):
            raise Forbidden("Abstimmungen starten Ministerium und Digital-Lotsen.")
        now = _now()
        errors = []
        closes_at = _aware(req.closes_at)
        if req.closes_at.tzinfo is None:
            errors.append(field("closes_at", "Bitte mit Zeitzone angeben (RFC 3339, z. B. +01:00)."))
        elif closes_at <= now:
            errors.append(field("closes_at", "Der Zeitpunkt muss in der Zukunft liegen."))
        elif closes_at > now + timedelta(days=MAX_POLL_DAYS):
            errors.append(field("closes_at", "Höchstens ein Jahr im Voraus."))
        if req.winners > len(req.options):
            errors.append(field("winners", f"Höchstens {len(req.options)} (so viele Optionen gibt es)."))
        if not req.title.strip():
            errors.append(field("title", "Bitte geben Sie einen Titel ein."))
        if errors:
            raise Invalid("Bitte prüfen Sie die markierten Angaben.", errors)
        group = None
        if req.group_id is not None:
            group = await self.directory.group(who, req.group_id)
            if group is None:
                raise Invalid("Diese AG gibt es nicht.", [field("group_id", "Keine AG mit dieser Kennung.")])
        method = rules.complete_method(req.method, len(req.options))
        options = await self._options(who, req)
        eligible = await self._eligible_count(who, req.voters, req.group_id)
        poll_id = new_id("p")
        event = outbox_entry(
            c.EVENT_POLL_OPENED,
            c.PollOpened(
                poll_id=poll_id,
                title=req.title.strip(),
                method=method.kind,
                voters=req.voters,
                group_id=req.group_id,
                options=options,
                winners=req.winners,
                results_visibility=req.results_visibility,
                closes_at=closes_at,
                created_by=who.person_id,
            ),
            subject=f"polls/{poll_id}",
        )
        doc: Document = {
            "_id": poll_id,
            "title": req.title.strip(),
            "description": req.description.strip(),
            "options": [msgspec.to_builtins(o) for o in options],
            "method": msgspec.to_builtins(method),
            "voters": req.voters,
            "results_visibility": req.results_visibility,
            "closes_at": closes_at,
            "group_id": req.group_id,
            "winners": req.winners,
            "state": "open",
            "created_by": who.person_id,
            "created_at": now,
            "closed_at": None,
            "eligible": eligible,
            "secret": secrets.token_hex(16),  # keys the pseudonyms of the ballot export
            "result": None,
            "outbox": [event],
        }
        await self.repo.insert_poll(doc)
        self.polls_changed()
        self.on_outbox(self.repo.polls, poll_id, [event])
        self._live[poll_id] = _LiveBallots.new_poll()
        for option in options:
            if option.topic_id:
                await self.repo.add_topic_poll(option.topic_id, poll_id)
        return await self._view(who, doc)

    async def _poll(self, poll_id: str) -> Document:
        doc = await self.repo.poll(poll_id)
        if doc is None:
            raise NotFound("Diese Abstimmung gibt es nicht.")
        return doc

    def _is_open(self, doc: Document) -> bool:
        return bool(doc["state"] == "open" and _aware(doc["closes_at"]) > _now())

    async def voter_of(self, who: Principal, doc: Document) -> tuple[str | None, str]:
        """Whose ballot the caller casts in this poll, or why they may not vote.

        Eligible are the members of the poll's AG (for organisation voting: their Kommunen, so
        any colleague may cast the Kommune's one ballot), otherwise everyone (every Kommune).
        """
        group_id = doc.get("group_id")
        members = await self.directory.group_members(who, group_id) if group_id else None
        if doc["voters"] == "organisation":
            if await self.directory.organisation_kind(who, who.organisation_id) in (None, "land", "ressort"):
                return None, "In dieser Abstimmung stimmen nur Kommunen ab (eine Stimme je Kommune)."
            if members is not None and who.organisation_id not in {m.organisation_id for m in members}:
                return None, "In dieser Abstimmung stimmen die Kommunen der AG-Mitglieder ab."
            return who.organisation_id, ""
        if members is not None and who.person_id not in {m.person_id for m in members}:
            return None, "In dieser Abstimmung stimmen nur die Mitglieder der AG ab."
        return who.person_id, ""

    async def _view(self, who: Principal | None, doc: Document) -> c.Poll:
        voter, reason = (await self.voter_of(who, doc)) if who is not None else (None, "")
        has_voted = bool(voter and await self.repo.ballot(doc["_id"], voter))
        method = msgspec.convert(doc["method"], c.Method)
        return c.Poll(
            id=doc["_id"],
            title=doc["title"],
            description=doc.get("description", ""),
            options=[msgspec.convert(o, c.Option) for o in doc["options"]],
            method=method,
            voters=doc["voters"],
            results_visibility=doc["results_visibility"],
            closes_at=_aware(doc["closes_at"]),
            group_id=doc.get("group_id"),
            winners=doc["winners"],
            tie_rule=rules.TIE_RULES[method.kind],
            state="open" if self._is_open(doc) else "closed",
            created_by=doc["created_by"],
            created_at=_aware(doc["created_at"]),
            closed_at=_aware(doc["closed_at"]) if doc.get("closed_at") else None,
            eligible=doc.get("eligible"),
            can_vote=bool(voter) and self._is_open(doc),
            not_eligible_reason=reason,
            has_voted=has_voted,
        )

    async def get_poll(self, who: Principal, poll_id: str) -> c.Poll:
        return await self._view(who, await self._poll(poll_id))

    async def list_polls(self, who: Principal, req: c.ListPolls) -> c.PollPage:
        docs = await self.repo.polls_page(req.state, req.group_id, req.cursor, req.limit + 1)
        more = len(docs) > req.limit
        docs = docs[: req.limit]
        items = [await self._view(who, d) for d in docs]
        return c.PollPage(items=items, next_cursor=docs[-1]["_id"] if more else None)

    # ballots -----------------------------------------------------------------------------

    async def cast(self, who: Principal, req: c.CastBallot) -> c.Ballot:
        doc = await self._recent.get_or_load(req.poll_id, lambda: self.repo.poll(req.poll_id))
        if doc is None:
            raise NotFound("Diese Abstimmung gibt es nicht.")
        if not self._is_open(doc):  # the deadline is checked on every ballot, cached or not
            raise Conflict("Diese Abstimmung ist geschlossen.")
        voter, reason = await self.voter_of(who, doc)
        if voter is None:
            raise Forbidden(reason)
        option_ids = [o["id"] for o in doc["options"]]
        method = msgspec.convert(doc["method"], c.Method)
        content = rules.ballot_content(method, option_ids, req.ballot)
        now = _now()
        ballot: Document = {
            "_id": ballot_id(doc["_id"], voter),
            "poll_id": doc["_id"],
            "voter": voter,
            "cast_by": who.person_id,
            "cast_at": now,
            **content,
        }

        def event(replaced: bool) -> Document:
            data = c.BallotCast(
                poll_id=doc["_id"],
                voter=voter,
                voters=doc["voters"],
                cast_by=who.person_id,
                replaced=replaced,
            )
            return outbox_entry(c.EVENT_BALLOT_CAST, data, subject=f"polls/{doc['_id']}")

        _, cast_event = await self.repo.put_ballot(ballot, event)
        held = self._live.get(doc["_id"])
        if held is not None:
            held.put(ballot)
        self.on_outbox(self.repo.ballots, ballot["_id"], [cast_event])
        self.on_ballots_changed(doc["_id"])
        return c.Ballot(
            poll_id=doc["_id"],
            voter=voter,
            cast_by=who.person_id,
            cast_at=now,
            ballot=rules.ballot_input(content, option_ids),
        )

    async def my_ballot(self, who: Principal, poll_id: str) -> c.Ballot:
        doc = await self._poll(poll_id)
        voter, reason = await self.voter_of(who, doc)
        if voter is None:
            raise Forbidden(reason)
        stored = await self.repo.ballot(poll_id, voter)
        if stored is None:
            raise NotFound("Sie haben in dieser Abstimmung noch keine Stimme abgegeben.")
        return c.Ballot(
            poll_id=poll_id,
            voter=voter,
            cast_by=stored["cast_by"],
            cast_at=_aware(stored["cast_at"]),
            ballot=rules.ballot_input(stored, [o["id"] for o in doc["options"]]),
        )

    # results -----------------------------------------------------------------------------

    async def results(self, poll_id: str) -> c.PollResults:
        """The current (or final) count; the same for everyone who may see it."""
        doc = await self._poll(poll_id)
        return await self._results(doc)

    async def live_results(self, poll_id: str) -> c.PollResults:
        """The current count for the live stream, from the poll and ballots held in memory.

        Reading every ballot from the database for each live update made the update slower the
        more people voted: FerretDB answers `find({"poll_id": ...})` by scanning every ballot of
        every poll. This instance adds each ballot it stores to the held ones, and those other
        instances store as their events arrive (`seen_ballot`); all of them are read again in
        the background every `LIVE_RELOAD_SECONDS`. The poll itself is read at most every
        `OPEN_POLL_RECENT_SECONDS`, as for ballots, so a close made elsewhere ends the live count
        soon. The final result and `results()` always count from the database."""
        held = self._live.get(poll_id)
        if held is None:
            held = self._live[poll_id] = _LiveBallots()
            await self._reload_live(poll_id, held)
        held.used_at = time.monotonic()
        if held.stale() and not held.reloading_now():
            held.reloading = asyncio.create_task(
                self._reload_live(poll_id, held), name=f"live-reload-{poll_id}"
            )
        doc = await self._recent.get_or_load(poll_id, lambda: self.repo.poll(poll_id))
        if doc is None or not self._is_open(doc) or doc["results_visibility"] == "after_close":
            self._live.pop(poll_id, None)
            return await self.results(poll_id)
        return await self._results(doc, list(held.ballots.values()))

    async def seen_ballot(self, poll_id: str, voter: str) -> None:
        """A ballot.cast event: a ballot stored by another instance joins this one's live count
        of the poll (if it holds one), and the count is published again. The events of this
        instance's own ballots do not come here (its connection does not echo)."""
        if poll_id not in self._live:
            return  # a later live count reads all of the poll's ballots anyway
        stored = await self.repo.ballot(poll_id, voter)
        held = self._live.get(poll_id)
        if stored is not None and held is not None and held.put_newer(stored):
            self.on_ballots_changed(poll_id)

    def live_events_missed(self) -> None:
        """After NATS was away: events of other instances' ballots may be lost, so every held
        poll is read in full at its next live count."""
        for held in self._live.values():
            held.loaded_at = float("-inf")

    def drop_idle_live(self, now: float | None = None) -> list[str]:
        """Let go of the held ballots of polls idle for `LIVE_IDLE_SECONDS`; returns their ids.
        A later live count reads them again, as after a restart."""
        at = time.monotonic() if now is None else now
        idle = [poll_id for poll_id, held in self._live.items() if held.idle(at)]
        for poll_id in idle:
            del self._live[poll_id]
        return idle

    @property
    def live_held(self) -> frozenset[str]:
        """The polls whose ballots this instance holds in memory for live counts."""
        return frozenset(self._live)

    async def _reload_live(self, poll_id: str, held: _LiveBallots) -> None:
        started = time.monotonic()
        held.begin_reload()
        held.finish_reload(await self.repo.ballots_of(poll_id))
        held.reload_seconds = time.monotonic() - started

    async def _results(self, doc: Document, ballots: list[Document] | None = None) -> c.PollResults:
        method = doc["method"]["kind"]
        is_open = self._is_open(doc)
        hidden = is_open and doc["results_visibility"] == "after_close"
        common: dict[str, Any] = {
            "poll_id": doc["_id"],
            "method": method,
            "state": "open" if is_open else "closed",
            "eligible": doc.get("eligible"),
            "seats": doc["winners"],
            "tie_rule": rules.TIE_RULES[method],
            "final": doc.get("result") is not None,
            "updated_at": _now(),
        }
        if hidden:
            count = await self.repo.ballot_count(doc["_id"])
            return c.PollResults(hidden=True, ballots=count, ranking=[], winners=[], ties=[], **common)
        options = [msgspec.convert(o, c.Option) for o in doc["options"]]
        option_ids = [o.id for o in options]
        if ballots is None:
            ballots = await self.repo.ballots_of(doc["_id"])
        tally = rules.count(method, option_ids, ballots, doc["winners"])
        ranking = [
            c.Standing(
                option_id=option_ids[i],
                label=options[i].label,
                score=float(tally.scores[i]),
                rank=tally.ranks[i],
                top_scores=tally.top_scores[i] if tally.top_scores is not None else None,
            )
            for i in tally.order
        ]
        matrices: dict[str, Any] = {}
        if tally.pairwise is not None and tally.strongest_paths is not None:
            matrices = {
                "matrix_options": option_ids,
                "pairwise": [list(r) for r in tally.pairwise],
                "strongest_paths": [list(r) for r in tally.strongest_paths],
            }
        return c.PollResults(
            hidden=False,
            ballots=tally.ballots,
            ranking=ranking,
            winners=[option_ids[i] for i in tally.winners],
            ties=[[option_ids[i] for i in group] for group in tally.ties],
            undecided=[option_ids[i] for i in tally.undecided],
            **matrices,
            **common,
        )

    async def export_ballots(self, who: Principal, poll_id: str) -> c.BallotExport:
        doc = await self._poll(poll_id)
        if self._is_open(doc) and doc["results_visibility"] == "after_close":
            raise Conflict("Die Stimmzettel werden erst nach dem Ende der Abstimmung veröffentlicht.")
        key = str(doc.get("secret", doc["_id"])).encode()
        rows = []
        for ballot in await self.repo.ballots_of(poll_id):
            pseudonym = hmac.new(key, ballot["voter"].encode(), hashlib.sha256).hexdigest()[:16]
            content = {
                k: ballot[k] for k in ("choice", "choices", "points", "scores", "ranking") if k in ballot
            }
            rows.append(c.ExportedBallot(pseudonym=pseudonym, **content))
        rows.sort(key=lambda r: r.pseudonym)  # no trace of the order in which people voted
        return c.BallotExport(
            poll_id=poll_id,
            method=doc["method"]["kind"],
            options=[msgspec.convert(o, c.Option) for o in doc["options"]],
            ballots=rows,
        )

    # closing -----------------------------------------------------------------------------

    async def close(self, who: Principal | None, poll_id: str) -> c.PollResults:
        doc = await self._poll(poll_id)
        if who is not None and not (is_moderator(who) or who.person_id == doc["created_by"]):
            raise Forbidden("Abstimmungen beenden Ministerium, Digital-Lotsen oder wer sie gestartet hat.")
        by = who.person_id if who else None
        now = _now()
        if doc["state"] == "closed":
            if doc.get("result") is None:
                # a close that was interrupted: one instance per 30-second window finishes it
                age = now - _aware(doc["closed_at"])
                window = int(age / INTERRUPTED_AFTER)
                if window < 1 or not await self.repo.claim(f"{poll_id}:finish:{window}", now):
                    raise Conflict("Diese Abstimmung wird gerade beendet.")
                return await self._finish(doc, doc.get("closed_by"))
            await self._select_topics(doc, doc["result"])
            raise Conflict("Diese Abstimmung ist bereits beendet.")
        if not await self._claim_close(poll_id, now) or not await self.repo.mark_closed(poll_id, now, by):
            raise Conflict("Diese Abstimmung ist bereits beendet.")
        self.polls_changed()  # should the count fail, the closer finishes it
        self._recent.drop(poll_id)
        # ballots that passed the open check just before finish writing first
        await asyncio.sleep(self.close_settle_seconds)
        return await self._finish(await self._poll(poll_id), by)

    async def _claim_close(self, poll_id: str, now: datetime) -> bool:
        """Two instances (or a moderator and the closer) may close at once: one claim wins. A
        claim whose holder died before marking the poll closed is taken over after 30 s, by one
        instance per 30-second window."""
        key = f"{poll_id}:close"
        if await self.repo.claim(key, now):
            return True
        at = await self.repo.claimed_at(key)
        window = int((now - _aware(at)) / INTERRUPTED_AFTER) if at else 0
        return window >= 1 and await self.repo.claim(f"{key}:{window}", now)

    async def _finish(self, doc: Document, by: str | None) -> c.PollResults:
        result = await self._results(doc)
        ranking = [
            c.RankedOption(option_id=s.option_id, label=s.label, score=s.score, rank=s.rank)
            for s in result.ranking
        ]
        summary = {"ballots": result.ballots, "winners": result.winners, "undecided": result.undecided}
        event = outbox_entry(
            c.EVENT_POLL_CLOSED,
            c.PollClosed(
                poll_id=doc["_id"],
                title=doc["title"],
                group_id=doc.get("group_id"),
                method=doc["method"]["kind"],
                ballots=result.ballots,
                eligible=doc.get("eligible"),
                ranking=ranking,
                winners=result.winners,
                undecided=result.undecided,
                closed_by=by,
            ),
            subject=f"polls/{doc['_id']}",
        )
        # topics first: if the process dies in between, the poll is still without its result,
        # the closer finishes it again, and topics already selected are left as they are
        await self._select_topics(doc, summary)
        await self.repo.store_result(doc["_id"], summary, [event])
        self.polls_changed()
        self.on_outbox(self.repo.polls, doc["_id"], [event])
        doc["result"] = summary
        self._live.pop(doc["_id"], None)  # the next live update reads the closed poll afresh
        self.on_ballots_changed(doc["_id"])
        result.final = True
        return result

    async def _select_topics(self, doc: Document, summary: Document) -> None:
        """Mark the winning topics `selected` (idempotent: only those still `proposed`)."""
        winners = set(summary.get("winners") or [])
        topic_ids = [o["topic_id"] for o in doc["options"] if o.get("topic_id") and o["id"] in winners]
        if not topic_ids:
            return
        for topic in (await self.repo.topics_by_ids(topic_ids)).values():
            if topic["status"] != "proposed":
                continue
            try:
                await self._move_topic(topic, "selected", None, poll_id=doc["_id"])
            except Conflict:
                log.info("topic %s changed while poll %s closed", topic["_id"], doc["_id"])

    async def close_due(self, *, recent: bool = False) -> int:
        """Close every open poll whose time is up, and finish closes that were interrupted
        (called periodically). `recent`: the polls without a result as read within
        SCHEDULE_SECONDS will do, unless one was opened or closed since (the closer). Reading
        them is a scan of every poll ever made (FerretDB converts each whole, its events
        included: 490 ms of its CPU for 500 polls), which every instance made every 2 s. A
        close interrupted on another instance that never comes back is finished here within
        SCHEDULE_SECONDS; the interrupted instance finishes it itself when it starts again."""
        closed = 0
        now = _now()
        unsettled = await self._schedule.get(self.repo.unsettled_polls, recent=recent)
        due = [p["_id"] for p in unsettled if p["state"] == "open" and _aware(p["closes_at"]) <= now]
        unfinished = [
            p["_id"]
            for p in unsettled
            if p["state"] == "closed" and _aware(p["closed_at"]) < now - INTERRUPTED_AFTER
        ]
        for poll_id in [*due, *unfinished]:
            try:
                await self.close(None, poll_id)
                closed += 1
            except Conflict:
                pass
        return closed

    def polls_changed(self) -> None:
        """A poll was opened or closed, here or on another instance (its event), or such events
        may have been missed (NATS was away): the closer reads the polls again."""
        self._schedule.changed()
