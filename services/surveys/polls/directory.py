"""Who is who, asked of the directory service over NATS (never its database)."""

from __future__ import annotations

import time

from services.contracts import directory as d
from services.contracts.common import Empty
from services.contracts.envelope import Principal
from services.runtime.errors import NotFound
from services.runtime.organisations import all_organisations
from services.runtime.rpc import RpcClient

# The AGs of a person are asked once per ballot otherwise; a short memory keeps a meeting's
# burst of ballots from becoming a burst of directory calls. Memberships change rarely.
MEMBERSHIP_TTL_SECONDS = 10.0


class Directory:
    def __init__(self, rpc: RpcClient) -> None:
        self.rpc = rpc
        self._groups_of: dict[str, tuple[float, frozenset[str]]] = {}
        self._members: dict[str, tuple[float, list[d.Member]]] = {}
        self._kinds: dict[str, tuple[float, str | None]] = {}

    async def groups_of(self, who: Principal) -> frozenset[str]:
        cached = self._groups_of.get(who.person_id)
        now = time.monotonic()
        if cached and now - cached[0] < MEMBERSHIP_TTL_SECONDS:
            return cached[1]
        me = await self.rpc.call(d.SERVICE, d.Endpoints.ME, Empty(), d.Me, principal=who)
        groups = frozenset(g.id for g in me.groups)
        if len(self._groups_of) > 10_000:
            self._groups_of.clear()
        self._groups_of[who.person_id] = (now, groups)
        return groups

    async def group_members(self, who: Principal, group_id: str) -> list[d.Member]:
        """The AG's active members (remembered briefly, like the AGs of a person)."""
        cached = self._members.get(group_id)
        now = time.monotonic()
        if cached and now - cached[0] < MEMBERSHIP_TTL_SECONDS:
            return cached[1]
        found = await self.rpc.call(
            d.SERVICE,
            d.Endpoints.GROUP_MEMBERS,
            d.GetGroupMembers(group_id=group_id),
            d.MemberList,
            principal=who,
        )
        self._members[group_id] = (now, found.items)
        return found.items

    async def kommunen_of(self, who: Principal, organisation_ids: set[str]) -> set[str]:
        """Those of the organisations that are Kommunen (not the Land or a Ressort)."""
        if not organisation_ids:
            return set()
        found = await self.rpc.call(
            d.SERVICE,
            d.Endpoints.ORGANISATIONS_BATCH,
            d.GetOrganisations(ids=sorted(organisation_ids)),
            d.OrganisationList,
            principal=who,
        )
        return {o.id for o in found.items if d.is_kommune(o.kind)}

    async def group(self, who: Principal, group_id: str) -> d.Group | None:
        page = await self.rpc.call(d.SERVICE, d.Endpoints.GROUPS_LIST, Empty(), d.GroupPage, principal=who)
        return next((g for g in page.items if g.id == group_id), None)

    async def organisation_kind(self, who: Principal, org_id: str) -> str | None:
        """The kind of an organisation (None if there is none); kinds never change."""
        cached = self._kinds.get(org_id)
        if cached:
            return cached[1]
        try:
            org = await self.rpc.call(
                d.SERVICE, d.Endpoints.ORGANISATION_GET, d.GetById(id=org_id), d.Organisation, principal=who
            )
        except NotFound:
            return None
        if len(self._kinds) > 10_000:
            self._kinds.clear()
        self._kinds[org_id] = (time.monotonic(), org.kind)
        return org.kind

    async def organisation_ids(self, who: Principal) -> list[tuple[str, str]]:
        """Every organisation as (id, kind), the Land included."""
        return [(o.id, o.kind) for o in await all_organisations(self.rpc, who)]

    async def people_count(self) -> int:
        """Every active person on the platform (asked as the service: the list has addresses)."""
        service = Principal.for_service("surveys")
        ids = [org_id for org_id, _ in await self.organisation_ids(service)]
        people = await self.rpc.call(
            d.SERVICE,
            d.Endpoints.PEOPLE_OF_ORGANISATIONS,
            d.GetPeopleOfOrganisations(organisation_ids=ids),
            d.PeopleList,
            principal=service,
        )
        return len(people.items)

    async def kommunen_count(self, who: Principal) -> int:
        """Every organisation except the Land and its Ressorts."""
        return sum(1 for _, kind in await self.organisation_ids(who) if d.is_kommune(kind))
