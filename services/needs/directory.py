"""Organisation facts from the directory service (over NATS; never its database)."""

from __future__ import annotations

from typing import Any

from services.contracts import directory as d
from services.contracts.envelope import Principal
from services.runtime.errors import Forbidden
from services.runtime.organisations import all_organisations
from services.runtime.recent import Recent
from services.runtime.rpc import RpcClient

# The Land's few hundred organisations change with a register import, a few times a year: this
# service keeps a copy of all of them, read again after this many seconds. 218 Kommunen marking
# one need at once each asked the directory for their own otherwise (a hop and a lookup, ~0.15 ms
# of CPU per support on the bench machine).
ORGANISATIONS_FRESH_SECONDS = 300.0


def snapshot(org: d.Organisation) -> dict[str, Any]:
    """What a support or sign-up keeps of its organisation, so counts need no lookups later."""
    kreis = org.id if org.kind in ("landkreis", "kreisfreie_stadt") else org.parent_id
    return {
        "id": org.id,
        "name": org.name,
        "kind": org.kind,
        "ags": org.ags,
        "population": org.population or 0,
        "kreis": kreis if kreis and len(kreis) == 5 else None,
    }


class Directory:
    def __init__(self, rpc: RpcClient) -> None:
        self.rpc = rpc
        # all organisations by id; the requests of a burst share one read
        self._all: Recent[str, dict[str, d.Organisation]] = Recent(ORGANISATIONS_FRESH_SECONDS, max_entries=1)

    async def organisations(self, who: Principal, ids: list[str]) -> dict[str, d.Organisation]:
        if not ids:
            return {}
        found = await self.rpc.call(
            d.SERVICE,
            d.Endpoints.ORGANISATIONS_BATCH,
            d.GetOrganisations(ids=ids),
            d.OrganisationList,
            principal=who,
        )
        return {o.id: o for o in found.items}

    async def kommune_of(self, who: Principal) -> dict[str, Any]:
        """The caller's Kommune; people of the Land act for no Kommune."""
        org = await self._organisation(who, who.organisation_id)
        if org is None or not d.is_kommune(org.kind):
            raise Forbidden("Nur Beschäftigte einer Kommune können das für ihre Kommune tun.")
        return snapshot(org)

    async def _organisation(self, who: Principal, org_id: str) -> d.Organisation | None:
        async def read_all() -> dict[str, d.Organisation]:
            return {o.id: o for o in await all_organisations(self.rpc, who)}

        known = await self._all.get_or_load("all", read_all) or {}
        org = known.get(org_id)
        if org is None:
            # imported since the last full read (or not there at all)
            org = (await self.organisations(who, [org_id])).get(org_id)
            if org is not None:
                known[org_id] = org
        return org
