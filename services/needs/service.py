"""Rules of needs, supports, solutions and pilots. No transport code."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from services.contracts import needs as c
from services.contracts import stats as st
from services.contracts.envelope import Principal
from services.needs import rules
from services.needs.directory import Directory, snapshot
from services.needs.repository import NeedsRepository
from services.needs.similarity import Document as TextDoc
from services.needs.similarity import Index, fold, tokens
from services.needs.stats import needs_figures
from services.runtime.errors import Conflict, Forbidden, Invalid, NotFound, field
from services.runtime.events import OutboxHook, ignore_outbox, outbox_entry
from services.runtime.locks import Locks
from services.runtime.mongo import Document
from services.runtime.recent import Recent

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def org_ref(org: dict[str, Any]) -> c.OrgRef:
    return c.OrgRef(id=org["id"], name=org["name"], kind=org.get("kind", ""), ags=org.get("ags", ""))


def _clean_tags(tags: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for tag in tags:
        t = " ".join(tag.split())
        if t and t.lower() not in seen:
            seen[t.lower()] = t
    return list(seen.values())


SIMILAR_RECHECK_SECONDS = 5.0
SUPPORTS_RECENT_SECONDS = 2.0
# a need is never deleted and never changes its reporting Kommune: what a support needs of it
REPORTER_RECENT_SECONDS = 600.0

T = TypeVar("T")


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("background refresh failed: %r", task.exception())


class Coalesced(Generic[T]):
    """Concurrent reads of the same key share one database read that started after each of
    them asked, so every caller still sees its own write. 218 Kommunen marking one need at
    once each needed the need's supports for the answer; FerretDB answers that by scanning
    every support, and 218 such scans at once took longer than the gateway waits."""

    def __init__(self, load: Callable[[str], Awaitable[T]]) -> None:
        self.load = load
        self._running: dict[str, asyncio.Future[T]] = {}
        self._next: dict[str, asyncio.Future[T]] = {}

    async def get(self, key: str) -> T:
        waiting = self._next.get(key)
        if waiting is not None:  # a read starts after the running one ends, and after this call
            return await asyncio.shield(waiting)
        mine: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._next[key] = mine
        running = self._running.get(key)
        if running is not None:
            await asyncio.wait([running])
        del self._next[key]
        self._running[key] = mine
        try:
            mine.set_result(await self.load(key))
        except asyncio.CancelledError:
            mine.cancel()
            raise
        except Exception as exc:
            mine.set_exception(exc)
        finally:
            del self._running[key]
        return mine.result()


class NeedsService:
    def __init__(self, repo: NeedsRepository, directory: Directory, locks: Locks | None = None) -> None:
        self.repo = repo
        self.directory = directory
        self.on_outbox: OutboxHook = ignore_outbox
        self._index = Index.build([])
        self._indexed = -1
        self._index_lock = asyncio.Lock()
        self._rebuilding: asyncio.Task[None] | None = None
        self._added: list[TextDoc] = []  # reported here since the current build began
        # what the similar-needs lookup reads besides the index, each refreshed at most every
        # SIMILAR_RECHECK_SECONDS (other instances' changes) and at once after this instance's
        # own: FerretDB scans the collection for a count, so never once per keystroke
        self._supports = Coalesced(self.repo.supports_of)
        self._recent_supports: Recent[str, list[Document]] = Recent(SUPPORTS_RECENT_SECONDS)
        self._reporters: Recent[str, str] = Recent(REPORTER_RECENT_SECONDS, max_entries=10_000)
        self._suggested: Recent[str, Document] = Recent(SIMILAR_RECHECK_SECONDS, max_entries=10_000)
        self._index_checked_at = float("-inf")
        self._support_counts: dict[str, int] | None = None
        self._support_counts_at = float("-inf")
        self._tasks: set[asyncio.Task[None]] = set()
        # sign-ups to one pilot are accepted one after the other, across all instances, so the
        # time that orders them is also the order in which they were stored
        self.locks = locks or Locks.local()

    # needs ----------------------------------------------------------------------------

    async def report(self, who: Principal, req: c.ReportNeed) -> c.Need:
        org = await self.directory.kommune_of(who)
        now = _now()
        need_id = uuid.uuid4().hex
        event = outbox_entry(
            c.EVENT_NEED_REPORTED,
            c.NeedReported(
                need_id=need_id,
                title=req.title.strip(),
                category=req.category,
                organisation_id=org["id"],
                reported_by=who.person_id,
            ),
            subject=f"needs/{need_id}",
        )
        doc: Document = {
            "_id": need_id,
            "title": req.title.strip(),
            "description": req.description.strip(),
            "category": req.category,
            "tags": _clean_tags(req.tags),
            "status": "neu",
            "organisation": org,
            "reported_by": who.person_id,
            "created_at": now,
            "status_history": [{"status": "neu", "reason": None, "by": who.person_id, "at": now}],
            "outbox": [event],
        }
        # the reporting Kommune is affected too: its support is a fact like any other,
        # written before the need so that a listed need never lacks it
        await self.repo.insert_support(
            {
                "_id": f"{need_id}:{org['id']}",
                "need_id": need_id,
                "organisation": org,
                "comment": None,
                "by": who.person_id,
                "at": now,
                "reporter": True,
                "outbox": [],
            }
        )
        await self.repo.insert_need(doc)
        self.on_outbox(self.repo.needs, need_id, [event])
        if self._indexed >= 0:
            # found by the very next lookup, and counted as indexed: a full build (seconds of CPU
            # over thousands of needs, which slowed every lookup meanwhile) follows only when
            # the count shows needs reported elsewhere
            text = TextDoc(need_id, doc["title"], " ".join([doc["description"], *doc["tags"]]))
            self._index.add(text)
            self._added.append(text)
            self._indexed += 1
        self._support_counts = None
        return await self.get(who, need_id)

    async def stats(self) -> st.NeedsStats:
        return needs_figures(
            await self.repo.needs_matching(category=None, status=None),
            await self.repo.pilots_all(),
            await self.repo.all_signups(),
            datetime.now(UTC),
        )

    async def get(self, who: Principal, need_id: str) -> c.Need:
        doc = await self.repo.need(need_id)
        if doc is None:
            raise NotFound("Diesen Bedarf gibt es nicht.")
        supports = await self._supports.get(need_id)
        solutions = await self.repo.solutions_of(need_id)
        pilots = [p for p in await self.repo.pilots_all() if need_id in p["need_ids"]]
        signups = await self.repo.signups_for([p["_id"] for p in pilots]) if pilots else []
        refs = []
        for pilot in sorted(pilots, key=lambda p: (p["created_at"], p["_id"])):
            placed = rules.place(
                [s for s in signups if s["pilot_id"] == pilot["_id"]],
                pilot["capacity"],
                pilot.get("selection"),
            )
            refs.append(
                c.PilotRef(
                    id=pilot["_id"],
                    title=pilot["title"],
                    signup_closes_at=rules.aware(pilot["signup_closes_at"]),
                    seats_left=rules.seats_left(placed, pilot["capacity"]),
                )
            )
        return c.Need(
            id=doc["_id"],
            title=doc["title"],
            description=doc["description"],
            category=doc["category"],
            tags=list(doc.get("tags") or []),
            status=doc["status"],
            organisation=org_ref(doc["organisation"]),
            supporter_count=len(supports),
            affected_inhabitants=sum(int(s["organisation"].get("population") or 0) for s in supports),
            created_at=rules.aware(doc["created_at"]),
            supporters=[
                c.Supporter(
                    organisation=org_ref(s["organisation"]),
                    comment=s.get("comment"),
                    at=rules.aware(s["at"]),
                    reporter=bool(s.get("reporter")),
                )
                for s in supports
            ],
            solutions=[self._solution(s) for s in solutions],
            pilots=refs,
            status_history=[
                c.StatusChange(
                    status=h["status"], reason=h.get("reason"), by=h.get("by"), at=rules.aware(h["at"])
                )
                for h in doc.get("status_history") or []
            ],
            supported_by_me=any(s["organisation"]["id"] == who.organisation_id for s in supports),
            reported_by_me=doc["organisation"]["id"] == who.organisation_id,
        )

    @staticmethod
    def _solution(s: Document) -> c.Solution:
        return c.Solution(
            id=s["_id"],
            need_id=s["need_id"],
            title=s["title"],
            description=s["description"],
            url=s.get("url"),
            kind=s["kind"],
            organisation=org_ref(s["organisation"]),
            created_at=rules.aware(s["created_at"]),
        )

    async def list_needs(self, who: Principal, req: c.ListNeeds) -> c.NeedPage:
        needs = await self.repo.needs_matching(category=req.category, status=req.status)
        if req.q:
            needs = self._search(needs, req.q)
        per_need: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for s in await self.repo.all_supports():
            per_need[s["need_id"]].append(s["organisation"])
        if req.landkreis:
            needs = [n for n in needs if any(o.get("kreis") == req.landkreis for o in per_need[n["_id"]])]
        rows = []
        for n in needs:
            orgs = per_need[n["_id"]]
            count, inhabitants = len(orgs), sum(int(o.get("population") or 0) for o in orgs)
            rows.append(
                (
                    rules.sort_key(req.sort, count, inhabitants, n["created_at"], n["_id"]),
                    n,
                    count,
                    inhabitants,
                )
            )
        rows.sort(key=lambda r: r[0])
        if req.cursor:
            after = rules.decode_cursor(req.cursor)
            rows = [r for r in rows if r[0] > after]
        page = rows[: req.limit]
        items = [
            c.NeedSummary(
                id=n["_id"],
                title=n["title"],
                category=n["category"],
                status=n["status"],
                organisation=org_ref(n["organisation"]),
                supporter_count=count,
                affected_inhabitants=inhabitants,
                created_at=rules.aware(n["created_at"]),
                tags=list(n.get("tags") or []),
            )
            for _, n, count, inhabitants in page
        ]
        more = len(rows) > req.limit
        return c.NeedPage(
            items=items, next_cursor=rules.encode_cursor(page[-1][0]) if more and page else None
        )

    @staticmethod
    def _search(needs: list[Document], q: str) -> list[Document]:
        """Every word of the query must occur, inflected or inside a compound
        ("Friedhöfe" finds "Friedhofsverwaltung")."""
        wanted = set(tokens(q))
        folded = fold(q.strip())
        out = []
        for n in needs:
            text = " ".join([n["title"], n["description"], *(n.get("tags") or [])])
            have = set(tokens(text))
            if folded in fold(text) or (wanted and all(any(w in t for t in have) for w in wanted)):
                out.append(n)
        return out

    async def similar(self, who: Principal, req: c.FindSimilar) -> c.SimilarList:
        await self._refresh_index()
        found = self._index.query(req.text, req.limit, exclude=req.exclude)
        if not found:
            return c.SimilarList(items=[])
        docs = await self._found_needs([i for i, _ in found])
        counts = await self._counts()
        return c.SimilarList(
            items=[
                c.SimilarNeed(
                    id=i,
                    title=docs[i]["title"],
                    score=score,
                    supporter_count=counts.get(i, 0),
                    status=docs[i]["status"],
                )
                for i, score in found
                if i in docs
            ]
        )

    async def _found_needs(self, ids: list[str]) -> dict[str, Document]:
        """Title and status of the suggested needs, read at most every SIMILAR_RECHECK_SECONDS
        per need (a status set here shows at once): suggestions are asked for as people type,
        and each answer read its needs again."""
        out: dict[str, Document] = {}
        missing = []
        for need_id in ids:
            known = self._suggested.get(need_id)
            if known is None:
                missing.append(need_id)
            else:
                out[need_id] = known
        for doc in await self.repo.needs_each(missing) if missing else []:
            brief = {"_id": doc["_id"], "title": doc["title"], "status": doc["status"]}
            self._suggested.put(doc["_id"], brief)
            out[doc["_id"]] = brief
        return out

    async def _counts(self) -> dict[str, int]:
        """Supporters per need. Waited for only when there is none (at start, after this
        instance's own change); a periodic refresh (a scan of all supports) runs in the
        background while lookups answer with the current counts: the lookup that happened to
        trigger it used to wait a second for it."""
        if self._support_counts is None:
            self._support_counts_at = time.monotonic()
            counts = await self.repo.support_counts()
            if self._support_counts is None:
                self._support_counts = counts
            return counts
        if time.monotonic() - self._support_counts_at > SIMILAR_RECHECK_SECONDS:
            self._support_counts_at = time.monotonic()
            self._background(self._reload_counts(), "needs-support-counts")
        return self._support_counts

    async def _reload_counts(self) -> None:
        counts = await self.repo.support_counts()
        if self._support_counts is not None:  # else a change here meanwhile: the next lookup reads
            self._support_counts = counts

    def _background(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)

    async def _refresh_index(self) -> None:
        """Rebuild whenever the number of needs has changed (other instances add needs too),
        checked at most every SIMILAR_RECHECK_SECONDS. Only the very first build is waited for;
        later checks (a count, a scan on FerretDB) and builds run in the background while lookups
        use the current index: a build over thousands of needs takes seconds, and every lookup
        used to wait for it."""
        if self._indexed < 0:
            self._index_checked_at = time.monotonic()
            await self._rebuild(await self.repo.need_count())
            return
        if time.monotonic() - self._index_checked_at < SIMILAR_RECHECK_SECONDS:
            return
        self._index_checked_at = time.monotonic()
        if self._rebuilding is None or self._rebuilding.done():
            self._rebuilding = asyncio.create_task(self._check_index(), name="needs-index")
            self._rebuilding.add_done_callback(_log_failure)

    async def _check_index(self) -> None:
        count = await self.repo.need_count()
        if count != self._indexed:
            await self._rebuild(count)

    async def _rebuild(self, count: int) -> None:
        async with self._index_lock:
            if count == self._indexed:
                return
            self._added = []
            docs = await self.repo.all_need_texts()
            texts = [
                TextDoc(d["_id"], d["title"], " ".join([d["description"], *(d.get("tags") or [])]))
                for d in docs
            ]
            # seconds of CPU for thousands of needs: in a thread, so the service keeps answering
            index = await asyncio.to_thread(Index.build, texts)
            # needs this instance reported while the build read the others
            for text in self._added:
                if text.id not in index.docs:
                    index.add(text)
            self._index = index
            self._indexed = count

    # supports -------------------------------------------------------------------------

    async def _need(self, need_id: str) -> Document:
        doc = await self.repo.need(need_id)
        if doc is None:
            raise NotFound("Diesen Bedarf gibt es nicht.")
        return doc

    async def _result(self, need_id: str, org: Document) -> c.SupportResult:
        """The answer to "betrifft uns auch": the caller's Kommune supports the need, and the
        need's figures from a list of supports at most SUPPORTS_RECENT_SECONDS old (218 Kommunen
        at once each scanned the whole `supports` collection for it otherwise). The caller's own
        support is counted even when the list was read just before it was written."""
        supports = await self._recent_supports.get_or_load(need_id, lambda: self.repo.supports_of(need_id))
        orgs = {s["organisation"]["id"]: s["organisation"] for s in supports or []}
        orgs.setdefault(org["id"], org)
        return c.SupportResult(
            need_id=need_id,
            supporter_count=len(orgs),
            affected_inhabitants=sum(int(o.get("population") or 0) for o in orgs.values()),
            supported=True,
        )

    async def _reporter(self, need_id: str) -> str:
        """The reporting Kommune of an existing need (NotFound otherwise)."""

        async def load() -> str:
            return str((await self._need(need_id))["organisation"]["id"])

        reporter = await self._reporters.get_or_load(need_id, load)
        if reporter is None:  # load raises for an unknown need; this is for the type checker
            raise NotFound("Diesen Bedarf gibt es nicht.")
        return reporter

    async def support(self, who: Principal, req: c.Support) -> c.SupportResult:
        reporter = await self._reporter(req.id)
        org = await self.directory.kommune_of(who)
        comment = req.comment.strip() if req.comment and req.comment.strip() else None
        event = outbox_entry(
            c.EVENT_NEED_SUPPORTED,
            c.NeedSupported(
                need_id=req.id,
                organisation_id=org["id"],
                reporting_organisation_id=reporter,
                by=who.person_id,
            ),
            subject=f"needs/{req.id}",
        )
        doc: Document = {
            "_id": f"{req.id}:{org['id']}",
            "need_id": req.id,
            "organisation": org,
            "comment": comment,
            "by": who.person_id,
            "at": _now(),
            "reporter": False,
            "outbox": [event],
        }
        # One document per Kommune and need, written without looking first: a new mark (the
        # usual case) is one insert; a second click, or the reporting Kommune's own, loses on _id.
        self._support_counts = None
        if await self.repo.insert_support(doc):
            self.on_outbox(self.repo.supports, doc["_id"], [event])
            return await self._result(req.id, org)
        existing = await self.repo.support(req.id, org["id"])
        if existing is not None and not existing.get("reporter"):
            if comment is not None and comment != existing.get("comment"):
                await self.repo.update_support_comment(req.id, org["id"], comment)
        return await self._result(req.id, org)

    async def withdraw_support(self, who: Principal, need_id: str) -> None:
        need = await self._need(need_id)
        # only a Kommune has a support to withdraw; the Land gets the same 403 as when marking
        await self.directory.kommune_of(who)
        existing = await self.repo.support(need_id, who.organisation_id)
        if existing is None:
            return
        if existing.get("reporter"):
            raise Conflict("Die meldende Kommune kann ihre eigene Meldung nicht zurückziehen.")
        event = outbox_entry(
            c.EVENT_SUPPORT_WITHDRAWN,
            c.SupportWithdrawn(
                need_id=need_id,
                organisation_id=who.organisation_id,
                reporting_organisation_id=need["organisation"]["id"],
                by=who.person_id,
            ),
            subject=f"needs/{need_id}",
        )
        # the event's home is written first: a crash before the delete leaves a withdrawal that
        # a retry completes, never a silent one
        withdrawal_id = f"{need_id}:{who.organisation_id}:{event['id']}"
        await self.repo.record_withdrawal(
            {
                "_id": withdrawal_id,
                "need_id": need_id,
                "organisation_id": who.organisation_id,
                "outbox": [event],
            }
        )
        await self.repo.delete_support(need_id, who.organisation_id)
        self._support_counts = None
        self._recent_supports.drop(need_id)
        self.on_outbox(self.repo.withdrawals, withdrawal_id, [event])

    # status and solutions ---------------------------------------------------------------

    async def set_status(self, who: Principal, req: c.SetStatus) -> c.Need:
        if not who.has_any("ministry", "lotse", "admin"):
            raise Forbidden("Den Status setzen nur das Ministerium und die Digital-Lotsen.")
        need = await self._need(req.id)
        reason = req.reason.strip() if req.reason and req.reason.strip() else None
        if req.status == "abgelehnt" and not reason:
            raise Invalid(
                "Eine Ablehnung braucht eine Begründung.",
                [field("reason", "Bitte begründen Sie die Ablehnung.")],
            )
        if not rules.allowed(need["status"], req.status):
            raise Conflict(
                f"Vom Status „{c.STATUS_LABELS[need['status']]}“ geht es nicht nach „{c.STATUS_LABELS[req.status]}“."
            )
        now = _now()
        event = outbox_entry(
            c.EVENT_STATUS_CHANGED,
            c.NeedStatusChanged(
                need_id=req.id,
                old_status=need["status"],
                status=req.status,
                reason=reason,
                reporting_organisation_id=need["organisation"]["id"],
                by=who.person_id,
            ),
            subject=f"needs/{req.id}",
        )
        change = {"status": req.status, "reason": reason, "by": who.person_id, "at": now}
        await self.repo.set_status(req.id, req.status, change, [event])
        self._suggested.drop(req.id)
        self.on_outbox(self.repo.needs, req.id, [event])
        return await self.get(who, req.id)

    async def add_solution(self, who: Principal, req: c.AddSolution) -> c.Solution:
        await self._need(req.need_id)
        org = (await self.directory.organisations(who, [who.organisation_id])).get(who.organisation_id)
        if org is None:
            raise Forbidden("Ihre Organisation ist unbekannt.")
        solution_id = uuid.uuid4().hex
        event = outbox_entry(
            c.EVENT_SOLUTION_ADDED,
            c.SolutionAdded(
                need_id=req.need_id,
                solution_id=solution_id,
                title=req.title.strip(),
                kind=req.kind,
                organisation_id=org.id,
            ),
            subject=f"needs/{req.need_id}",
        )
        doc: Document = {
            "_id": solution_id,
            "need_id": req.need_id,
            "title": req.title.strip(),
            "description": req.description.strip(),
            "url": req.url,
            "kind": req.kind,
            "organisation": snapshot(org),
            "by": who.person_id,
            "created_at": _now(),
            "outbox": [event],
        }
        await self.repo.insert_solution(doc)
        self.on_outbox(self.repo.solutions, solution_id, [event])
        return self._solution(doc)

    # pilots ---------------------------------------------------------------------------

    async def open_pilot(self, who: Principal, req: c.OpenPilot) -> c.Pilot:
        if not who.is_ministry:
            raise Forbidden("Pilotvorhaben eröffnet das Ministerium.")
        need_ids = list(dict.fromkeys(req.need_ids))
        found = {d["_id"] for d in await self.repo.needs_by_ids(need_ids)}
        unknown = [i for i in need_ids if i not in found]
        if unknown:
            raise Invalid(
                "Unbekannte Bedarfe.", [field("need_ids", f"Unbekannte Bedarfe: {', '.join(unknown)}")]
            )
        closes = rules.aware(req.signup_closes_at)
        if closes <= _now():
            raise Invalid(
                "Die Frist liegt in der Vergangenheit.",
                [field("signup_closes_at", "Die Anmeldefrist muss in der Zukunft liegen.")],
            )
        pilot_id = uuid.uuid4().hex
        event = outbox_entry(
            c.EVENT_PILOT_OPENED,
            c.PilotOpened(
                pilot_id=pilot_id,
                title=req.title.strip(),
                need_ids=need_ids,
                capacity=req.capacity,
                signup_closes_at=closes,
                by=who.person_id,
            ),
            subject=f"pilots/{pilot_id}",
        )
        doc: Document = {
            "_id": pilot_id,
            "title": req.title.strip(),
            "description": req.description.strip(),
            "need_ids": need_ids,
            "capacity": req.capacity,
            "signup_closes_at": closes,
            "created_by": who.person_id,
            "created_at": _now(),
            "selection": None,
            "outbox": [event],
        }
        await self.repo.insert_pilot(doc)
        self.on_outbox(self.repo.pilots, pilot_id, [event])
        return await self.pilot(who, pilot_id)

    async def _pilot_doc(self, pilot_id: str) -> Document:
        doc = await self.repo.pilot(pilot_id)
        if doc is None:
            raise NotFound("Dieses Pilotvorhaben gibt es nicht.")
        return doc

    def _pilot_view(self, who: Principal, doc: Document, signups: list[Document]) -> c.Pilot:
        placed = rules.place(signups, doc["capacity"], doc.get("selection"))

        # contact details are for the ministry and the Kommune itself
        def visible(org_id: str) -> bool:
            return who.is_ministry or who.has_any("lotse") or org_id == who.organisation_id

        return c.Pilot(
            id=doc["_id"],
            title=doc["title"],
            description=doc["description"],
            need_ids=list(doc["need_ids"]),
            capacity=doc["capacity"],
            signup_closes_at=rules.aware(doc["signup_closes_at"]),
            created_at=rules.aware(doc["created_at"]),
            seats_left=rules.seats_left(placed, doc["capacity"]),
            selection_made=doc.get("selection") is not None,
            open=doc.get("selection") is None and rules.aware(doc["signup_closes_at"]) > _now(),
            signups=[
                c.Signup(
                    organisation=org_ref(p.doc["organisation"]),
                    status=p.status,
                    position=p.position,
                    signed_up_at=rules.aware(p.doc["signed_up_at"]),
                    contact_name=p.doc.get("contact_name") if visible(p.doc["organisation"]["id"]) else None,
                    contact_email=p.doc.get("contact_email")
                    if visible(p.doc["organisation"]["id"])
                    else None,
                    note=p.doc.get("note") if visible(p.doc["organisation"]["id"]) else None,
                )
                for p in placed
            ],
        )

    async def pilot(self, who: Principal, pilot_id: str) -> c.Pilot:
        doc = await self._pilot_doc(pilot_id)
        return self._pilot_view(who, doc, await self.repo.signups_of(pilot_id))

    async def pilots(self, who: Principal, req: c.ListPilots) -> c.PilotPage:
        docs = sorted(
            await self.repo.pilots_all(), key=lambda d: (rules.aware(d["created_at"]), d["_id"]), reverse=True
        )
        if req.need_id:
            docs = [d for d in docs if req.need_id in d["need_ids"]]
        if req.cursor:
            ids = [d["_id"] for d in docs]
            docs = docs[ids.index(req.cursor) + 1 :] if req.cursor in ids else []
        page = docs[: req.limit]
        signups = await self.repo.signups_for([d["_id"] for d in page]) if page else []
        items = [self._pilot_view(who, d, [s for s in signups if s["pilot_id"] == d["_id"]]) for d in page]
        return c.PilotPage(
            items=items, next_cursor=page[-1]["_id"] if len(docs) > req.limit and page else None
        )

    async def sign_up(self, who: Principal, req: c.SignUp) -> c.SignupResult:
        pilot = await self._pilot_doc(req.pilot_id)
        org = await self.directory.kommune_of(who)
        async with self.locks.hold(f"pilot:{req.pilot_id}"):
            if pilot.get("selection") is not None:
                raise Conflict("Die Auswahl ist bereits getroffen; Anmeldungen sind geschlossen.")
            if rules.aware(pilot["signup_closes_at"]) <= _now():
                raise Conflict("Die Anmeldefrist ist abgelaufen.")
            existing = await self.repo.signup(req.pilot_id, org["id"])
            doc_id = f"{req.pilot_id}:{org['id']}"
            if existing is None or existing.get("withdrawn_at"):
                event = outbox_entry(
                    c.EVENT_SIGNED_UP,
                    c.SignedUp(pilot_id=req.pilot_id, organisation_id=org["id"], by=who.person_id),
                    subject=f"pilots/{req.pilot_id}",
                )
                doc: Document = {
                    "_id": doc_id,
                    "pilot_id": req.pilot_id,
                    "organisation": org,
                    "contact_name": req.contact_name.strip(),
                    "contact_email": req.contact_email.strip(),
                    "note": (req.note or "").strip() or None,
                    "by": who.person_id,
                    "signed_up_at": _now(),
                    "withdrawn_at": None,
                    "outbox": [event],
                }
                if existing is None:
                    fresh = await self.repo.insert_signup(doc)
                else:
                    await self.repo.replace_signup(doc)
                    fresh = True
                if fresh:
                    placed = rules.place(await self.repo.signups_of(req.pilot_id), pilot["capacity"], None)
                    mine = next(p for p in placed if p.doc["_id"] == doc_id)
                    events = [event]
                    if mine.status == "confirmed" and rules.seats_left(placed, pilot["capacity"]) == 0:
                        full = outbox_entry(
                            c.EVENT_PILOT_FULL,
                            c.PilotFull(pilot_id=req.pilot_id, capacity=pilot["capacity"]),
                            subject=f"pilots/{req.pilot_id}",
                        )
                        await self.repo.add_outbox(self.repo.signups, doc_id, [full])
                        events.append(full)
                    self.on_outbox(self.repo.signups, doc_id, events)
            placed = rules.place(await self.repo.signups_of(req.pilot_id), pilot["capacity"], None)
        mine = next(p for p in placed if p.doc["_id"] == doc_id)
        return c.SignupResult(status=mine.status, position=mine.position)

    async def withdraw_signup(self, who: Principal, pilot_id: str) -> None:
        pilot = await self._pilot_doc(pilot_id)
        # as for signing up: only a Kommune has a sign-up, the Land gets 403, not a silent 204
        await self.directory.kommune_of(who)
        async with self.locks.hold(f"pilot:{pilot_id}"):
            existing = await self.repo.signup(pilot_id, who.organisation_id)
            if existing is None or existing.get("withdrawn_at"):
                return
            if pilot.get("selection") is not None:
                raise Conflict("Nach der Auswahl ist ein Rückzug nur über das Ministerium möglich.")
            event = outbox_entry(
                c.EVENT_SIGNUP_WITHDRAWN,
                c.SignupWithdrawn(pilot_id=pilot_id, organisation_id=who.organisation_id, by=who.person_id),
                subject=f"pilots/{pilot_id}",
            )
            await self.repo.withdraw_signup(pilot_id, who.organisation_id, _now(), [event])
            self.on_outbox(self.repo.signups, existing["_id"], [event])

    async def select(self, who: Principal, req: c.Select) -> c.Pilot:
        if not who.is_ministry:
            raise Forbidden("Die Auswahl trifft das Ministerium.")
        pilot = await self._pilot_doc(req.pilot_id)
        async with self.locks.hold(f"pilot:{req.pilot_id}"):
            if pilot.get("selection") is not None:
                raise Conflict("Die Auswahl ist bereits getroffen.")
            signups = await self.repo.signups_of(req.pilot_id)
            active = {s["organisation"]["id"] for s in signups if not s.get("withdrawn_at")}
            chosen = list(dict.fromkeys(req.organisation_ids))
            unknown = [o for o in chosen if o not in active]
            if unknown:
                raise Invalid(
                    "Nicht angemeldete Kommunen.",
                    [field("organisation_ids", f"Nicht (mehr) angemeldet: {', '.join(unknown)}")],
                )
            if len(chosen) > pilot["capacity"]:
                raise Invalid(
                    "Zu viele Kommunen.",
                    [field("organisation_ids", f"Höchstens {pilot['capacity']} Plätze.")],
                )
            declined = sorted(active - set(chosen))
            event = outbox_entry(
                c.EVENT_SELECTION_MADE,
                c.SelectionMade(pilot_id=req.pilot_id, selected=chosen, declined=declined, by=who.person_id),
                subject=f"pilots/{req.pilot_id}",
            )
            await self.repo.set_selection(
                req.pilot_id, {"selected": chosen, "by": who.person_id, "at": _now()}, [event]
            )
            self.on_outbox(self.repo.pilots, req.pilot_id, [event])
        return await self.pilot(who, req.pilot_id)
