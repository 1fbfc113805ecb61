"""Calls into the needs service."""

from __future__ import annotations

from services.contracts import needs as c
from services.contracts.envelope import Principal
from services.runtime.rpc import RpcClient

E = c.Endpoints


class NeedsClient:
    def __init__(self, rpc: RpcClient) -> None:
        self.rpc = rpc

    async def report(self, who: Principal, req: c.ReportNeed) -> c.Need:
        return await self.rpc.call(c.SERVICE, E.REPORT, req, c.Need, principal=who)

    async def list_needs(self, who: Principal, req: c.ListNeeds) -> c.NeedPage:
        return await self.rpc.call(c.SERVICE, E.LIST, req, c.NeedPage, principal=who)

    async def get(self, who: Principal, need_id: str) -> c.Need:
        return await self.rpc.call(c.SERVICE, E.GET, c.GetNeed(id=need_id), c.Need, principal=who)

    async def similar(
        self, who: Principal, text: str, limit: int = 5, exclude: str | None = None
    ) -> c.SimilarList:
        req = c.FindSimilar(text=text, limit=limit, exclude=exclude)
        return await self.rpc.call(c.SERVICE, E.SIMILAR, req, c.SimilarList, principal=who)

    async def support(self, who: Principal, need_id: str, comment: str | None) -> c.SupportResult:
        req = c.Support(id=need_id, comment=comment)
        return await self.rpc.call(c.SERVICE, E.SUPPORT, req, c.SupportResult, principal=who)

    async def withdraw_support(self, who: Principal, need_id: str) -> None:
        await self.rpc.call(c.SERVICE, E.WITHDRAW_SUPPORT, c.GetNeed(id=need_id), type(None), principal=who)

    async def set_status(self, who: Principal, need_id: str, status: c.Status, reason: str | None) -> c.Need:
        req = c.SetStatus(id=need_id, status=status, reason=reason)
        return await self.rpc.call(c.SERVICE, E.SET_STATUS, req, c.Need, principal=who)

    async def add_solution(self, who: Principal, req: c.AddSolution) -> c.Solution:
        return await self.rpc.call(c.SERVICE, E.ADD_SOLUTION, req, c.Solution, principal=who)

    async def open_pilot(self, who: Principal, req: c.OpenPilot) -> c.Pilot:
        return await self.rpc.call(c.SERVICE, E.PILOT_OPEN, req, c.Pilot, principal=who)

    async def pilots(self, who: Principal, req: c.ListPilots) -> c.PilotPage:
        return await self.rpc.call(c.SERVICE, E.PILOT_LIST, req, c.PilotPage, principal=who)

    async def pilot(self, who: Principal, pilot_id: str) -> c.Pilot:
        return await self.rpc.call(c.SERVICE, E.PILOT_GET, c.GetNeed(id=pilot_id), c.Pilot, principal=who)

    async def sign_up(self, who: Principal, req: c.SignUp) -> c.SignupResult:
        return await self.rpc.call(c.SERVICE, E.SIGNUP, req, c.SignupResult, principal=who)

    async def withdraw_signup(self, who: Principal, pilot_id: str) -> None:
        await self.rpc.call(c.SERVICE, E.SIGNUP_WITHDRAW, c.GetNeed(id=pilot_id), type(None), principal=who)

    async def select(self, who: Principal, pilot_id: str, organisation_ids: list[str]) -> c.Pilot:
        req = c.Select(pilot_id=pilot_id, organisation_ids=organisation_ids)
        return await self.rpc.call(c.SERVICE, E.SELECT, req, c.Pilot, principal=who)
