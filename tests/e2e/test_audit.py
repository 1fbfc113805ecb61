"""Audit trail of ministry decisions (from the event stream, one entry per event, with the actor),
admin-only pages and API, and the "Meine Daten" pages."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import Stack
from tests.e2e.conftest_polls import open_poll, propose
from tests.e2e.surveys_support import published
from tests.e2e.test_privacy import make_admin

pytestmark = pytest.mark.hardening

MINISTRY_ID = "demo-ministerium"
MAGDEBURG = "kommune-15003@gdst.example"

# every ministry action this test takes, by the event type it is audited as
ACTIONS = (
    "survey.published",
    "survey.closed",
    "need.status_changed",
    "pilot.opened",
    "pilot.selection_made",
    "topic.status_changed",
    "poll.opened",
    "poll.closed",
    "group.member_added",
    "meeting.created",
    "meeting.cancelled",
)


async def ministry_actions(stack: Stack, ministry: httpx.AsyncClient) -> dict[str, str]:
    """Takes each audited ministry action once; returns the object (event subject) of each."""
    member = await stack.login(MAGDEBURG)
    need = (
        await member.post(
            "/api/v1/needs", json={"title": "E-Rechnung", "description": "Eingang", "category": "querschnitt"}
        )
    ).json()
    assert (
        await ministry.patch(f"/api/v1/needs/{need['id']}", json={"status": "in_pruefung"})
    ).status_code == 200
    pilot = (
        await ministry.post(
            "/api/v1/pilots",
            json={
                "title": "Pilot E-Rechnung",
                "description": "Erprobung",
                "need_ids": [need["id"]],
                "capacity": 2,
                "signup_closes_at": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
            },
        )
    ).json()
    await member.put(
        f"/api/v1/pilots/{pilot['id']}/signup", json={"contact_name": "IT", "contact_email": "it@md.example"}
    )
    chosen = await ministry.post(
        f"/api/v1/pilots/{pilot['id']}/selection", json={"organisation_ids": ["15003"]}
    )
    assert chosen.status_code == 200, chosen.text
    survey = await published(ministry, questions=[{"id": "n", "kind": "number", "label": "Zahl"}])
    assert (await ministry.post(f"/api/v1/surveys/{survey['id']}/close")).status_code == 200
    topic = await propose(member, "Glasfaser")
    moved = await ministry.patch(f"/api/v1/topics/{topic['id']}", json={"status": "selected"})
    assert moved.status_code == 200, moved.text
    poll = await open_poll(ministry)
    assert (await ministry.post(f"/api/v1/polls/{poll['id']}/close")).status_code == 200
    assert (await ministry.put("/api/v1/groups/ag-strategie/members/demo-15001")).status_code == 204
    meeting = await ministry.post(
        "/api/v1/meetings",
        json={
            "title": "Regionaltreffen Nord",
            "start": (datetime.now(UTC) + timedelta(days=10)).strftime("%Y-%m-%dT10:00"),
            "location": "Stendal, Kreishaus",
        },
    )
    assert meeting.status_code == 201, meeting.text
    called_off = await ministry.post(
        f"/api/v1/meetings/{meeting.json()['id']}/cancel", json={"reason": "Zu wenige Anmeldungen"}
    )
    assert called_off.status_code == 200, called_off.text
    return {
        "meeting.created": f"meetings/{meeting.json()['id']}",
        "meeting.cancelled": f"meetings/{meeting.json()['id']}",
        "survey.published": f"surveys/{survey['id']}",
        "survey.closed": f"surveys/{survey['id']}",
        "need.status_changed": f"needs/{need['id']}",
        "pilot.opened": f"pilots/{pilot['id']}",
        "pilot.selection_made": f"pilots/{pilot['id']}",
        "topic.status_changed": f"topics/{topic['id']}",
        "poll.opened": f"polls/{poll['id']}",
        "poll.closed": f"polls/{poll['id']}",
        "group.member_added": "groups/ag-strategie",
    }


class TestAudit:
    async def test_ministry_actions_are_audited_with_their_actor(self, stack: Stack, figures: Any) -> None:
        ministry = await stack.login()
        admin = await make_admin(stack)
        objects = await ministry_actions(stack, ministry)

        async def trail() -> list[dict[str, Any]]:
            body = (await admin.get("/api/v1/audit", params={"limit": 100})).json()
            items: list[dict[str, Any]] = body["items"]
            return items

        deadline = time.monotonic() + 40
        while {e["action"] for e in await trail()} < set(ACTIONS):
            assert time.monotonic() < deadline, (
                f"missing: {set(ACTIONS) - {e['action'] for e in await trail()}}"
            )
            await asyncio.sleep(0.3)
        entries = await trail()
        for action in ACTIONS:
            found = [e for e in entries if e["action"] == action and e["object"] == objects[action]]
            assert len(found) == 1, (action, found)
            assert found[0]["actor"] == MINISTRY_ID, (action, found[0])
            assert found[0]["actor_name"] == "Maria Ministerium"
        [status] = [e for e in entries if e["action"] == "need.status_changed"]
        assert status["details"]["old_status"] == "neu" and status["details"]["status"] == "in_pruefung"
        # as instants: the text form drops a zero fraction ("…:03Z" after "…:03.177Z" as text)
        times = [datetime.fromisoformat(e["at"]) for e in entries]
        assert times == sorted(times, reverse=True)
        figures.record("audit", "ministry actions audited with the right actor", len(ACTIONS))

        # filters and paging
        only = (await admin.get("/api/v1/audit", params={"action": "poll.closed"})).json()["items"]
        assert [e["action"] for e in only] == ["poll.closed"]
        by_actor = (await admin.get("/api/v1/audit", params={"actor": MINISTRY_ID})).json()["items"]
        assert {e["action"] for e in by_actor} >= set(ACTIONS)
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
        today = datetime.now(UTC).date().isoformat()
        assert (await admin.get("/api/v1/audit", params={"since": tomorrow})).json()["items"] == []
        assert len(
            (await admin.get("/api/v1/audit", params={"since": today, "until": today})).json()["items"]
        ) >= len(ACTIONS)
        empty_range = await admin.get("/api/v1/audit", params={"since": tomorrow, "until": today})
        assert empty_range.status_code == 422
        bad_day = await admin.get("/api/v1/audit", params={"since": "gestern"})
        assert bad_day.status_code in (400, 422)
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 4, **({"cursor": cursor} if cursor else {})}
            page = (await admin.get("/api/v1/audit", params=params)).json()
            seen += [e["id"] for e in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert seen == [e["id"] for e in entries] and len(set(seen)) == len(seen)

        # the page, with a filter
        html = await admin.get("/verwaltung/protokoll", params={"aktion": "survey.published"})
        assert html.status_code == 200
        assert "Umfrage veröffentlicht" in html.text and "Maria Ministerium" in html.text
        assert "Abstimmung beendet</td>" not in html.text
        wrong = await admin.get("/verwaltung/protokoll", params={"von": "kein-datum"})
        assert wrong.status_code == 422 and "JJJJ-MM-TT" in wrong.text

    async def test_admin_pages_are_for_admins_only(self, stack: Stack, figures: Any) -> None:
        admin = await make_admin(stack)
        ministry = await stack.login()
        member = await stack.login(MAGDEBURG)
        checked = 0
        for path in ("/api/v1/audit", "/verwaltung/protokoll", "/verwaltung/verarbeitungsverzeichnis"):
            for client in (ministry, member):
                response = await client.get(path)
                assert response.status_code == 403, (path, response.status_code)
                checked += 1
            anonymous = await stack.client().get(path)
            assert anonymous.status_code in (401, 302, 303), (path, anonymous.status_code)
            checked += 1
            assert (await admin.get(path)).status_code == 200
            checked += 1
        record = await admin.get("/verwaltung/verarbeitungsverzeichnis")
        settings = stack.settings
        assert f"Einträge im Eingang: {settings.retention_inbox_days} Tage" in record.text
        assert (
            f"Versandprotokolle (E-Mail, Webhooks): {settings.retention_delivery_log_days} Tage"
            in record.text
        )
        assert "Art. 30" in record.text
        # a member cannot delete someone else
        other = await member.post("/api/v1/people/demo-15001/deletion", json={"confirm": True})
        assert other.status_code == 403
        checked += 1
        figures.record("privacy", "admin-only access cases checked", checked)
        schema = (await stack.client().get("/api/schema/openapi.json")).json()
        for path, verb in (
            ("/api/v1/me/export", "get"),
            ("/api/v1/me/deletion", "post"),
            ("/api/v1/people/{person_id}/export", "get"),
            ("/api/v1/people/{person_id}/deletion", "post"),
            ("/api/v1/audit", "get"),
        ):
            assert verb in schema["paths"][path], path

    async def test_my_data_pages(self, stack: Stack) -> None:
        member = await stack.login(MAGDEBURG)
        page = await member.get("/meine-daten")
        assert page.status_code == 200 and "Meine Daten herunterladen" in page.text
        member.cookies.set("gdst_lang", "en")
        assert "Download my data (JSON)" in (await member.get("/meine-daten")).text
        member.cookies.set("gdst_lang", "de")
        download = await member.get("/meine-daten/export.json")
        assert download.status_code == 200
        assert download.json()["services"]["directory"]["people"][0]["email"] == MAGDEBURG
        confirm = await member.get("/meine-daten/loeschen")
        csrf = confirm.text.split('name="csrf_token" value="')[1].split('"')[0]
        unconfirmed = await member.post("/meine-daten/loeschen", data={"csrf_token": csrf})
        assert unconfirmed.status_code == 422
        assert "Bitte bestätigen Sie" in unconfirmed.text and 'href="#confirm"' in unconfirmed.text
        assert (await member.get("/api/v1/me")).status_code == 200  # nothing happened
        done = await member.post("/meine-daten/loeschen", data={"csrf_token": csrf, "confirm": "1"})
        assert done.status_code == 200 and "Ihr Konto ist gelöscht" in done.text
        assert (await member.get("/api/v1/me")).status_code == 401
