"""Privacy (DSGVO): export of a person's data from every service, deletion across services
(checked in each service's database directly), idempotent redelivery, nothing mailed afterwards."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
import pytest

from services.contracts import directory as d
from services.contracts import privacy as pv
from services.contracts.envelope import Principal
from services.directory.register import LAND_ID
from services.runtime import mongo
from services.runtime.events import encode_event
from services.runtime.natsconn import connect
from services.runtime.privacy import email_hash, name_hash
from tests.conftest import Stack
from tests.e2e.surveys_support import published

pytestmark = pytest.mark.hardening

PASSWORD = "nora-geheim-123"
NORA = "nora.neu@magdeburg.example"
NORA_NAME = "Nora Neumann-Privat"
ADMIN = "admin@gdst.example"


async def make_admin(stack: Stack) -> httpx.AsyncClient:
    """There is no demo admin: one is created straight in the directory service."""
    svc = stack.processes["directory"].parts["service"]
    root = Principal(person_id="test-root", organisation_id=LAND_ID, roles=("admin",))
    await svc.create_person(
        root,
        d.CreatePerson(
            email=ADMIN,
            name="Ada Admin",
            organisation_id=LAND_ID,
            roles=["admin"],
            password="admin-geheim-123",
        ),
    )
    return await stack.login(ADMIN, "admin-geheim-123")


async def dump(stack: Stack) -> dict[str, str]:
    """Every service database as one text per service (bytes as latin-1), to search in."""
    client = mongo.client(stack.settings.mongodb_url)
    try:
        out: dict[str, str] = {}
        for service in pv.PRIVACY_SERVICES:
            db = client[stack.settings.names.database(service)]
            parts = []
            for name in sorted(await db.list_collection_names()):
                docs = await db[name].find({}).to_list(None)
                parts.append(
                    name
                    + json.dumps(
                        docs,
                        default=lambda v: v.decode("latin-1") if isinstance(v, bytes) else str(v),
                        sort_keys=True,
                    )
                )
            out[service] = "\n".join(parts)
        return out
    finally:
        await client.close()


def traces(snapshot: dict[str, str], needles: list[str]) -> dict[str, list[str]]:
    """Per service: `collection: value` for every needle found."""
    return {
        s: [
            f"{line.split('[', 1)[0]}: {n}"
            for line in text.splitlines()
            for n in needles
            if n.lower() in line.lower()
        ]
        for s, text in snapshot.items()
    }


async def find(stack: Stack, service: str, collection: str, query: dict[str, Any]) -> list[dict[str, Any]]:
    client = mongo.client(stack.settings.mongodb_url)
    try:
        db = client[stack.settings.names.database(service)]
        return await db[collection].find(query).to_list(None)
    finally:
        await client.close()


async def wait_until(check: Any, timeout: float = 40.0) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await check()
        if last is True or (last and not isinstance(last, dict)):
            return last
        await asyncio.sleep(0.3)
    return last


class TestPrivacy:
    async def test_export_then_deletion_across_services(self, stack: Stack, figures: Any) -> None:
        ministry = await stack.login()
        created = await ministry.post(
            "/api/v1/people",
            json={
                "email": NORA,
                "name": NORA_NAME,
                "organisation_id": "15003",
                "roles": ["member"],
                "password": PASSWORD,
            },
        )
        assert created.status_code == 201, created.text
        nora_id = created.json()["id"]
        assert (await ministry.put(f"/api/v1/groups/ag-technik/members/{nora_id}")).status_code == 204
        nora = await stack.login(NORA, PASSWORD)
        token = (await nora.post("/api/v1/tokens", json={"name": "Skript"})).json()["token"]

        # data in every service, made by Nora for her Kommune (Magdeburg) and for herself
        need = (
            await nora.post(
                "/api/v1/needs",
                json={
                    "title": "Digitale Bauakte",
                    "description": "Bauanträge online",
                    "category": "querschnitt",
                },
            )
        ).json()
        dessau = await stack.login("kommune-15001@gdst.example")
        other = (
            await dessau.post(
                "/api/v1/needs",
                json={
                    "title": "Friedhofsverwaltung",
                    "description": "Grabstellen",
                    "category": "querschnitt",
                },
            )
        ).json()
        assert (
            await nora.put(f"/api/v1/needs/{other['id']}/support", json={"comment": "auch bei uns"})
        ).status_code == 200
        pilot = await ministry.post(
            "/api/v1/pilots",
            json={
                "title": "Pilot Bauakte",
                "description": "Erprobung",
                "need_ids": [need["id"]],
                "capacity": 3,
                "signup_closes_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
            },
        )
        pilot_id = pilot.json()["id"]
        signup = await nora.put(
            f"/api/v1/pilots/{pilot_id}/signup",
            json={"contact_name": NORA_NAME, "contact_email": "bauamt-kontakt@magdeburg.example"},
        )
        assert signup.status_code == 200, signup.text
        survey = await published(
            ministry, questions=[{"id": "n", "kind": "number", "label": "Stellen", "required": True}]
        )
        saved = await nora.put(f"/api/v1/surveys/{survey['id']}/response", json={"answers": {"n": 7}})
        assert saved.status_code == 200, saved.text
        assert (await nora.post(f"/api/v1/surveys/{survey['id']}/response/submit")).status_code == 200
        topic = (
            await nora.post(
                "/api/v1/groups/ag-technik/topics", json={"title": "Glasfaser", "description": ""}
            )
        ).json()
        poll = (
            await ministry.post(
                "/api/v1/polls",
                json={
                    "title": "Was zuerst?",
                    "options": [{"label": "A"}, {"label": "B"}],
                    "method": {"kind": "single"},
                    "voters": "person",
                    "results_visibility": "live",
                    "closes_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
                },
            )
        ).json()
        ballot = await nora.put(
            f"/api/v1/polls/{poll['id']}/ballot", json={"choice": poll["options"][0]["id"]}
        )
        assert ballot.status_code == 200, ballot.text
        meeting = await ministry.post(
            "/api/v1/meetings",
            json={
                "title": "Lotsen-Sprechstunde",
                "agenda": "Fragen der Kommunen",
                "start": (datetime.now(UTC) + timedelta(days=20)).strftime("%Y-%m-%dT10:00"),
                "duration_minutes": 60,
                "online_url": "https://konferenz.gdst.example/lotsen",
                "capacity": 5,
            },
        )
        assert meeting.status_code == 201, meeting.text
        meeting_id = meeting.json()["id"]
        registered = await nora.put(f"/api/v1/meetings/{meeting_id}/registration")
        assert registered.status_code == 200, registered.text
        feed = await nora.post("/api/v1/meetings/feed")
        assert feed.status_code in (200, 201), feed.text
        prefs = await nora.put(
            "/api/v1/notification-preferences",
            json={"survey.published": {"email": "immediate", "inapp": True}},
        )
        assert prefs.status_code == 200, prefs.text

        async def inbox_filled() -> bool:
            return bool((await nora.get("/api/v1/notifications")).json()["items"])

        assert await wait_until(inbox_filled), "Nora's inbox stayed empty"

        # export: one document, a section per service, no secrets
        response = await nora.get("/api/v1/me/export")
        assert response.status_code == 200, response.text
        assert "attachment" in response.headers["content-disposition"]
        export = response.json()
        assert export["person_id"] == nora_id and export["explanation"].startswith("Dies sind")
        sections = export["services"]
        assert set(sections) == set(pv.PRIVACY_SERVICES)
        assert sections["directory"]["people"][0]["email"] == NORA
        assert "password_hash" not in sections["directory"]["people"][0]
        assert [t["name"] for t in sections["directory"]["tokens"]] == ["Skript"]
        assert sections["directory"]["memberships"][0]["group_id"] == "ag-technik"
        assert need["id"] in [n["_id"] for n in sections["needs"]["needs"]]
        assert {s["need_id"] for s in sections["needs"]["supports"]} >= {other["id"]}
        assert sections["needs"]["signups"][0]["contact_email"] == "bauamt-kontakt@magdeburg.example"
        assert sections["surveys"]["survey_responses"][0]["answers"] == {"n": 7}
        assert sections["surveys"]["survey_drafts"][0]["updated_by"]["id"] == nora_id
        assert len(sections["surveys"]["ballots"]) == 1
        assert topic["id"] in [t["_id"] for t in sections["surveys"]["topics"]]
        assert sections["notifications"]["preferences"][0]["_id"] == nora_id
        assert sections["notifications"]["inbox"]
        assert [r["_id"] for r in sections["meetings"]["registrants"]] == [f"{meeting_id}:{nora_id}"]
        assert [r["meeting_id"] for r in sections["meetings"]["registrations"]] == [meeting_id]
        text = response.text
        assert feed.json()["token"] not in text
        assert token not in text and "password_hash" not in text and "argon2" not in text
        figures.record("privacy", "services covered by the export", len(sections))
        figures.record(
            "privacy", "collections with Nora's data in the export", sum(len(s) for s in sections.values())
        )

        # the other services may not be asked for someone else's data
        other_export = await dessau.get(f"/api/v1/people/{nora_id}/export")
        assert other_export.status_code == 403

        await stack.mailbox.wait_for(NORA, 1, timeout=30)
        await asyncio.sleep(0.5)
        mails_before = len(stack.mailbox.to(NORA))
        # deletion: confirmation needed, then the login ends at once
        unconfirmed = await nora.post("/api/v1/me/deletion", json={"confirm": False})
        assert unconfirmed.status_code == 422
        deleted = await nora.post("/api/v1/me/deletion", json={"confirm": True})
        assert deleted.status_code == 202, deleted.text
        pseudonym = deleted.json()["pseudonym"]
        assert (await nora.get("/api/v1/me")).status_code == 401

        needles = [nora_id, NORA, NORA_NAME, "bauamt-kontakt@magdeburg.example"]

        async def clean() -> bool | dict[str, list[str]]:
            found = traces(await dump(stack), needles)
            return True if not any(found.values()) else found

        result = await wait_until(clean)
        assert result is True, f"personal data left after deletion: {result}"
        left = traces(await dump(stack), needles)
        figures.record("privacy", "services that erased the person", sum(1 for v in left.values() if not v))
        figures.record(
            "privacy",
            "personal values found in the databases after deletion",
            sum(len(v) for v in left.values()),
        )

        # what the Kommune said stays, attributed to the Kommune (or the pseudonym)
        [kept_need] = await find(stack, "needs", "needs", {"_id": need["id"]})
        assert kept_need["organisation"]["id"] == "15003" and kept_need["reported_by"] == pseudonym
        assert await find(stack, "needs", "supports", {"_id": f"{other['id']}:15003"})
        [kept_signup] = await find(stack, "needs", "signups", {"_id": f"{pilot_id}:15003"})
        assert kept_signup["contact_name"] == pv.ERASED and kept_signup["contact_email"] == pv.ERASED
        [kept_response] = await find(stack, "surveys", "survey_responses", {"_id": f"{survey['id']}:15003"})
        assert kept_response["answers"] == {"n": 7} and kept_response["state"] == "submitted"
        assert len(await find(stack, "surveys", "ballots", {})) == 1
        assert len(await find(stack, "surveys", "topics", {"_id": topic["id"]})) == 1
        assert not await find(stack, "notifications", "preferences", {})
        magdeburg = await stack.login("kommune-15003@gdst.example")
        results = (await magdeburg.get(f"/api/v1/surveys/{survey['id']}/response")).json()
        assert results["state"] == "submitted"

        # idempotent: the same event again (a redelivery after JetStream's duplicate window)
        before = await dump(stack)
        [person] = await find(stack, "directory", "people", {"pseudonym": pseudonym})
        stored = next(e for e in person["outbox"] if e["type"] == pv.EVENT_PERSON_DELETED)
        # the stored copy is pseudonymised too; the event as it was first stated:
        data = pv.PersonDeleted(
            person_id=nora_id,
            organisation_id="15003",
            pseudonym=pseudonym,
            email_sha256=email_hash(NORA),
            name_sha256=name_hash(NORA_NAME),
            deleted_by=nora_id,
            self_service=True,
        )
        redelivered = await self._republish(stack, {**stored, "data": msgspec.to_builtins(data)})
        await self._wait_consumed(stack, redelivered)
        assert await dump(stack) == before
        again = 0
        for service in pv.PRIVACY_SERVICES:
            changed = await stack.processes[service].parts["privacy"].erase(data)
            assert changed == 0, service
            again += changed
        assert again == 0
        figures.record("privacy", "documents changed by a redelivered deletion", again)

        # the login is gone for good (the failed attempt is counted for the lockout, by address)
        bearer = await stack.client(headers={"Authorization": f"Bearer {token}"}).get("/api/v1/me")
        assert bearer.status_code == 401
        relogin = await stack.client().post("/api/v1/session", json={"email": NORA, "password": PASSWORD})
        assert relogin.status_code == 401

        # nothing is mailed to the deleted person afterwards
        await published(ministry, questions=[{"id": "x", "kind": "number", "label": "X"}])
        await stack.mailbox.wait_for("kommune-15003@gdst.example", count=2, timeout=30)
        await asyncio.sleep(1.0)
        assert len(stack.mailbox.to(NORA)) == mails_before
        # deleting again states nothing new: the person is gone
        admin = await make_admin(stack)
        assert (
            await admin.post(f"/api/v1/people/{nora_id}/deletion", json={"confirm": True})
        ).status_code == 404

    async def _republish(self, stack: Stack, entry: dict[str, Any]) -> int:
        conn = await connect(stack.settings.nats_url, "test-redelivery")
        try:
            js = conn.nc.jetstream()
            ack = await js.publish(
                stack.settings.names.event_subject(pv.EVENT_PERSON_DELETED),
                encode_event(entry, "/gdst/directory"),
                headers={"Nats-Msg-Id": entry["id"] + "-again"},
            )
            return int(ack.seq)
        finally:
            await conn.close()

    async def _wait_consumed(self, stack: Stack, seq: int) -> None:
        conn = await connect(stack.settings.nats_url, "test-consumers")
        try:
            js = conn.nc.jetstream()
            names = stack.settings.names
            deadline = time.monotonic() + 30
            for service in pv.PRIVACY_SERVICES:
                while True:
                    info = await js.consumer_info(names.event_stream, names.durable(f"{service}-privacy"))
                    if info.ack_floor.stream_seq >= seq:
                        break
                    assert time.monotonic() < deadline, f"{service} did not consume the redelivery"
                    await asyncio.sleep(0.2)
        finally:
            await conn.close()
