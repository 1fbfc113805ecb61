"""Transport adapter: NATS micro endpoints of the Spotlights part."""

from __future__ import annotations

from typing import Any

from services.contracts import spotlights as c
from services.contracts.envelope import Principal
from services.runtime.rpc import Endpoint, required
from services.surveys.spotlights.service import SpotlightsService

E = c.Endpoints


def endpoints(svc: SpotlightsService) -> list[Endpoint[Any]]:
    async def create(p: Principal | None, r: c.CreateSpotlight) -> c.Spotlight:
        return await svc.create(required(p), r)

    async def list_(p: Principal | None, r: c.ListSpotlights) -> c.SpotlightPage:
        return await svc.list_spotlights(required(p), r)

    async def get(p: Principal | None, r: c.GetSpotlight) -> c.Spotlight:
        return await svc.get(required(p), r.id)

    async def status(p: Principal | None, r: c.ChangeStatus) -> c.Spotlight:
        return await svc.change_status(required(p), r)

    return [
        Endpoint(E.CREATE, c.CreateSpotlight, create),
        Endpoint(E.LIST, c.ListSpotlights, list_),
        Endpoint(E.GET, c.GetSpotlight, get),
        Endpoint(E.STATUS, c.ChangeStatus, status),
    ]
