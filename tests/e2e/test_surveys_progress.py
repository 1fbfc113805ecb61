"""Progress, reminders and events of a survey addressed to 50 Kommunen of the official register
with known answers: the numbers per Landkreis, reminders to the missing only, "closing soon"
stated once, and every fact published as a versioned CloudEvent."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import msgspec
import pytest

from services.contracts import surveys as c
from services.contracts.envelope import Event
from services.directory.cli import import_organisations
from tests.conftest import Stack
from tests.e2e.surveys_support import GOOD_ANSWERS, definition, kommune, published
from tests.support.register import REGISTER, needs_register, register_rows

PASSWORD = "umfrage-test-123"


async def survey_events(stack: Stack, types: set[str], settle: float = 1.5) -> list[Event]:
    """Every survey event of these types in the stream (reads until none came for `settle`)."""
    js = stack.processes["surveys"].js
    sub = await js.subscribe(stack.settings.names.event_subject(">"), ordered_consumer=True)
    found: list[Event] = []
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=settle)
            except Exception:
                return found
            event = msgspec.json.decode(msg.data, type=Event)
            if event.type in types:
                found.append(event)
    finally:
        await sub.unsubscribe()


async def wait_for_events(stack: Stack, types: set[str], expected: int) -> list[Event]:
    for _ in range(20):
        found = await survey_events(stack, types)
        if len(found) >= expected:
            return found
        await asyncio.sleep(0.5)
    return found


@pytest.fixture
async def fifty(stack: Stack) -> list[dict[str, str]]:
    """50 Städte and Gemeinden of the register, each with one member who can log in."""
    await import_organisations(stack.settings, REGISTER)
    rows = [r for r in register_rows() if r["kind"] in ("Stadt", "Gemeinde")]
    # every fourth municipality, so the 50 spread over many Landkreise
    chosen = rows[::4][:50]
    assert len(chosen) == 50
    ministry = await stack.login()
    for row in chosen:
        email = f"umfrage-{row['ags']}@gdst.example"
        response = await ministry.post(
            "/api/v1/people",
            json={
                "email": email,
                "name": f"Team {row['name']}",
                "organisation_id": row["ags"],
                "roles": ["member"],
                "password": PASSWORD,
            },
        )
        assert response.status_code == 201, response.text
    return chosen


async def answer(stack: Stack, url: str, row: dict[str, str], index: int) -> None:
    client = await stack.login(f"umfrage-{row['ags']}@gdst.example", PASSWORD)
    try:
        if index % 3 == 0:
            response = await client.post(
                f"{url}/submit", json={"answers": {**GOOD_ANSWERS, "stellen": index}}
            )
        elif index % 3 == 1:
            response = await client.put(url, json={"answers": {"dms": "Nein"}})
        else:
            return
        assert response.status_code == 200, response.text
    finally:
        await client.aclose()


@needs_register
async def test_progress_reminders_and_events_for_fifty_kommunen(
    stack: Stack, fifty: list[dict[str, str]]
) -> None:
    ministry = await stack.login()
    survey = await published(ministry, audience={"kind": "organisations", "ids": [r["ags"] for r in fifty]})
    sid = survey["id"]
    assert survey["addressed_count"] == 50
    url = f"/api/v1/surveys/{sid}/response"
    for start in range(0, 50, 10):
        await asyncio.gather(*(answer(stack, url, fifty[i], i) for i in range(start, min(start + 10, 50))))

    submitted = {r["ags"] for i, r in enumerate(fifty) if i % 3 == 0}
    drafts = {r["ags"] for i, r in enumerate(fifty) if i % 3 == 1}
    nothing = {r["ags"] for i, r in enumerate(fifty) if i % 3 == 2}
    progress = (await ministry.get(f"/api/v1/surveys/{sid}/progress")).json()
    assert (
        (progress["addressed"], progress["submitted"], progress["drafts"], progress["nothing"])
        == (
            50,
            len(submitted),
            len(drafts),
            len(nothing),
        )
        == (50, 17, 17, 16)
    )
    assert {e["organisation"]["id"] for e in progress["missing"]} == drafts | nothing

    # grouped by Landkreis, with each Kreis's own numbers
    kreis_of = {r["ags"]: r["parent_ags"] for r in fifty}
    names = {r["ags"]: r["name"] for r in register_rows()}
    expected: dict[str, Counter[str]] = {}
    for ags, kreis in kreis_of.items():
        state = "submitted" if ags in submitted else "draft" if ags in drafts else "none"
        expected.setdefault(kreis, Counter())[state] += 1
    groups = {g["kreis"]["id"]: g for g in progress["groups"]}
    assert set(groups) == set(expected) and len(groups) > 3
    for kreis, counts in expected.items():
        g = groups[kreis]
        assert g["kreis"]["name"] == names[kreis]
        assert (g["addressed"], g["submitted"], g["drafts"], g["nothing"]) == (
            sum(counts.values()),
            counts["submitted"],
            counts["draft"],
            counts["none"],
        )
        assert {e["organisation"]["id"] for e in g["entries"]} == {
            a for a, k in kreis_of.items() if k == kreis
        }
    assert [g["kreis"]["name"] for g in progress["groups"]] == sorted(
        g["kreis"]["name"] for g in progress["groups"]
    )

    # "remind those missing": drafts and nothing, never those who submitted
    reminded = await ministry.post(f"/api/v1/surveys/{sid}/reminders")
    assert reminded.status_code == 202, reminded.text
    assert set(reminded.json()["organisation_ids"]) == drafts | nothing and reminded.json()["reminded"] == 33

    # closing soon: stated once, whatever the number of checks and instances
    svc = stack.processes["surveys"].parts["surveys"]
    svc.closing_soon = timedelta(days=13)
    later = datetime.fromisoformat(survey["closes_at"]) - timedelta(days=12)
    await svc.run_deadlines(later - timedelta(days=1.5))  # not yet in the window
    await svc.run_deadlines(later)
    await svc.run_deadlines(later + timedelta(hours=1))
    assert (await ministry.post(f"/api/v1/surveys/{sid}/close")).status_code == 200
    await svc.run_deadlines(later + timedelta(days=20))  # already closed: no second close

    types = {c.EVENT_PUBLISHED, c.EVENT_REMINDER, c.EVENT_CLOSING_SOON, c.EVENT_CLOSED, c.EVENT_SUBMITTED}
    found = await wait_for_events(stack, types, 1 + 1 + 1 + 1 + len(submitted))
    assert Counter(e.type for e in found) == Counter(
        {
            c.EVENT_PUBLISHED: 1,
            c.EVENT_REMINDER: 1,
            c.EVENT_CLOSING_SOON: 1,
            c.EVENT_CLOSED: 1,
            c.EVENT_SUBMITTED: len(submitted),
        }
    )
    by_type = {e.type: e for e in found}
    assert all(
        e.source == "/gdst/surveys" and e.dataversion == "1" and e.subject == f"surveys/{sid}" for e in found
    )
    reminder = msgspec.json.decode(by_type[c.EVENT_REMINDER].data, type=c.ReminderRequested)
    assert set(reminder.organisation_ids) == drafts | nothing and set(reminder.drafts) == drafts
    soon = msgspec.json.decode(by_type[c.EVENT_CLOSING_SOON].data, type=c.ClosingSoon)
    assert set(soon.organisation_ids) == drafts | nothing and soon.lead_seconds == 13 * 24 * 3600
    closed = msgspec.json.decode(by_type[c.EVENT_CLOSED].data, type=c.SurveyClosed)
    assert (closed.reason, closed.addressed, closed.submitted) == ("manual", 50, len(submitted))
    published_event = msgspec.json.decode(by_type[c.EVENT_PUBLISHED].data, type=c.SurveyPublished)
    assert sorted(published_event.organisation_ids) == sorted(r["ags"] for r in fifty)
    assert published_event.person_ids == []
    raw: dict[str, Any] = msgspec.json.decode(by_type[c.EVENT_SUBMITTED].data)
    assert raw["type"] == "response.submitted.v1" and raw["organisation_id"] in submitted


@needs_register
async def test_all_kommunen_means_every_organisation_but_the_land(stack: Stack) -> None:
    await import_organisations(stack.settings, REGISTER)
    ministry = await stack.login()
    survey = await published(ministry, audience={"kind": "all_kommunen"})
    assert survey["addressed_count"] == len(register_rows())  # 11 Kreise, 218 municipalities, 18 VG
    kreise = await published(
        ministry, audience={"kind": "all_kommunen", "organisation_kinds": ["landkreis", "kreisfreie_stadt"]}
    )
    assert kreise["addressed_count"] == 14


async def test_reopen_and_deadline_events(stack: Stack) -> None:
    ministry = await stack.login()
    survey = await published(ministry, **{"closes_at": definition()["closes_at"]})
    halle = await stack.login(kommune("15002"))
    url = f"/api/v1/surveys/{survey['id']}/response"
    assert (await halle.post(f"{url}/submit", json={"answers": GOOD_ANSWERS})).status_code == 200
    assert (await halle.post(f"{url}/reopen")).status_code == 200
    svc = stack.processes["surveys"].parts["surveys"]
    await svc.run_deadlines(datetime.fromisoformat(survey["closes_at"]) + timedelta(minutes=1))
    found = await wait_for_events(stack, {c.EVENT_REOPENED, c.EVENT_CLOSED}, 2)
    assert sorted(e.type for e in found) == [c.EVENT_REOPENED, c.EVENT_CLOSED]
    closed = next(msgspec.json.decode(e.data, type=c.SurveyClosed) for e in found if e.type == c.EVENT_CLOSED)
    assert closed.reason == "deadline" and closed.closed_by is None and closed.submitted == 0
    reopened = next(
        msgspec.json.decode(e.data, type=c.ResponseReopened) for e in found if e.type == c.EVENT_REOPENED
    )
    assert reopened.organisation_id == "15002" and reopened.by == "demo-15002"
