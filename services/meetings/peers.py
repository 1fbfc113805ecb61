"""What the meetings service asks other services (over NATS; never their databases)."""

from __future__ import annotations

from services.contracts import directory as d
from services.contracts import polls as p
from services.contracts.envelope import Principal
from services.runtime.errors import NotFound
from services.runtime.rpc import RpcClient


class Peers:
    def __init__(self, rpc: RpcClient) -> None:
        self.rpc = rpc

    async def groups(self, who: Principal) -> dict[str, str]:
        """AG id → name."""
        page = await self.rpc.call(d.SERVICE, d.Endpoints.GROUPS_LIST, None, d.GroupPage, principal=who)
        return {g.id: g.name for g in page.items}

    async def groups_of(self, who: Principal) -> list[str]:
        me = await self.rpc.call(d.SERVICE, d.Endpoints.ME, None, d.Me, principal=who)
        return [g.id for g in me.groups]

    async def poll_exists(self, who: Principal, poll_id: str) -> bool:
        try:
            await self.rpc.call(p.SERVICE, p.Endpoints.POLL_GET, p.GetById(id=poll_id), p.Poll, principal=who)
        except NotFound:
            return False
        return True
