"""Every needs fact reaches JetStream as a versioned CloudEvent, exactly once.

Events of different documents are relayed independently, so only their set is compared."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import msgspec

from services.contracts import needs as c
from services.contracts.envelope import Event
from tests.conftest import Stack
from tests.e2e.needs_support import kommune, report


async def events(stack: Stack, expected: int) -> list[Event]:
    js = stack.processes["needs"].js
    names = stack.settings.names
    sub = await js.subscribe(names.event_subject(">"), ordered_consumer=True)
    found: list[Event] = []
    try:
        while len(found) < expected:
            try:
                msg = await sub.next_msg(timeout=30)
            except TimeoutError as exc:
                raise AssertionError(f"only {[e.type for e in found]}") from exc
            event = msgspec.json.decode(msg.data, type=Event)
            if event.source == "/gdst/needs":
                found.append(event)
    finally:
        await sub.unsubscribe()
    return found


class TestNeedsEvents:
    async def test_catalogue_events_are_published(self, stack: Stack) -> None:
        magdeburg, halle = await stack.login(kommune("15003")), await stack.login(kommune("15002"))
        ministry = await stack.login()
        need = await report(magdeburg, "Videokonferenzen")
        await halle.put(f"/api/v1/needs/{need['id']}/support")
        await halle.put(f"/api/v1/needs/{need['id']}/support")  # no second fact
        await halle.delete(f"/api/v1/needs/{need['id']}/support")
        await ministry.patch(f"/api/v1/needs/{need['id']}", json={"status": "in_pruefung"})
        await halle.post(
            f"/api/v1/needs/{need['id']}/solutions",
            json={"title": "Lösung", "description": "x", "kind": "produkt"},
        )
        pilot = (
            await ministry.post(
                "/api/v1/pilots",
                json={
                    "title": "Pilot",
                    "description": "x",
                    "need_ids": [need["id"]],
                    "capacity": 1,
                    "signup_closes_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
                },
            )
        ).json()
        await halle.put(
            f"/api/v1/pilots/{pilot['id']}/signup", json={"contact_name": "H", "contact_email": "h@h.de"}
        )
        await halle.delete(f"/api/v1/pilots/{pilot['id']}/signup")
        await ministry.get(f"/api/v1/pilots/{pilot['id']}")
        await magdeburg.put(
            f"/api/v1/pilots/{pilot['id']}/signup", json={"contact_name": "M", "contact_email": "m@m.de"}
        )
        await ministry.post(f"/api/v1/pilots/{pilot['id']}/selection", json={"organisation_ids": ["15003"]})

        found = await asyncio.wait_for(events(stack, 12), timeout=60)
        assert Counter(e.type for e in found) == Counter(
            [
                c.EVENT_NEED_REPORTED,
                c.EVENT_NEED_SUPPORTED,
                c.EVENT_SUPPORT_WITHDRAWN,
                c.EVENT_STATUS_CHANGED,
                c.EVENT_SOLUTION_ADDED,
                c.EVENT_PILOT_OPENED,
                c.EVENT_SIGNED_UP,
                c.EVENT_PILOT_FULL,
                c.EVENT_SIGNUP_WITHDRAWN,
                c.EVENT_SIGNED_UP,
                c.EVENT_PILOT_FULL,
                c.EVENT_SELECTION_MADE,
            ]
        )
        assert all(e.specversion == "1.0" and e.dataversion == "1" for e in found)
        by_type = {e.type: e for e in found}
        supported = msgspec.json.decode(by_type[c.EVENT_NEED_SUPPORTED].data, type=c.NeedSupported)
        assert (supported.organisation_id, supported.reporting_organisation_id) == ("15002", "15003")
        selection = msgspec.json.decode(by_type[c.EVENT_SELECTION_MADE].data, type=c.SelectionMade)
        assert selection.selected == ["15003"] and selection.declined == []
        assert len({e.id for e in found}) == 12
