"""Transport adapter: NATS micro endpoints of the needs service."""

from __future__ import annotations

from typing import Any

from services.contracts import needs as c
from services.contracts import stats as st
from services.contracts.envelope import Principal
from services.needs.service import NeedsService
from services.runtime.rpc import Endpoint, required

E = c.Endpoints


def endpoints(svc: NeedsService) -> list[Endpoint[Any]]:
    async def report(p: Principal | None, r: c.ReportNeed) -> c.Need:
        return await svc.report(required(p), r)

    async def list_needs(p: Principal | None, r: c.ListNeeds) -> c.NeedPage:
        return await svc.list_needs(required(p), r)

    async def get(p: Principal | None, r: c.GetNeed) -> c.Need:
        return await svc.get(required(p), r.id)

    async def similar(p: Principal | None, r: c.FindSimilar) -> c.SimilarList:
        return await svc.similar(required(p), r)

    async def support(p: Principal | None, r: c.Support) -> c.SupportResult:
        return await svc.support(required(p), r)

    async def withdraw(p: Principal | None, r: c.GetNeed) -> None:
        await svc.withdraw_support(required(p), r.id)

    async def status(p: Principal | None, r: c.SetStatus) -> c.Need:
        return await svc.set_status(required(p), r)

    async def solution(p: Principal | None, r: c.AddSolution) -> c.Solution:
        return await svc.add_solution(required(p), r)

    async def open_pilot(p: Principal | None, r: c.OpenPilot) -> c.Pilot:
        return await svc.open_pilot(required(p), r)

    async def pilots(p: Principal | None, r: c.ListPilots) -> c.PilotPage:
        return await svc.pilots(required(p), r)

    async def pilot(p: Principal | None, r: c.GetNeed) -> c.Pilot:
        return await svc.pilot(required(p), r.id)

    async def sign_up(p: Principal | None, r: c.SignUp) -> c.SignupResult:
        return await svc.sign_up(required(p), r)

    async def withdraw_signup(p: Principal | None, r: c.GetNeed) -> None:
        await svc.withdraw_signup(required(p), r.id)

    async def select(p: Principal | None, r: c.Select) -> c.Pilot:
        return await svc.select(required(p), r)

    async def stats(p: Principal | None, r: st.StatsRequest) -> st.NeedsStats:
        required(p)
        return await svc.stats()

    return [
        Endpoint(st.Endpoints.NEEDS, st.StatsRequest, stats),
        Endpoint(E.REPORT, c.ReportNeed, report),
        Endpoint(E.LIST, c.ListNeeds, list_needs),
        Endpoint(E.GET, c.GetNeed, get),
        Endpoint(E.SIMILAR, c.FindSimilar, similar),
        Endpoint(E.SUPPORT, c.Support, support),
        Endpoint(E.WITHDRAW_SUPPORT, c.GetNeed, withdraw),
        Endpoint(E.SET_STATUS, c.SetStatus, status),
        Endpoint(E.ADD_SOLUTION, c.AddSolution, solution),
        Endpoint(E.PILOT_OPEN, c.OpenPilot, open_pilot),
        Endpoint(E.PILOT_LIST, c.ListPilots, pilots),
        Endpoint(E.PILOT_GET, c.GetNeed, pilot),
        Endpoint(E.SIGNUP, c.SignUp, sign_up),
        Endpoint(E.SIGNUP_WITHDRAW, c.GetNeed, withdraw_signup),
        Endpoint(E.SELECT, c.Select, select),
    ]
