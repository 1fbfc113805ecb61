"""Who is told about an event, resolved at delivery time from the services that know.

Only this module asks other services; it uses the notifications service's own principal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.contracts import directory as d
from services.contracts import needs as nd
from services.contracts import spotlights as sp
from services.contracts.envelope import Principal
from services.notifications import supporters
from services.runtime.errors import NotFound
from services.runtime.organisations import all_organisations
from services.runtime.recent import Recent
from services.runtime.rpc import RpcClient

ME = Principal.for_service("notifications")
BERLIN = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str
    email: str
    organisation_id: str


@dataclass
class Audience:
    people: list[Person] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)


def _local_date(value: str) -> str:
    return datetime.fromisoformat(value).astimezone(BERLIN).strftime("%d.%m.%Y, %H:%M Uhr")


# How long a burst of "betrifft uns auch" on one need shares a read of the need and of the
# people told (a Kommune's people change by invitation, a need's title rarely; a supporter that
# is not in the shared read yet makes its own event read again)
SUPPORT_BURST_SECONDS = 2.0


class Resolver:
    def __init__(self, rpc: RpcClient) -> None:
        self.rpc = rpc
        self._recent_needs: Recent[str, nd.Need] = Recent(SUPPORT_BURST_SECONDS)
        self._recent_people: Recent[tuple[str, ...], list[Person]] = Recent(SUPPORT_BURST_SECONDS)

    async def people_of(self, organisation_ids: set[str]) -> list[Person]:
        if not organisation_ids:
            return []
        found = await self.rpc.call(
            d.SERVICE,
            d.Endpoints.PEOPLE_OF_ORGANISATIONS,
            d.GetPeopleOfOrganisations(organisation_ids=sorted(organisation_ids)),
            d.PeopleList,
            principal=ME,
        )
        return [Person(p.id, p.name, p.email, p.organisation_id) for p in found.items if p.active]

    async def people_by_ids(self, person_ids: set[str]) -> list[Person]:
        if not person_ids:
            return []
        found = await self.rpc.call(
            d.SERVICE,
            d.Endpoints.PEOPLE_BY_IDS,
            d.GetPeople(ids=sorted(person_ids)),
            d.PeopleList,
            principal=ME,
        )
        return [Person(p.id, p.name, p.email, p.organisation_id) for p in found.items if p.active]

    async def _voters(self, group_id: str | None, voters: str) -> list[Person]:
        """An AG's members (or everyone in their Kommunen when Kommunen vote); without an AG, everyone."""
        if group_id:
            members = await self.rpc.call(
                d.SERVICE,
                d.Endpoints.GROUP_MEMBERS,
                d.GetGroupMembers(group_id=group_id),
                d.MemberList,
                principal=ME,
            )
            if voters == "organisation":
                return await self.people_of({m.organisation_id for m in members.items})
            return await self.people_by_ids({m.person_id for m in members.items})
        org_ids = {o.id for o in await all_organisations(self.rpc, ME)}
        return await self.people_of(org_ids)

    async def _org_name(self, org_id: str) -> str:
        found = await self.rpc.call(
            d.SERVICE,
            d.Endpoints.ORGANISATIONS_BATCH,
            d.GetOrganisations(ids=[org_id]),
            d.OrganisationList,
            principal=ME,
        )
        return found.items[0].name if found.items else org_id

    async def _need(self, need_id: str) -> nd.Need:
        return await self.rpc.call(
            nd.SERVICE, nd.Endpoints.GET, nd.GetNeed(id=need_id), nd.Need, principal=ME
        )

    async def _pilot(self, pilot_id: str) -> nd.Pilot:
        return await self.rpc.call(
            nd.SERVICE, nd.Endpoints.PILOT_GET, nd.GetNeed(id=pilot_id), nd.Pilot, principal=ME
        )

    async def _meeting(self, event_type: str, data: dict[str, Any]) -> Audience:
        """The registered people (named in the fact) and, for an AG's meeting, the AG's members;
        a new meeting only concerns its AG. Whoever made the change is not told about it."""
        people: dict[str, Person] = {}
        group_id = data.get("group_id")
        if group_id:
            for p in await self._voters(group_id, "person"):
                people[p.id] = p
        if event_type != "meeting.created":
            for p in await self.people_by_ids(set(data.get("registered") or [])):
                people[p.id] = p
        actor = data.get("by")
        ctx: dict[str, Any] = {}
        if data.get("starts_at"):
            ctx["when"] = _local_date(data["starts_at"])
        if data.get("original_starts_at"):
            ctx["was"] = _local_date(data["original_starts_at"])
        return Audience([p for p in people.values() if p.id != actor], ctx)

    async def resolve(self, event_type: str, data: dict[str, Any]) -> Audience:
        """Recipients and message context; an empty audience for events nobody is told about."""
        try:
            return await self._resolve(event_type, data)
        except NotFound:
            # the thing is gone (deleted before delivery): nobody left to tell
            return Audience()

    async def _supported(self, data: dict[str, Any]) -> Audience:
        """A "betrifft uns auch" (supporters.py decides who hears of it). The events of a burst
        (218 Kommunen at once) share one read of the need and of the people told, where each
        read the need with all its supporters and asked the directory for names and people,
        competing with the marks still being made."""
        need_id, acting_org = data["need_id"], data.get("organisation_id") or ""
        need = self._recent_needs.get(need_id)
        if need is None or not any(s.organisation.id == acting_org for s in need.supporters):
            # read after the support was written, or never: this event's support is in it
            need = await self._need(need_id)
            self._recent_needs.put(need_id, need)
        reporter = need.organisation.id
        count = supporters.affected_count(
            reporter, [(s.at, s.organisation.id) for s in need.supporters], acting_org
        )
        if supporters.supporters_told(count):
            orgs = {reporter} | {s.organisation.id for s in need.supporters}
        else:
            orgs = {reporter}
        orgs.discard(acting_org)
        ctx: dict[str, Any] = {"title": need.title}
        if count is not None and count > supporters.TELL_EACH_UP_TO:
            ctx["count"] = count
        named = [s.organisation.name for s in need.supporters if s.organisation.id == acting_org]
        if named:
            ctx["org"] = named[0]
        elif acting_org:  # withdrawn since (or no Kommune named): asked for by its id
            ctx["org"] = await self._org_name(acting_org)
        key = tuple(sorted(orgs))
        people = await self._recent_people.get_or_load(key, lambda: self.people_of(orgs))
        return Audience([p for p in people or [] if p.id != data.get("by")], ctx)

    async def _resolve(self, event_type: str, data: dict[str, Any]) -> Audience:
        actor = data.get("by")
        if event_type == "need.supported":
            return await self._supported(data)
        if event_type.startswith("need."):
            need = await self._need(data["need_id"])
            affected = {need.organisation.id} | {s.organisation.id for s in need.supporters}
            acting_org = data.get("organisation_id")
            orgs: set[str]
            if event_type == "need.support_withdrawn":
                # the withdrawing Kommune no longer supports it; tell the reporting Kommune
                orgs = {need.organisation.id}
            elif event_type == "need.solution_added":
                orgs = affected - {acting_org}
            else:
                orgs = affected
            ctx: dict[str, Any] = {
                "title": need.title,
                "status_label": nd.STATUS_LABELS.get(data.get("status", ""), ""),
            }
            if acting_org:
                ctx["org"] = await self._org_name(acting_org)
            people = [p for p in await self.people_of(orgs) if p.id != actor]
            return Audience(people, ctx)
        if event_type == "pilot.opened":
            orgs = set()
            for need_id in data.get("need_ids", []):
                try:
                    need = await self._need(need_id)
                except NotFound:
                    continue
                orgs |= {need.organisation.id} | {s.organisation.id for s in need.supporters}
            closes = datetime.fromisoformat(data["signup_closes_at"]).astimezone(BERLIN)
            return Audience(
                await self.people_of(orgs),
                {"title": data.get("title", ""), "deadline": closes.strftime("%d.%m.%Y")},
            )
        if event_type in ("survey.published", "survey.reminder_requested", "survey.closing_soon"):
            # the fact names who is addressed (or still missing); their people are looked up now
            if data.get("respond_as") == "person" or data.get("person_ids"):
                people = await self.people_by_ids(set(data.get("person_ids") or []))
            else:
                people = await self.people_of(set(data.get("organisation_ids") or []))
            return Audience(people, {"closes": _local_date(data["closes_at"])})
        if event_type in ("poll.opened", "poll.closed", "topic.selected"):
            people = await self._voters(data.get("group_id"), data.get("voters", "person"))
            ctx = {"closes": _local_date(data["closes_at"])} if data.get("closes_at") else {}
            if event_type == "poll.closed":
                labels = {o["option_id"]: o["label"] for o in data.get("ranking", [])}
                ctx["winners"] = [labels.get(w, w) for w in data.get("winners", [])]
            return Audience([p for p in people if p.id != actor and p.id != data.get("created_by")], ctx)
        if event_type.startswith("meeting."):
            return await self._meeting(event_type, data)
        if event_type == "spotlight.status_changed":
            # the AG that made the proposal and the Kommunen behind it, named in the fact
            members = await self.rpc.call(
                d.SERVICE,
                d.Endpoints.GROUP_MEMBERS,
                d.GetGroupMembers(group_id=data["group_id"]),
                d.MemberList,
                principal=ME,
            )
            found = await self.people_by_ids({m.person_id for m in members.items})
            found += await self.people_of(set(data.get("organisation_ids") or []))
            unique = {p.id: p for p in found if p.id != actor}
            ctx = {"status_label": sp.STATUS_LABELS.get(data["status"], data["status"])}
            ctx["kind_label"] = sp.KIND_LABELS.get(data.get("kind", ""), "Spotlight")
            return Audience(sorted(unique.values(), key=lambda p: p.id), ctx)
        if event_type in ("pilot.full", "pilot.selection_made"):
            pilot = await self._pilot(data["pilot_id"])
            orgs = {s.organisation.id for s in pilot.signups if s.status != "withdrawn"}
            return Audience(await self.people_of(orgs), {"title": pilot.title})
        return Audience()
