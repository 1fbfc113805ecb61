"""Meetings through the gateway: series with exceptions in the iCal feeds (parsed back with
`icalendar`), registration with capacity under a race, reminders once per occurrence, and bad
input refused with nothing stored."""

from __future__ import annotations

import asyncio
import calendar
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import icalendar

from services.meetings.seed import seed
from tests.conftest import Stack

BERLIN = ZoneInfo("Europe/Berlin")
DESSAU = "kommune-15001@gdst.example"  # ag-organisation, ag-umsetzung
MAGDEBURG = "kommune-15003@gdst.example"  # ag-technik, ag-strategie
# dates relative to today, so the tests keep meaning the future (and the past) in later years
NEXT = date.today().year + 1
LAST = date.today().year - 1


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    days = [
        d
        for d in calendar.Calendar().itermonthdates(year, month)
        if d.month == month and d.weekday() == weekday
    ]
    return days[n - 1]


JAN, FEB, MAR = (nth_weekday(NEXT, m, calendar.FRIDAY, 3) for m in (1, 2, 3))
MEMBERS = [f"kommune-{ags}@gdst.example" for ags in ("15001", "15002", "15003", "15081", "15082", "15083")]


async def lotse(stack: Stack) -> httpx.AsyncClient:
    ministry = await stack.login()
    created = await ministry.post(
        "/api/v1/people",
        json={
            "email": "lotte@gdst.example",
            "name": "Lotte Lotse",
            "organisation_id": "15",
            "roles": ["lotse"],
            "password": "lotsen-passwort",
        },
    )
    assert created.status_code == 201, created.text
    return await stack.login("lotte@gdst.example", "lotsen-passwort")


def body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Digitales Frühstück",
        "agenda": "1. Begrüßung\n2. Vortrag",
        "start": f"{JAN.isoformat()}T09:00",  # the third Friday of January next year
        "duration_minutes": 90,
        "rrule": "FREQ=MONTHLY;BYDAY=3FR;COUNT=6",
        "online_url": "https://konferenz.gdst.example/fruehstueck",
    }
    data.update(overrides)
    return data


def events_of(text: str) -> tuple[icalendar.Calendar, list[Any]]:
    cal = icalendar.Calendar.from_ical(text)
    return cal, [c for c in cal.walk("VEVENT")]


class TestFeeds:
    async def test_series_with_exdate_and_cancellation_in_person_and_ag_feeds(self, stack: Stack) -> None:
        planner = await lotse(stack)
        created = await planner.post(
            "/api/v1/meetings",
            json=body(group_id="ag-technik", exdates=[f"{FEB.isoformat()}T09:00"]),
        )
        assert created.status_code == 201, created.text
        meeting = created.json()
        assert meeting["rrule"] == "FREQ=MONTHLY;BYDAY=3FR;COUNT=6"
        cancelled = await planner.post(
            f"/api/v1/meetings/{meeting['id']}/occurrences/{MAR:%Y%m%d}T0900/cancel",
            json={"reason": "Referentin erkrankt"},
        )
        assert cancelled.status_code == 200, cancelled.text
        assert [o["starts_at"] for o in cancelled.json()["exceptions"]] == [
            f"{MAR.isoformat()}T09:00:00+01:00"
        ]

        # Magdeburg belongs to the AG: the meeting is in its personal feed and the AG's feed
        member = await stack.login(MAGDEBURG)
        links = (await member.get("/api/v1/meetings/feed")).json()
        path = links["person"].removeprefix(stack.settings.public_url)
        async with stack.client() as calendar_program:  # no cookie, no login
            response = await calendar_program.get(path)
            assert response.status_code == 200, response.text
            assert response.headers["content-type"].startswith("text/calendar")
            cal, events = events_of(response.text)
            group_path = links["groups"]["ag-technik"].removeprefix(stack.settings.public_url)
            _, group_events = events_of((await calendar_program.get(group_path)).text)
        assert str(cal["VERSION"]) == "2.0" and "GDST" in str(cal["PRODID"])
        assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]
        master = next(e for e in events if "RECURRENCE-ID" not in e)
        override = next(e for e in events if "RECURRENCE-ID" in e)
        assert str(master["UID"]) == str(override["UID"]) == f"{meeting['id']}@termine.gdst.example"
        assert master["RRULE"]["FREQ"] == ["MONTHLY"] and master["RRULE"]["BYDAY"] == ["3FR"]
        start = master["DTSTART"].dt
        assert (
            start == datetime(NEXT, 1, JAN.day, 9, 0, tzinfo=BERLIN) and start.tzinfo.key == "Europe/Berlin"
        )
        exdates = [d.dt for d in master["EXDATE"].dts]
        assert exdates == [datetime(NEXT, 2, FEB.day, 9, 0, tzinfo=BERLIN)]
        assert "DTSTAMP" in master
        assert override["RECURRENCE-ID"].dt == datetime(NEXT, 3, MAR.day, 9, 0, tzinfo=BERLIN)
        assert str(override["STATUS"]) == "CANCELLED"
        assert "Referentin erkrankt" in str(override["DESCRIPTION"])
        assert {str(e["UID"]) for e in group_events} == {str(master["UID"])}

        # Dessau is not in the AG: not in its feed until it registers
        other = await stack.login(DESSAU)
        other_path = (await other.get("/api/v1/meetings/feed")).json()["person"]
        other_path = other_path.removeprefix(stack.settings.public_url)
        async with stack.client() as calendar_program:
            assert events_of((await calendar_program.get(other_path)).text)[1] == []
            assert (await other.put(f"/api/v1/meetings/{meeting['id']}/registration")).status_code == 200
            assert len(events_of((await calendar_program.get(other_path)).text)[1]) == 2
            # a new address revokes the old one
            renewed = (await other.post("/api/v1/meetings/feed")).json()
            assert (await calendar_program.get(other_path)).status_code == 404
            new_path = renewed["person"].removeprefix(stack.settings.public_url)
            assert (await calendar_program.get(new_path)).status_code == 200

        # the cancellation and its reason are on the meeting page
        page = await member.get(f"/termine/{meeting['id']}")
        assert page.status_code == 200
        assert "Referentin erkrankt" in page.text and f"{MAR:%d.%m.%Y}" in page.text


class TestRegistration:
    async def test_last_seats_go_to_exactly_capacity_people_and_bad_input_stores_nothing(
        self, stack: Stack
    ) -> None:
        ministry = await stack.login()
        members = [await stack.login(email) for email in MEMBERS]

        # bad input first: every refusal is specific and nothing is stored
        cases: list[tuple[httpx.AsyncClient, dict[str, Any], int, str]] = [
            (ministry, body(rrule="FREQ=MONTHLY;BYDAY=XX;COUNT=2"), 422, "rrule"),
            (ministry, body(rrule=f"FREQ=WEEKLY;UNTIL={LAST}0101"), 422, "rrule"),
            (ministry, body(rrule="FREQ=WEEKLY;BYDAY=FR"), 422, "rrule"),
            (ministry, body(rrule="FREQ=HOURLY;COUNT=3"), 422, "rrule"),
            (ministry, body(start=f"{NEXT}-02-30T09:00", rrule=None), 422, "start"),
            (ministry, body(group_id="ag-unbekannt"), 422, "group_id"),
            (ministry, body(online_url=None), 422, "location"),
            (members[0], body(), 403, ""),
        ]
        for client, data, status, field in cases:
            response = await client.post("/api/v1/meetings", json=data)
            assert response.status_code == status, (data, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
            if field:
                assert field in {e["field"] for e in response.json()["errors"]}, response.text
        assert (await ministry.get("/api/v1/meetings")).json()["items"] == []

        created = await ministry.post(
            "/api/v1/meetings",
            json=body(title="OZG-Sprechstunde Nr. 7", rrule=None, capacity=2, start=f"{NEXT}-03-03T11:00"),
        )
        assert created.status_code == 201, created.text
        meeting_id = created.json()["id"]
        url = f"/api/v1/meetings/{meeting_id}/registration"
        answers = await asyncio.gather(*(m.put(url) for m in members))
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200, 200, 409, 409, 409, 409], [a.text for a in answers]
        full = next(a for a in answers if a.status_code == 409).json()
        assert "ausgebucht" in full["detail"] and "2 Plätze" in full["detail"]
        seen = (await ministry.get(f"/api/v1/meetings/{meeting_id}")).json()
        assert (seen["registrations"], seen["seats_left"]) == (2, 0)

        # a withdrawal frees a seat for someone else; registering twice keeps one seat
        winner = members[[a.status_code for a in answers].index(200)]
        loser = members[[a.status_code for a in answers].index(409)]
        assert (await winner.put(url)).json()["registrations"] == 2
        assert (await winner.delete(url)).status_code == 204
        again = await loser.put(url)
        assert again.status_code == 200 and again.json()["registered"] is True


class TestReminders:
    async def test_one_reminder_per_occurrence_despite_two_rounds_and_a_restart(self, stack: Stack) -> None:
        ministry = await stack.login()
        soon = (datetime.now(BERLIN) + timedelta(hours=2)).replace(second=0, microsecond=0)
        created = await ministry.post(
            "/api/v1/meetings",
            json=body(title="Lotsen-Sprechstunde", rrule=None, start=soon.strftime("%Y-%m-%dT%H:%M")),
        )
        assert created.status_code == 201, created.text
        meeting_id = created.json()["id"]
        member = await stack.login(DESSAU)
        assert (await member.put(f"/api/v1/meetings/{meeting_id}/registration")).status_code == 200

        reminders = stack.processes["meetings"].parts["reminders"]
        # (the background round may have come first; then both explicit rounds state nothing)
        stated = [await reminders.run_once(), await reminders.run_once()]
        assert stated[1] == 0 and sum(stated) <= 1, stated
        await stack.stop_service("meetings")
        await stack.start_service("meetings")
        assert await stack.processes["meetings"].parts["reminders"].run_once() == 0
        mails = await stack.mailbox.wait_for(DESSAU, 1, timeout=30)
        assert "Erinnerung: Lotsen-Sprechstunde" in str(mails[0]["Subject"])

        # a later mail to the same person as a barrier: any duplicate reminder would be before it
        key = soon.strftime("%Y%m%dT%H%M")
        cancelled = await ministry.post(
            f"/api/v1/meetings/{meeting_id}/occurrences/{key}/cancel", json={"reason": "Urlaub"}
        )
        assert cancelled.status_code == 200, cancelled.text
        mails = await stack.mailbox.wait_for(DESSAU, 2, timeout=30)
        subjects = [str(m["Subject"]) for m in stack.mailbox.to(DESSAU)]
        assert sum("Erinnerung" in s for s in subjects) == 1, subjects
        assert any(s.startswith("Abgesagt: Lotsen-Sprechstunde") for s in subjects), subjects


class TestStatsAndSchema:
    async def test_held_dates_counted_and_every_endpoint_documented(self, stack: Stack) -> None:
        ministry = await stack.login()
        first = nth_weekday(LAST, 1, calendar.THURSDAY, 2)
        second = nth_weekday(LAST, 2, calendar.THURSDAY, 2)
        past = body(title="AG Technik", start=f"{first}T14:00", rrule="FREQ=MONTHLY;BYDAY=2TH;COUNT=3")
        created = await ministry.post("/api/v1/meetings", json=past | {"group_id": "ag-technik"})
        assert created.status_code == 201, created.text
        meeting_id = created.json()["id"]
        cancelled = await ministry.post(
            f"/api/v1/meetings/{meeting_id}/occurrences/{second:%Y%m%d}T1400/cancel",
            json={"reason": "Ferien"},
        )
        assert cancelled.status_code == 200, cancelled.text
        future = await ministry.post("/api/v1/meetings", json=body(rrule=None, capacity=5))
        member = await stack.login(DESSAU)
        # a guard left behind by a request that died midway does not lock the person out
        repo = stack.processes["meetings"].parts["repository"]
        stale = datetime.now(BERLIN) - timedelta(minutes=5)
        await repo.claim_registrant(future.json()["id"], "demo-15001", {"at": stale})
        registered = await member.put(f"/api/v1/meetings/{future.json()['id']}/registration")
        assert registered.status_code == 200 and registered.json()["registered"] is True, registered.text
        stats = (await ministry.get("/api/v1/meetings/stats")).json()
        # January and March held (February cancelled); one date still to come, one registration
        assert stats == {"held": 2, "held_by_group": {"ag-technik": 2}, "upcoming": 1, "registrations": 1}

        schema = (await stack.client().get("/api/schema/openapi.json")).json()
        expected = {
            "/api/v1/meetings": {"get", "post"},
            "/api/v1/meetings/{meeting_id}": {"get", "put"},
            "/api/v1/meetings/occurrences": {"get"},
            "/api/v1/meetings/stats": {"get"},
            "/api/v1/meetings/feed": {"get", "post"},
            "/api/v1/meetings/{meeting_id}/registration": {"put", "delete"},
            "/api/v1/meetings/{meeting_id}/cancel": {"post"},
            "/api/v1/meetings/{meeting_id}/occurrences/{occurrence}/cancel": {"post"},
            "/api/v1/meetings/{meeting_id}/occurrences/{occurrence}/move": {"post"},
            "/api/v1/meetings/feeds/{token}/termine.ics": {"get"},
            "/api/v1/meetings/feeds/{token}/groups/{group_id}/termine.ics": {"get"},
        }
        for path, methods in expected.items():
            assert path in schema["paths"], path
            assert methods <= set(schema["paths"][path]), (path, set(schema["paths"][path]))

        # the demo rhythm of `make run` is written once and shows on the list
        assert await seed(stack.settings) == 11
        assert await seed(stack.settings) == 0
        listing = await member.get("/termine")
        assert listing.status_code == 200
        assert "Lotsen-Sprechstunde" in listing.text and "OZG-Sprechstunde Nr. 1" in listing.text
