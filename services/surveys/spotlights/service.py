"""Spotlights and Quick Wins: create from an AG topic or a need, move through the statuses,
list and show. Rules live in `rules`; other services are asked over NATS (`Lookups`)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime

import msgspec

from services.contracts import directory as d
from services.contracts import needs as nd
from services.contracts import spotlights as c
from services.contracts import stats as st
from services.contracts.common import Empty
from services.contracts.envelope import FieldError, Principal
from services.runtime.errors import Conflict, Forbidden, Invalid, NotFound, field
from services.runtime.events import OutboxHook, ignore_outbox, outbox_entry
from services.runtime.mongo import Document
from services.runtime.rpc import RpcClient
from services.surveys.polls import rules as poll_rules
from services.surveys.polls.repository import PollsRepository
from services.surveys.polls.service import new_id
from services.surveys.spotlights import rules
from services.surveys.spotlights.repository import SpotlightsRepository


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Lookups:
    """What the Spotlights part asks the directory and the needs service."""

    def __init__(self, rpc: RpcClient) -> None:
        self.rpc = rpc
        self._kinds: dict[str, tuple[float, str | None]] = {}

    async def organisations(self, who: Principal, ids: Iterable[str]) -> dict[str, d.Organisation]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        found = await self.rpc.call(
            d.SERVICE,
            d.Endpoints.ORGANISATIONS_BATCH,
            d.GetOrganisations(ids=wanted),
            d.OrganisationList,
            principal=who,
        )
        return {o.id: o for o in found.items}

    async def kind_of(self, who: Principal) -> str | None:
        """The kind of the caller's organisation (kinds never change: remembered a while)."""
        cached = self._kinds.get(who.organisation_id)
        if cached and time.monotonic() - cached[0] < 300:
            return cached[1]
        org = (await self.organisations(who, [who.organisation_id])).get(who.organisation_id)
        kind = org.kind if org else None
        self._kinds[who.organisation_id] = (time.monotonic(), kind)
        return kind

    async def groups(self, who: Principal) -> dict[str, str]:
        page = await self.rpc.call(d.SERVICE, d.Endpoints.GROUPS_LIST, Empty(), d.GroupPage, principal=who)
        return {g.id: g.name for g in page.items}

    async def name_of(self, who: Principal) -> str:
        me = await self.rpc.call(d.SERVICE, d.Endpoints.ME, Empty(), d.Me, principal=who)
        return me.name

    async def people(self, who: Principal, ids: set[str]) -> list[d.Person]:
        if not ids:
            return []
        found = await self.rpc.call(
            d.SERVICE,
            d.Endpoints.PEOPLE_BY_IDS,
            d.GetPeople(ids=sorted(ids)),
            d.PeopleList,
            principal=Principal.for_service("surveys"),
        )
        return found.items

    async def need(self, who: Principal, need_id: str) -> nd.Need | None:
        try:
            return await self.rpc.call(
                nd.SERVICE, nd.Endpoints.GET, nd.GetNeed(id=need_id), nd.Need, principal=who
            )
        except NotFound:
            return None


def view(doc: Document, next_statuses: list[str] | None = None) -> c.Spotlight:
    return c.Spotlight(
        id=doc["_id"],
        title=doc["title"],
        kind=doc["kind"],
        proposal=doc["proposal"],
        reasoning=doc["reasoning"],
        status=doc["status"],
        group=c.Ref(**doc["group"]),
        ressorts=[c.Ref(**r) for r in doc["ressorts"]],
        supporters=[msgspec.convert(s, c.Supporter) for s in doc["supporters"]],
        created_by=doc["created_by"],
        created_at=_aware(doc["created_at"]),
        updated_at=_aware(doc["updated_at"]),
        topic=c.Ref(**doc["topic"]) if doc.get("topic") else None,
        need=c.Ref(**doc["need"]) if doc.get("need") else None,
        answer=doc.get("answer", ""),
        history=[
            c.StatusStep(
                at=_aware(h["at"]),
                status=h["status"],
                by=h["by"],
                by_name=h.get("by_name", ""),
                comment=h.get("comment", ""),
                answer=h.get("answer", ""),
            )
            for h in doc.get("history") or []
        ],
        next_statuses=list(next_statuses or []),  # type: ignore[arg-type]
    )


class SpotlightsService:
    def __init__(self, repo: SpotlightsRepository, polls: PollsRepository, lookups: Lookups) -> None:
        self.repo = repo
        self.polls = polls
        self.lookups = lookups
        self.on_outbox: OutboxHook = ignore_outbox

    # creating ----------------------------------------------------------------------------

    async def _topic_backers(self, topic: Document) -> tuple[set[str], set[str]]:
        """Kommunen and people who voted for the topic in any poll it stood in."""
        orgs: set[str] = set()
        people: set[str] = set()
        for poll_id in topic.get("polls") or []:
            poll = await self.polls.poll(poll_id)
            if poll is None:
                continue
            option = next((o["id"] for o in poll["options"] if o.get("topic_id") == topic["_id"]), None)
            if option is None:
                continue
            option_ids = [o["id"] for o in poll["options"]]
            for ballot in await self.polls.ballots_of(poll_id):
                if rules.voted_for(poll_rules.ballot_input(ballot, option_ids), option):
                    (orgs if poll["voters"] == "organisation" else people).add(ballot["voter"])
        return orgs, people

    async def create(self, who: Principal, req: c.CreateSpotlight) -> c.Spotlight:
        if not rules.may_draft(who):
            raise Forbidden(
                "Spotlights entwerfen die Moderation der AGs (Digital-Lotsen) und das Ministerium."
            )
        errors: list[FieldError] = []
        title, proposal, reasoning = req.title.strip(), req.proposal.strip(), req.reasoning.strip()
        if not title:
            errors.append(field("title", "Bitte geben Sie einen Titel ein."))
        if not proposal:
            errors.append(field("proposal", "Bitte beschreiben Sie den Vorschlag."))
        if not reasoning:
            errors.append(field("reasoning", "Bitte begründen Sie den Vorschlag."))
        if req.topic_id is None and req.need_id is None:
            errors.append(field("topic_id", "Ein Spotlight entsteht aus einem AG-Thema oder einem Bedarf."))
        topic = await self.polls.topic(req.topic_id) if req.topic_id else None
        if req.topic_id and topic is None:
            errors.append(field("topic_id", f"Ein Thema „{req.topic_id}“ gibt es nicht."))
        need = await self.lookups.need(who, req.need_id) if req.need_id else None
        if req.need_id and need is None:
            errors.append(field("need_id", f"Einen Bedarf „{req.need_id}“ gibt es nicht."))
        groups = await self.lookups.groups(who)
        group_id = topic["group_id"] if topic else req.group_id
        if topic and req.group_id and req.group_id != topic["group_id"]:
            errors.append(field("group_id", "Das Thema gehört zu einer anderen AG."))
        elif group_id is None and topic is None and not req.topic_id:
            errors.append(field("group_id", "Bitte wählen Sie die AG, die den Vorschlag macht."))
        elif group_id is not None and group_id not in groups:
            errors.append(field("group_id", f"Eine AG „{group_id}“ gibt es nicht."))
        found = await self.lookups.organisations(who, req.ressort_ids)
        ressorts: list[d.Organisation] = []
        for i, rid in enumerate(req.ressort_ids):
            org = found.get(rid)
            if org is None or org.kind != rules.RESSORT:
                errors.append(field(f"ressort_ids[{i}]", f"Ein Ressort „{rid}“ gibt es nicht."))
            elif org not in ressorts:
                ressorts.append(org)
        if errors:
            raise Invalid("Der Spotlight kann so nicht angelegt werden.", errors)
        assert group_id is not None

        backers: set[str] = set()
        if need is not None:
            backers |= {need.organisation.id} | {s.organisation.id for s in need.supporters}
        if topic is not None:
            orgs, people = await self._topic_backers(topic)
            backers |= orgs | {topic["organisation_id"]}
            backers |= {p.organisation_id for p in await self.lookups.people(who, people)}
        known = await self.lookups.organisations(who, backers)
        supporters = [
            {
                "id": o.id,
                "name": o.name,
                "kreis": rules.kreis_of(o.kind, o.ags),
                "population": o.population or 0,
            }
            for o in sorted(known.values(), key=lambda o: o.name)
            if d.is_kommune(o.kind)
        ]
        now = _now()
        spotlight_id = new_id("s")
        by_name = await self.lookups.name_of(who)
        doc: Document = {
            "_id": spotlight_id,
            "title": title,
            "kind": req.kind,
            "proposal": proposal,
            "reasoning": reasoning,
            "status": "entwurf",
            "group": {"id": group_id, "name": groups[group_id]},
            "ressorts": [{"id": r.id, "name": r.name} for r in ressorts],
            "ressort_ids": [r.id for r in ressorts],
            "supporters": supporters,
            "topic": {"id": topic["_id"], "name": topic["title"]} if topic else None,
            "need": {"id": need.id, "name": need.title} if need else None,
            "answer": "",
            "created_by": who.person_id,
            "created_at": now,
            "updated_at": now,
            "history": [
                {
                    "at": now,
                    "status": "entwurf",
                    "by": who.person_id,
                    "by_name": by_name,
                    "comment": "",
                    "answer": "",
                }
            ],
            "outbox": [],
        }
        await self.repo.insert(doc)
        return await self._view(who, doc)

    # reading -----------------------------------------------------------------------------

    async def _view(self, who: Principal, doc: Document) -> c.Spotlight:
        kind = await self.lookups.kind_of(who)
        return view(doc, rules.next_statuses(who, kind, doc["status"], doc["ressort_ids"]))

    async def get(self, who: Principal, spotlight_id: str) -> c.Spotlight:
        doc = await self.repo.get(spotlight_id)
        if doc is None:
            raise NotFound("Diesen Spotlight gibt es nicht.")
        return await self._view(who, doc)

    async def list_spotlights(self, who: Principal, req: c.ListSpotlights) -> c.SpotlightPage:
        docs = await self.repo.page(
            status=req.status,
            group_id=req.group_id,
            ressort_id=req.ressort_id,
            kind=req.kind,
            topic_id=req.topic_id,
            need_id=req.need_id,
            after=req.cursor,
            limit=req.limit + 1,
        )
        more = len(docs) > req.limit
        docs = docs[: req.limit]
        kind = await self.lookups.kind_of(who)
        items = [view(x, rules.next_statuses(who, kind, x["status"], x["ressort_ids"])) for x in docs]
        return c.SpotlightPage(items=items, next_cursor=docs[-1]["_id"] if more else None)

    # changing ----------------------------------------------------------------------------

    async def change_status(self, who: Principal, req: c.ChangeStatus) -> c.Spotlight:
        doc = await self.repo.get(req.id)
        if doc is None:
            raise NotFound("Diesen Spotlight gibt es nicht.")
        kind = await self.lookups.kind_of(who)
        old = doc["status"]
        comment, answer = req.comment.strip(), req.answer.strip()
        rules.check_change(who, kind, old, req.status, doc["ressort_ids"], comment=comment, answer=answer)
        now = _now()
        event = outbox_entry(
            c.EVENT_STATUS_CHANGED,
            c.SpotlightStatusChanged(
                spotlight_id=doc["_id"],
                title=doc["title"],
                kind=doc["kind"],
                old_status=old,
                status=req.status,
                group_id=doc["group"]["id"],
                organisation_ids=[s["id"] for s in doc["supporters"]],
                ressort_ids=list(doc["ressort_ids"]),
                by=who.person_id,
                comment=comment,
                answer=answer,
                topic_id=doc["topic"]["id"] if doc.get("topic") else None,
                need_id=doc["need"]["id"] if doc.get("need") else None,
            ),
            subject=f"spotlights/{doc['_id']}",
        )
        fields: Document = {"status": req.status, "updated_at": now}
        if answer:
            fields["answer"] = answer
        step = {
            "at": now,
            "status": req.status,
            "by": who.person_id,
            "by_name": await self.lookups.name_of(who),
            "comment": comment,
            "answer": answer,
        }
        if not await self.repo.change_status(doc["_id"], old, fields, step, [event]):
            raise Conflict("Der Spotlight wurde gerade von jemand anderem geändert. Bitte laden Sie neu.")
        self.on_outbox(self.repo.spotlights, doc["_id"], [event])
        return await self.get(who, doc["_id"])

    # figures -----------------------------------------------------------------------------

    async def stats(self) -> tuple[st.SpotlightFigures, dict[str, st.SpotlightFigures]]:
        """Spotlights past the draft, overall and per Kreis of their supporting Kommunen."""
        total = _empty_figures()
        by_kreis: dict[str, st.SpotlightFigures] = {}
        for doc in await self.repo.all_for_stats():
            if doc["status"] == "entwurf":
                continue
            _add(total, doc)
            for kreis in {s.get("kreis") for s in doc.get("supporters") or []} - {None}:
                _add(by_kreis.setdefault(kreis, _empty_figures()), doc)
        return total, by_kreis


def _empty_figures() -> st.SpotlightFigures:
    return st.SpotlightFigures(
        total=0, umgesetzt=0, by_status={s: 0 for s in c.STATUSES if s != "entwurf"}, quick_wins=0
    )


def _add(figures: st.SpotlightFigures, doc: Document) -> None:
    figures.total += 1
    figures.by_status[doc["status"]] = figures.by_status.get(doc["status"], 0) + 1
    figures.umgesetzt += doc["status"] == "umgesetzt"
    figures.quick_wins += doc["kind"] == "quick_win"
