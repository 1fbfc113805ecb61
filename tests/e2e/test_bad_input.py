"""Bad input gets a specific 4xx with field-level messages, and nothing is stored."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.runtime import mongo
from tests.conftest import Stack

VALID = {"email": "neu@dessau.example", "name": "Neu", "organisation_id": "15001", "roles": ["member"]}


async def people_count(stack: Stack) -> int:
    client = mongo.client(stack.settings.mongodb_url)
    try:
        db = client[stack.settings.names.database("directory")]
        return await db["people"].count_documents({}) + await db["emails"].count_documents({})
    finally:
        await client.close()


def with_(**changes: Any) -> dict[str, Any]:
    return {**VALID, **changes}


CASES = [
    pytest.param(b'{"email": "neu@dessau.example", ', 400, None, id="malformed-json"),
    pytest.param(b"[1, 2, 3]", 400, None, id="array-instead-of-object"),
    pytest.param(json.dumps(with_(name=42)).encode(), 422, "name", id="number-for-string"),
    pytest.param(json.dumps(with_(roles="member")).encode(), 422, "roles", id="string-for-list"),
    pytest.param(json.dumps(with_(email={"$gt": ""})).encode(), 422, "email", id="operator-for-string"),
    pytest.param(
        json.dumps(with_(organisation_id={"$ne": None})).encode(),
        422,
        "organisation_id",
        id="operator-for-id",
    ),
    pytest.param(json.dumps(with_(email="keine-adresse")).encode(), 422, "email", id="not-an-email"),
    pytest.param(json.dumps(with_(email="a@b")).encode(), 422, "email", id="email-without-domain"),
    pytest.param(json.dumps(with_(name="x" * 201)).encode(), 422, "name", id="name-too-long"),
    pytest.param(json.dumps(with_(name="")).encode(), 422, "name", id="name-empty"),
    pytest.param(json.dumps(with_(roles=["kaiser"])).encode(), 422, "roles", id="unknown-role"),
    pytest.param(json.dumps(with_(extra={"$where": "1"})).encode(), 422, "extra", id="unknown-field"),
    pytest.param(
        json.dumps({k: v for k, v in VALID.items() if k != "email"}).encode(),
        422,
        "email",
        id="missing-field",
    ),
    pytest.param(
        json.dumps(with_(organisation_id="99999999")).encode(),
        422,
        "organisation_id",
        id="unknown-organisation",
    ),
    pytest.param(json.dumps(with_(roles=["ministry"])).encode(), 422, "roles", id="role-not-for-kommune"),
]


class TestBadInput:
    @pytest.mark.parametrize(("body", "status", "field"), CASES)
    async def test_invitation_rejects(
        self, stack: Stack, body: bytes, status: int, field: str | None
    ) -> None:
        ministry = await stack.login()
        before = await people_count(stack)
        response = await ministry.post(
            "/api/v1/invitations", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == status and problem["title"] and "Traceback" not in response.text
        if field:
            assert any(e["field"].split("[")[0] == field for e in problem["errors"]), problem
            assert all(e["message"] for e in problem["errors"])
        assert await people_count(stack) == before, "nothing stored"

    async def test_one_megabyte_body_is_413(self, stack: Stack) -> None:
        ministry = await stack.login()
        before = await people_count(stack)
        body = json.dumps(with_(name="x" * 1_000_000)).encode()
        response = await ministry.post(
            "/api/v1/invitations", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 413
        assert response.json()["status"] == 413
        assert await people_count(stack) == before

    async def test_form_encoded_api_body_is_415(self, stack: Stack) -> None:
        async with stack.client() as client:
            response = await client.post(
                "/api/v1/session",
                content=b"email=a&password=b",
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
        assert response.status_code == 415

    async def test_operator_in_login_is_a_field_error(self, stack: Stack) -> None:
        async with stack.client() as client:
            response = await client.post(
                "/api/v1/session", json={"email": {"$gt": ""}, "password": {"$gt": ""}}
            )
        assert response.status_code == 422
        assert {e["field"] for e in response.json()["errors"]} >= {"email"}

    async def test_short_password_on_accept(self, stack: Stack) -> None:
        ministry = await stack.login()
        assert (await ministry.post("/api/v1/invitations", json=VALID)).status_code == 201
        [mail] = await stack.mailbox.wait_for(VALID["email"])
        token = mail.get_body(("plain",)).get_content().split("/einladung/")[1].split()[0]  # type: ignore[union-attr]
        async with stack.client() as client:
            short = await client.post(f"/api/v1/invitations/{token}/accept", json={"password": "kurz"})
            assert short.status_code == 422 and short.json()["errors"][0]["field"] == "password"
            unknown = await client.post(
                "/api/v1/invitations/unbekannt-unbekannt/accept", json={"password": "lang-genug-123"}
            )
            assert unknown.status_code == 404
            ok = await client.post(f"/api/v1/invitations/{token}/accept", json={"password": "lang-genug-123"})
            assert ok.status_code == 200, "the failed attempts did not use the invitation up"

    async def test_bad_query_parameters(self, stack: Stack) -> None:
        client = await stack.login()
        assert (await client.get("/api/v1/organisations", params={"limit": "viele"})).status_code in (
            400,
            422,
        )
        assert (await client.get("/api/v1/organisations", params={"limit": 1000})).status_code in (400, 422)
        assert (await client.get("/api/v1/organisations", params={"kind": "bundesland"})).status_code in (
            400,
            422,
        )

    async def test_unknown_paths_and_methods(self, stack: Stack) -> None:
        client = await stack.login()
        missing = await client.get("/api/v1/gibt-es-nicht")
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
        wrong = await client.patch("/api/v1/me", json={})
        assert wrong.status_code == 405
