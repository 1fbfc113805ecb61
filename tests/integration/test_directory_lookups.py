"""Directory lookups other services rely on, over real NATS."""

from __future__ import annotations

import asyncio

import pytest

from services.contracts import directory as d
from services.contracts.envelope import Principal
from services.directory.seed import demo_organisations
from services.runtime.errors import Forbidden, NotFound
from services.runtime.rpc import RpcClient
from services.surveys.questionnaires.directory import Directory
from tests.conftest import Stack
from tests.support.cluster import instances

MEMBER = Principal(person_id="demo-15003", organisation_id="15003", roles=("member",))


def rpc(stack: Stack) -> RpcClient:
    return RpcClient(stack.processes["needs"].conn.nc, stack.settings.names)


async def people_lookups(stack: Stack) -> int:
    """How many people-by-id requests the directory has answered."""
    stats = await instances(
        stack.processes["needs"].conn.nc, "STATS", stack.settings.names.service_name("directory")
    )
    name = d.Endpoints.PEOPLE_BY_IDS.replace(".", "_")
    return sum(
        e.get("num_requests", 0) for s in stats for e in s.get("endpoints") or [] if e.get("name") == name
    )


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


async def test_names_asked_for_at_once_share_a_few_calls(stack: Stack) -> None:
    """The surveys service names whoever saves a draft (services/surveys/questionnaires/
    directory.py): the first savers of every demo Kommune at once get each their own name in one
    or two directory calls, and someone the directory does not know is named by their id."""
    orgs = [o for o in demo_organisations() if o.kind != "ressort" and o.ags]
    assert len(orgs) >= 20
    names = Directory(rpc(stack))
    before = await people_lookups(stack)
    found = await asyncio.gather(
        *(names.name_of(Principal(person_id=f"demo-{o.ags}", organisation_id=o.id)) for o in orgs),
        names.name_of(Principal(person_id="demo-nobody", organisation_id="15003")),
    )
    assert found == [*(f"Team {o.name.split(',')[0]}" for o in orgs), "demo-nobody"]
    assert await people_lookups(stack) - before <= 2
