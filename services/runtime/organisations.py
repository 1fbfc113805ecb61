"""Every organisation, read from the directory page by page (for the services that keep or walk
the whole list: a few hundred Kommunen, Kreise and the Land)."""

from __future__ import annotations

from services.contracts import directory as d
from services.contracts.envelope import Principal
from services.runtime.rpc import RpcClient


async def all_organisations(rpc: RpcClient, principal: Principal) -> list[d.Organisation]:
    found: list[d.Organisation] = []
    cursor: str | None = None
    while True:
        page = await rpc.call(
            d.SERVICE,
            d.Endpoints.ORGANISATIONS_LIST,
            d.ListOrganisations(limit=100, cursor=cursor),
            d.OrganisationPage,
            principal=principal,
        )
        found += page.items
        if not page.next_cursor:
            return found
        cursor = page.next_cursor
