"""Directory lookups other services rely on, over real NATS."""

from __future__ import annotations

import pytest

from services.contracts import directory as d
from services.contracts.envelope import Principal
from services.runtime.errors import Forbidden, NotFound
from services.runtime.rpc import RpcClient
from tests.conftest import Stack

MEMBER = Principal(person_id="demo-15003", organisation_id="15003", roles=("member",))


def rpc(stack: Stack) -> RpcClient:
    return RpcClient(stack.processes["needs"].conn.nc, stack.settings.names)


class TestDirectoryLookups:
    async def test_group_members(self, stack: Stack) -> None:
        members = await rpc(stack).call(
            d.SERVICE,
            d.Endpoints.GROUP_MEMBERS,
            d.GetGroupMembers(group_id="ag-technik"),
            d.MemberList,
            principal=MEMBER,
        )
        assert members.items and all(m.person_id.startswith("demo-") for m in members.items)
        groups = (await (await stack.login()).get("/api/v1/groups")).json()["items"]
        assert len(members.items) == next(g["member_count"] for g in groups if g["id"] == "ag-technik")
        with pytest.raises(NotFound):
            await rpc(stack).call(
                d.SERVICE,
                d.Endpoints.GROUP_MEMBERS,
                d.GetGroupMembers(group_id="ag-nein"),
                d.MemberList,
                principal=MEMBER,
            )

    async def test_people_of_organisations_for_services_and_ministry_only(self, stack: Stack) -> None:
        req = d.GetPeopleOfOrganisations(organisation_ids=["15003", "15002", "99999"])
        found = await rpc(stack).call(
            d.SERVICE,
            d.Endpoints.PEOPLE_OF_ORGANISATIONS,
            req,
            d.PeopleList,
            principal=Principal.for_service("surveys"),
        )
        assert sorted(p.email for p in found.items) == [
            "kommune-15002@gdst.example",
            "kommune-15003@gdst.example",
        ]
        with pytest.raises(Forbidden):
            await rpc(stack).call(
                d.SERVICE, d.Endpoints.PEOPLE_OF_ORGANISATIONS, req, d.PeopleList, principal=MEMBER
            )
