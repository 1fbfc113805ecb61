"""Logging in and out, tokens, and what each role may see."""

from __future__ import annotations

import asyncio

import nats
import pytest
from httpx import AsyncClient
from nats.aio.client import Client
from nats.js.errors import KeyNotFoundError

from gateway.app import create_app
from services.contracts import directory as dc
from services.contracts.directory import token_entry_decoder, token_key
from services.runtime import mongo
from tests.conftest import DEMO_PASSWORD, MINISTRY, Stack
from tests.support.cluster import instances
from tests.support.http import serve


async def token_resolves(nc: Client, stack: Stack) -> int:
    """How many tokens the directory has been asked to resolve."""
    stats = await instances(nc, "STATS", stack.settings.names.service_name(dc.SERVICE))
    name = dc.Endpoints.TOKEN_RESOLVE.replace(".", "_")
    return sum(
        e.get("num_requests", 0) for s in stats for e in s.get("endpoints") or [] if e.get("name") == name
    )


class TestSession:
    async def test_login_sets_httponly_samesite_cookie(self, stack: Stack) -> None:
        async with stack.client() as client:
            response = await client.post(
                "/api/v1/session", json={"email": MINISTRY, "password": DEMO_PASSWORD}
            )
        assert response.status_code == 200
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        body = response.json()
        assert body["person"]["roles"] == ["ministry"] and len(body["csrf_token"]) >= 20

    async def test_unknown_email_and_wrong_password_look_the_same(self, stack: Stack) -> None:
        async with stack.client() as client:
            wrong = await client.post(
                "/api/v1/session", json={"email": MINISTRY, "password": "falsch-falsch"}
            )
            unknown = await client.post(
                "/api/v1/session", json={"email": "nobody@gdst.example", "password": "x"}
            )
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json()["detail"] == unknown.json()["detail"]

    async def test_repeated_failures_are_rate_limited(self, stack: Stack) -> None:
        async with stack.client() as client:
            statuses = [
                (
                    await client.post("/api/v1/session", json={"email": MINISTRY, "password": f"falsch-{i}"})
                ).status_code
                for i in range(6)
            ]
            locked = await client.post("/api/v1/session", json={"email": MINISTRY, "password": DEMO_PASSWORD})
        assert statuses[:5] == [401] * 5 and statuses[5] == 429
        assert locked.status_code == 429, "even the right password waits out the lock"
        assert int(locked.headers["retry-after"]) > 0

    async def test_logout_invalidates_the_session(self, stack: Stack) -> None:
        client = await stack.login()
        cookie = client.cookies.get("gdst_session")
        assert (await client.delete("/api/v1/session")).status_code == 204
        async with stack.client(cookies={"gdst_session": cookie or ""}) as replay:
            assert (await replay.get("/api/v1/me")).status_code == 401

    async def test_login_issues_a_new_session_id(self, stack: Stack) -> None:
        async with stack.client(cookies={"gdst_session": "planted-by-attacker-000000000000"}) as client:
            response = await client.post(
                "/api/v1/session", json={"email": MINISTRY, "password": DEMO_PASSWORD}
            )
        assert response.status_code == 200
        issued = response.cookies.get("gdst_session")
        assert issued and issued != "planted-by-attacker-000000000000"

    async def test_cookie_writes_need_the_csrf_header(self, stack: Stack) -> None:
        client = await stack.login()
        del client.headers["X-CSRF-Token"]
        response = await client.post("/api/v1/tokens", json={"name": "ohne CSRF"})
        assert response.status_code == 403

    async def test_bearer_token_lifecycle(self, stack: Stack) -> None:
        client = await stack.login("kommune-15003@gdst.example")
        created = await client.post("/api/v1/tokens", json={"name": "Fachverfahren"})
        assert created.status_code == 201
        token = created.json()["token"]
        async with stack.client(headers={"Authorization": f"Bearer {token}"}) as machine:
            me = await machine.get("/api/v1/me")
            assert me.status_code == 200 and me.json()["organisation"]["id"] == "15003"
            # no CSRF needed for bearer clients
            assert (await machine.post("/api/v1/tokens", json={"name": "zweiter"})).status_code == 201
            assert (await client.delete(f"/api/v1/tokens/{created.json()['id']}")).status_code == 204
            assert (await machine.get("/api/v1/me")).status_code == 401

    async def test_a_token_revoked_on_one_gateway_is_refused_by_the_others(self, stack: Stack) -> None:
        # gateways remember a token's principal for a while (gateway/principals.py); a
        # revocation must not wait for that memory to expire on the other instances
        client = await stack.login("kommune-15003@gdst.example")
        created = (await client.post("/api/v1/tokens", json={"name": "Fachverfahren"})).json()
        async with serve(create_app(stack.settings)) as other_url:
            headers = {"Authorization": f"Bearer {created['token']}"}
            async with stack.client(headers=headers) as here, stack.client(headers=headers) as machine:
                machine.base_url = other_url
                assert (await here.get("/api/v1/me")).status_code == 200
                assert (await machine.get("/api/v1/me")).status_code == 200, "remembered there now"
                assert (await client.delete(f"/api/v1/tokens/{created['id']}")).status_code == 204
                assert (await here.get("/api/v1/me")).status_code == 401, "the revoking gateway at once"
                statuses = []
                for _ in range(20):  # the broadcast takes a moment; the memory would last 30 s
                    statuses.append((await machine.get("/api/v1/me")).status_code)
                    if statuses[-1] == 401:
                        break
                    await asyncio.sleep(0.1)
                assert statuses[-1] == 401, statuses

    async def test_tokens_made_before_they_carried_their_principal_still_work(self, stack: Stack) -> None:
        client = await stack.login("kommune-15003@gdst.example")
        created = (await client.post("/api/v1/tokens", json={"name": "alt"})).json()
        db = mongo.client(stack.settings.mongodb_url)
        try:
            tokens = db[stack.settings.names.database("directory")]["tokens"]
            stored = await tokens.find_one({"token_id": created["id"]})
            assert stored is not None and stored["principal"]["organisation_id"] == "15003"
            await tokens.update_one({"token_id": created["id"]}, {"$unset": {"principal": ""}})
        finally:
            await db.close()
        # nor was it put into the token bucket (made before there was one)
        bucket = (
            await stack.processes["directory"]
            .conn.nc.jetstream()
            .key_value(stack.settings.names.token_bucket)
        )
        await bucket.delete(token_key(created["token"]))
        async with stack.client(headers={"Authorization": f"Bearer {created['token']}"}) as machine:
            me = await machine.get("/api/v1/me")
        assert me.status_code == 200 and me.json()["organisation"]["id"] == "15003"

    async def test_a_new_token_is_read_from_the_token_bucket_until_it_is_revoked(self, stack: Stack) -> None:
        """A gateway that has not seen a token reads it from the token bucket, without asking the
        directory; a revoked token is out of the bucket before the revocation is answered."""
        client = await stack.login("kommune-15003@gdst.example")
        created = (await client.post("/api/v1/tokens", json={"name": "Fachverfahren"})).json()
        nc = await nats.connect(stack.settings.nats_url)  # as the operators' user
        try:
            await self._bucket_checks(stack, nc, client, created)
        finally:
            await nc.close()

    async def _bucket_checks(
        self, stack: Stack, nc: Client, client: AsyncClient, created: dict[str, str]
    ) -> None:
        bucket = await nc.jetstream().key_value(stack.settings.names.token_bucket)
        entry = await bucket.get(token_key(created["token"]))
        assert entry.value is not None and created["token"] not in entry.value.decode()
        assert token_entry_decoder.decode(entry.value).organisation_id == "15003"
        headers = {"Authorization": f"Bearer {created['token']}"}
        resolved_before = await token_resolves(nc, stack)
        async with serve(create_app(stack.settings)) as fresh_url, stack.client(headers=headers) as machine:
            machine.base_url = fresh_url
            me = await machine.get("/api/v1/me")
            assert me.status_code == 200 and me.json()["organisation"]["id"] == "15003"
        assert await token_resolves(nc, stack) == resolved_before, "the directory was not asked"

        assert (await client.delete(f"/api/v1/tokens/{created['id']}")).status_code == 204
        with pytest.raises(KeyNotFoundError):
            await bucket.get(token_key(created["token"]))
        async with serve(create_app(stack.settings)) as fresh_url, stack.client(headers=headers) as machine:
            machine.base_url = fresh_url
            assert (await machine.get("/api/v1/me")).status_code == 401

    async def test_anonymous_gets_401_problem(self, stack: Stack) -> None:
        async with stack.client() as client:
            response = await client.get("/api/v1/me")
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 401


class TestDirectoryApi:
    async def test_organisations_filter_and_keyset_pages(self, stack: Stack) -> None:
        client = await stack.login()
        first = (await client.get("/api/v1/organisations", params={"kind": "landkreis", "limit": 5})).json()
        assert [o["kind"] for o in first["items"]] == ["landkreis"] * 5
        second = (
            await client.get(
                "/api/v1/organisations",
                params={"kind": "landkreis", "limit": 10, "cursor": first["next_cursor"]},
            )
        ).json()
        ids = [o["id"] for o in first["items"] + second["items"]]
        assert len(ids) == len(set(ids)) == 11, "11 Landkreise across pages, none twice"
        assert second["next_cursor"] is None
        children = (await client.get("/api/v1/organisations", params={"parent": "15082"})).json()["items"]
        assert {o["id"] for o in children} == {"15082015", "15082180"}

    async def test_organisation_by_id_and_unknown_id(self, stack: Stack) -> None:
        client = await stack.login()
        halle = await client.get("/api/v1/organisations/15002")
        assert halle.json()["population"] == 242172
        assert (await client.get("/api/v1/organisations/99999")).status_code == 404

    async def test_groups_and_membership(self, stack: Stack) -> None:
        ministry = await stack.login()

        async def counts() -> dict[str, int]:
            items = (await ministry.get("/api/v1/groups")).json()["items"]
            return {g["id"]: g["member_count"] for g in items}

        async def groups_of(client: object) -> list[str]:
            me = (await member.get("/api/v1/me")).json()
            return [g["id"] for g in me["groups"]]

        before = await counts()
        assert set(before) == {"ag-strategie", "ag-organisation", "ag-umsetzung", "ag-technik"}
        member = await stack.login("kommune-15001@gdst.example")
        person_id = (await member.get("/api/v1/me")).json()["id"]
        assert "ag-technik" not in await groups_of(member)

        assert (await ministry.put(f"/api/v1/groups/ag-technik/members/{person_id}")).status_code == 204
        assert (await ministry.put(f"/api/v1/groups/ag-technik/members/{person_id}")).status_code == 204
        assert (await counts())["ag-technik"] == before["ag-technik"] + 1, "adding twice counts once"
        assert "ag-technik" in await groups_of(member)

        assert (await member.put(f"/api/v1/groups/ag-technik/members/{person_id}")).status_code == 403
        assert (await ministry.delete(f"/api/v1/groups/ag-technik/members/{person_id}")).status_code == 204
        assert (await counts())["ag-technik"] == before["ag-technik"]
        assert "ag-technik" not in await groups_of(member)
        assert (await ministry.put(f"/api/v1/groups/ag-unbekannt/members/{person_id}")).status_code == 404
