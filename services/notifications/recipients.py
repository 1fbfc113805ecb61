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
from services.contracts.envelope import Principal
from services.runtime.errors import NotFound
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


class Resolver:
    def __init__(self, rpc: RpcClient) -> None:
        self.rpc = rpc

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

    async def resolve(self, event_type: str, data: dict[str, Any]) -> Audience:
        """Recipients and message context; an empty audience for events nobody is told about."""
        try:
            return await self._resolve(event_type, data)
        except NotFound:
            # the thing is gone (deleted before delivery): nobody left to tell
            return Audience()

    async def _resolve(self, event_type: str, data: dict[str, Any]) -> Audience:
        actor = data.get("by")
        if event_type.startswith("need."):
            need = await self._need(data["need_id"])
            affected = {need.organisation.id} | {s.organisation.id for s in need.supporters}
            acting_org = data.get("organisation_id")
            orgs: set[str]
            if event_type == "need.support_withdrawn":
                # the withdrawing Kommune no longer supports it; tell the reporting Kommune
                orgs = {need.organisation.id}
            elif event_type in ("need.supported", "need.solution_added"):
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
        if event_type in ("pilot.full", "pilot.selection_made"):
            pilot = await self._pilot(data["pilot_id"])
            orgs = {s.organisation.id for s in pilot.signups if s.status != "withdrawn"}
            return Audience(await self.people_of(orgs), {"title": pilot.title})
        return Audience()
