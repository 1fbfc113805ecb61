"""Objects the hardening tests work on: one of each kind, made through the public API.

`seed(stack, text)` puts `text` into every free-text field it fills (titles, descriptions,
options, comments, ...) so the XSS test can look for it on every page; the fuzzer uses the ids
to reach past "unknown id" into the services.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from services.runtime import mongo
from services.runtime.natsconn import Connection, connect
from tests.conftest import MINISTRY, Stack

MEMBER = "kommune-15003@gdst.example"  # Magdeburg: AG Technik and AG Strategie
OTHER_MEMBER = "kommune-15002@gdst.example"  # Halle
GROUP = "ag-technik"


def later(days: float = 14) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), f"{response.request.url}: {response.text}"
    body: dict[str, Any] = response.json()
    return body


async def seed(stack: Stack, text: str = "Beispiel", *, webhook: bool = True) -> dict[str, str]:
    """One need (with solution, support comment and pilot), one published survey with a
    response, one poll over a proposed topic with a ballot; ids keyed by path parameter name."""
    ministry = await stack.login(MINISTRY)
    member = await stack.login(MEMBER)
    other = await stack.login(OTHER_MEMBER)
    try:
        me = await _created(await member.get("/api/v1/me"))
        need = await _created(
            await member.post(
                "/api/v1/needs",
                json={
                    "title": f"Bedarf {text}",
                    "description": f"Beschreibung {text}",
                    "category": "querschnitt",
                },
            )
        )
        await _created(
            await other.put(f"/api/v1/needs/{need['id']}/support", json={"comment": f"Auch {text}"})
        )
        await _created(
            await ministry.post(
                f"/api/v1/needs/{need['id']}/solutions",
                json={"title": f"Lösung {text}", "description": f"Ansatz {text}", "kind": "efa_onlinedienst"},
            )
        )
        pilot = await _created(
            await ministry.post(
                "/api/v1/pilots",
                json={
                    "title": f"Pilot {text}",
                    "description": f"Erprobung {text}",
                    "need_ids": [need["id"]],
                    "capacity": 3,
                    "signup_closes_at": later(),
                },
            )
        )
        await _created(
            await member.put(
                f"/api/v1/pilots/{pilot['id']}/signup",
                json={
                    "contact_name": f"Name {text}",
                    "contact_email": "it@magdeburg.example",
                    "note": f"Notiz {text}",
                },
            )
        )
        survey = await _created(
            await ministry.post(
                "/api/v1/surveys",
                json={
                    "title": f"Umfrage {text}",
                    "description": f"Worum es geht {text}",
                    "questions": [
                        {
                            "id": "wahl",
                            "kind": "single",
                            "label": f"Frage {text}",
                            "options": [f"Ja {text}", "Nein"],
                        },
                        {"id": "frei", "kind": "text", "label": f"Freitext {text}"},
                    ],
                    "audience": {"kind": "all_kommunen"},
                    "respond_as": "organisation",
                    "closes_at": later(),
                },
            )
        )
        await _created(await ministry.post(f"/api/v1/surveys/{survey['id']}/publish"))
        await _created(
            await member.put(
                f"/api/v1/surveys/{survey['id']}/response",
                json={"answers": {"wahl": f"Ja {text}", "frei": f"Antwort {text}"}},
            )
        )
        await _created(await member.post(f"/api/v1/surveys/{survey['id']}/response/submit"))
        topic = await _created(
            await member.post(
                f"/api/v1/groups/{GROUP}/topics",
                json={"title": f"Thema {text}", "description": f"Warum {text}"},
            )
        )
        poll = await _created(
            await ministry.post(
                "/api/v1/polls",
                json={
                    "title": f"Abstimmung {text}",
                    "options": [{"label": f"Option {text}"}, {"topic_id": topic["id"]}, {"label": "Dritte"}],
                    "method": {"kind": "single"},
                    "voters": "person",
                    "results_visibility": "live",
                    "closes_at": later(),
                    "group_id": GROUP,
                },
            )
        )
        await _created(
            await member.put(f"/api/v1/polls/{poll['id']}/ballot", json={"choice": poll["options"][0]["id"]})
        )
        draft = await _created(
            await ministry.post(
                "/api/v1/surveys",
                json={
                    "title": f"Entwurf {text}",
                    "description": f"Noch nicht veröffentlicht {text}",
                    "questions": [
                        {
                            "id": "wahl",
                            "kind": "multiple",
                            "label": f"Entwurfsfrage {text}",
                            "options": [f"A {text}", "B"],
                        },
                    ],
                    "audience": {"kind": "all_kommunen"},
                    "respond_as": "organisation",
                    "closes_at": later(),
                },
            )
        )
        hook = {"id": "unbekannt"}
        if webhook:
            # its deliveries to an unreachable host keep changing documents in the background
            hook = await _created(
                await ministry.post(
                    "/api/v1/webhooks", json={"url": "https://hooks.example/gdst", "event_types": ["*"]}
                )
            )
        token = await _created(await member.post("/api/v1/tokens", json={"name": f"Token {text}"}))
        return {
            "need_id": need["id"],
            "pilot_id": pilot["id"],
            "survey_id": survey["id"],
            "topic_id": topic["id"],
            "poll_id": poll["id"],
            "group_id": GROUP,
            "org_id": me["organisation"]["id"],
            "person_id": me["id"],
            "webhook_id": hook["id"],
            "token_id": token["id"],
            "draft_survey_id": draft["id"],
            "question_id": "wahl",
        }
    finally:
        for client in (ministry, member, other):
            await client.aclose()


async def database_digest(stack: Stack) -> dict[str, str]:
    """A fingerprint of every document of the test's namespace, per collection, to show that a
    refused request changed nothing (whatever services exist, also ones added later)."""
    client = mongo.client(stack.settings.mongodb_url)
    digest: dict[str, str] = {}
    try:
        prefix = stack.settings.names.database("")
        for db_name in sorted(await client.list_database_names()):
            if not db_name.startswith(prefix):
                continue
            db = client[db_name]
            for collection in sorted(await db.list_collection_names()):
                docs = await db[collection].find({}).to_list(None)
                blob = repr(sorted(repr(sorted(d.items(), key=str)) for d in docs))
                digest[f"{db_name}.{collection}"] = hashlib.sha256(blob.encode()).hexdigest()
    finally:
        await client.close()
    return digest


async def settled_digest(stack: Stack) -> dict[str, str]:
    """The digest once background work (fan-out, mail, outbox relay) has come to rest."""
    previous = await database_digest(stack)
    for _ in range(60):
        await asyncio.sleep(1.0)
        current = await database_digest(stack)
        if current == previous:
            return current
        previous = current
    return previous


@contextlib.asynccontextmanager
async def wire_client(stack: Stack) -> AsyncIterator[Connection]:
    """A NATS connection of the test's own for hostile messages (not a service's, so a broken
    reply cannot disturb the service under test). It stands where the gateway stands, the one
    client that calls every endpoint: when processes get NATS users with subject permissions,
    this is the place for the gateway's credentials."""
    conn = await connect(stack.settings.nats_url, f"{stack.settings.namespace}-hardening")
    try:
        yield conn
    finally:
        await conn.close()
