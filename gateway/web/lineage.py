"""The Spotlights grown from a need or an AG topic, shown on the need's and topic's pages so
the lineage need → topic → Spotlight → result can be followed from every step."""

from __future__ import annotations

from typing import Any

from litestar import Request

from gateway.auth import gateway_of
from gateway.clients.spotlights import SpotlightsClient
from services.contracts import spotlights as c
from services.contracts.envelope import Principal
from services.runtime.errors import DomainError


async def spotlights_of(
    request: Request[Any, Any, Any],
    who: Principal,
    *,
    need_id: str | None = None,
    topic_id: str | None = None,
) -> list[c.Spotlight] | None:
    """None while the surveys service does not answer: the page is still shown."""
    try:
        page = await SpotlightsClient(gateway_of(request).rpc).list(
            who, c.ListSpotlights(need_id=need_id, topic_id=topic_id)
        )
    except DomainError:
        return None
    return page.items
