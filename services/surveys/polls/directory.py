"""Who is who, asked of the directory service over NATS (never its database)."""

from __future__ import annotations

import time

from services.contracts import directory as d
from services.contracts.common import Empty
from services.contracts.envelope import Principal
from services.runtime.errors import NotFound
from services.runtime.rpc import RpcClient

# The AGs of a person are asked once per ballot otherwise; a short memory keeps a meeting's
# burst of ballots from becoming a burst of directory calls. Memberships change rarely.
MEMBERSHIP_TTL_SECONDS = 10.0


class Directory:
    def __init__(self, rpc: RpcClient) -> None:
        self.rpc = rpc
        self._groups_of: dict[str, tuple[float, frozenset[str]]] = {}

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

    async def group(self, who: Principal, group_id: str) -> d.Group | None:
        page = await self.rpc.call(d.SERVICE, d.Endpoints.GROUPS_LIST, Empty(), d.GroupPage, principal=who)
        return next((g for g in page.items if g.id == group_id), None)

    async def organisation(self, who: Principal, org_id: str) -> d.Organisation | None:
        try:
            return await self.rpc.call(
                d.SERVICE, d.Endpoints.ORGANISATION_GET, d.GetById(id=org_id), d.Organisation, principal=who
            )
        except NotFound:
            return None

    async def kommunen_count(self, who: Principal) -> int:
        """Every organisation except the Land itself."""
        count = 0
        cursor: str | None = None
        while True:
            page = await self.rpc.call(
                d.SERVICE,
                d.Endpoints.ORGANISATIONS_LIST,
                d.ListOrganisations(limit=100, cursor=cursor),
                d.OrganisationPage,
                principal=who,
            )
            count += sum(1 for o in page.items if o.kind != "land")
            if not page.next_cursor:
                return count
            cursor = page.next_cursor
