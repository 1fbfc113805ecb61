"""Calls into the Spotlights part of the surveys service."""

from __future__ import annotations

from services.contracts import spotlights as c
from services.contracts.envelope import Principal
from services.runtime.rpc import RpcClient

E = c.Endpoints


class SpotlightsClient:
    def __init__(self, rpc: RpcClient) -> None:
        self.rpc = rpc

    async def create(self, who: Principal, req: c.CreateSpotlight) -> c.Spotlight:
        return await self.rpc.call(c.SERVICE, E.CREATE, req, c.Spotlight, principal=who)

    async def list(self, who: Principal, req: c.ListSpotlights) -> c.SpotlightPage:
        return await self.rpc.call(c.SERVICE, E.LIST, req, c.SpotlightPage, principal=who)

    async def get(self, who: Principal, spotlight_id: str) -> c.Spotlight:
        req = c.GetSpotlight(id=spotlight_id)
        return await self.rpc.call(c.SERVICE, E.GET, req, c.Spotlight, principal=who)

    async def change_status(self, who: Principal, req: c.ChangeStatus) -> c.Spotlight:
        return await self.rpc.call(c.SERVICE, E.STATUS, req, c.Spotlight, principal=who)
