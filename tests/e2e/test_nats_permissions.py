"""Forged principals sent straight over NATS are refused, and change nothing.

The session's nats-server runs with one user per process kind (tests/support/servers.py,
services/runtime/natsauth.py). An outsider may not publish to any request or event subject at
all; the gateway's user may reach the edge subjects only, where the services refuse a `service`
principal; only service users reach the internal subjects.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec
import nats
import pytest
from nats.aio.client import Client

from services.contracts import directory as d
from services.contracts.envelope import ROLE_MINISTRY, Principal, Request
from services.runtime import mongo
from services.runtime.errors import Forbidden
from services.runtime.rpc import RpcClient
from tests.conftest import Stack
from tests.support import servers
from tests.support.figures import Recorder

pytestmark = pytest.mark.hardening

FORGED_MINISTRY = Principal(person_id="demo-ministerium", organisation_id="15", roles=(ROLE_MINISTRY,))
NEW_PERSON = d.CreatePerson(
    email="eingeschleust@halle.example",
    name="Erika Eingeschleust",
    organisation_id="15002",
    roles=["member"],
    password="ein-langes-passwort-123",
)


@asynccontextmanager
async def client_as(stack: Stack, user: str, password: str) -> AsyncIterator[tuple[Client, list[str]]]:
    """A raw NATS client as the given user, with the errors the server reported to it."""
    reported: list[str] = []

    async def error(exc: Exception) -> None:
        reported.append(str(exc))

    nc = await nats.connect(
        stack.settings.nats_url, user=user, password=password, error_cb=error, allow_reconnect=False
    )
    try:
        yield nc, reported
    finally:
        await nc.close()


def envelope(principal: Principal, data: msgspec.Struct) -> bytes:
    return msgspec.json.encode(Request(principal=principal, data=msgspec.Raw(msgspec.json.encode(data))))


async def people_named(stack: Stack, email: str) -> int:
    client = mongo.client(stack.settings.mongodb_url)
    try:
        db = client[stack.settings.names.database("directory")]
        return await db["people"].count_documents({"email": email})
    finally:
        await client.close()


async def wait_for(reported: list[str], text: str) -> None:
    for _ in range(100):
        if any(text in r.lower() for r in reported):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {text!r} reported: {reported}")


class TestOutsider:
    async def test_forged_ministry_principal_never_reaches_a_service(
        self, stack: Stack, figures: Recorder
    ) -> None:
        names = stack.settings.names
        user, password = servers.OUTSIDER
        async with client_as(stack, user, password) as (nc, reported):
            payload = envelope(FORGED_MINISTRY, NEW_PERSON)
            for subject in (
                names.rpc(d.SERVICE, d.Endpoints.PERSON_CREATE),
                names.internal_rpc(d.SERVICE, d.Endpoints.PERSON_CREATE),
            ):
                with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
                    await nc.request(subject, payload, timeout=1.5)
            await wait_for(reported, "permissions violation for publish")
            # nor may it forge a fact on the event stream, or listen to other people's requests
            await nc.publish(names.event_subject("person.invited"), b"{}")
            await nc.subscribe(names.rpc(d.SERVICE, ">"))
            await nc.flush()
            await wait_for(reported, "permissions violation for subscription")
        assert await people_named(stack, NEW_PERSON.email) == 0
        figures.record("authorisation", "forged NATS requests refused", 4)

    async def test_the_same_request_from_a_service_is_served(self, stack: Stack) -> None:
        # control: the payload itself is fine, only the sender was wrong
        rpc = RpcClient(stack.processes["needs"].conn.nc, stack.settings.names)
        person = await rpc.call(
            d.SERVICE, d.Endpoints.PERSON_CREATE, NEW_PERSON, d.Person, principal=FORGED_MINISTRY
        )
        assert person.email == NEW_PERSON.email
        assert await people_named(stack, NEW_PERSON.email) == 1


class TestGatewayUser:
    async def test_service_principal_on_the_edge_is_403_and_internal_subjects_are_closed(
        self, stack: Stack
    ) -> None:
        names = stack.settings.names
        password = servers.NATS_PASSWORDS["gateway"]
        request = d.GetPeopleOfOrganisations(organisation_ids=["15002", "15003"])
        async with client_as(stack, "gateway", password) as (nc, reported):
            edge = RpcClient(nc, names, edge=True)
            with pytest.raises(Forbidden):
                await edge.call(
                    d.SERVICE,
                    d.Endpoints.PEOPLE_OF_ORGANISATIONS,
                    request,
                    d.PeopleList,
                    principal=Principal.for_service("surveys"),
                )
            internal = RpcClient(nc, names, timeout=1.5)
            with pytest.raises(Exception) as refused:
                await internal.call(
                    d.SERVICE,
                    d.Endpoints.PEOPLE_OF_ORGANISATIONS,
                    request,
                    d.PeopleList,
                    principal=Principal.for_service("surveys"),
                )
            assert refused.type.__name__ in {"Timeout", "Unavailable"}
            await wait_for(reported, "permissions violation for publish")

    async def test_people_still_work_through_the_gateway(self, stack: Stack) -> None:
        ministry = await stack.login()
        response = await ministry.get("/api/v1/me")
        assert response.status_code == 200
        assert response.json()["roles"] == ["ministry"]
