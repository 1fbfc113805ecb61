"""Organisation facts from the directory service (over NATS; never its database)."""

from __future__ import annotations

from typing import Any

from services.contracts import directory as d
from services.contracts.envelope import Principal
from services.runtime.errors import Forbidden
from services.runtime.recent import Recent
from services.runtime.rpc import RpcClient

# A Kommune's name, kind and population change with a register import, a few times a year; a
# minute-old copy in a support is as good as a fresh one. 218 Kommunen marking one need at once
# each asked the directory otherwise (a hop and a lookup, 0.3 ms of CPU per support).
ORGANISATION_RECENT_SECONDS = 60.0


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
        self._kommunen: Recent[str, d.Organisation] = Recent(ORGANISATION_RECENT_SECONDS)

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
        org_id = who.organisation_id
        org = await self._kommunen.get_or_load(org_id, lambda: self._organisation(who, org_id))
        if org is None or not d.is_kommune(org.kind):
            raise Forbidden("Nur Beschäftigte einer Kommune können das für ihre Kommune tun.")
        return snapshot(org)

    async def _organisation(self, who: Principal, org_id: str) -> d.Organisation | None:
        return (await self.organisations(who, [org_id])).get(org_id)
