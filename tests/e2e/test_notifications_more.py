"""More recipients per event, and channels that do not hold each other up."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import Stack
from tests.e2e.needs_support import kommune, report
from tests.e2e.surveys_support import GOOD_ANSWERS, published
from tests.e2e.test_webhooks import Receiver
from tests.support.http import serve


async def inbox_types(stack: Stack, ags: str, expect: str, timeout: float = 20) -> list[str]:
    client = await stack.login(kommune(ags))
    types: list[str] = []
    for _ in range(int(timeout * 10)):
        types = [i["event_type"] for i in (await client.get("/api/v1/notifications")).json()["items"]]
        if expect in types:
            break
        await asyncio.sleep(0.1)
    return types


class TestPilotRecipients:
    async def test_pilot_events_reach_affected_and_signed_up_kommunen(self, stack: Stack) -> None:
        magdeburg = await stack.login(kommune("15003"))
        need = await report(magdeburg, "E-Akte für alle")
        halle = await stack.login(kommune("15002"))
        await halle.put(f"/api/v1/needs/{need['id']}/support")
        ministry = await stack.login()
        pilot = (
            await ministry.post(
                "/api/v1/pilots",
                json={
                    "title": "Pilot E-Akte",
                    "description": "Erprobung",
                    "need_ids": [need["id"]],
                    "capacity": 1,
                    "signup_closes_at": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
                },
            )
        ).json()
        # opened: both affected Kommunen, by mail at once (default), nobody else
        for ags in ("15003", "15002"):
            [mail] = await stack.mailbox.wait_for(kommune(ags), 1, timeout=20)
            assert mail["Subject"] == "Neues Pilotvorhaben: Pilot E-Akte"
        dessau = await stack.login(kommune("15001"))
        await dessau.put(
            f"/api/v1/pilots/{pilot['id']}/signup", json={"contact_name": "D", "contact_email": "d@d.de"}
        )
        await halle.put(
            f"/api/v1/pilots/{pilot['id']}/signup", json={"contact_name": "H", "contact_email": "h@h.de"}
        )
        await ministry.post(f"/api/v1/pilots/{pilot['id']}/selection", json={"organisation_ids": ["15001"]})
        # full (daily digest) and selection (immediate): the signed-up Kommunen only
        assert "pilot.full" in await inbox_types(stack, "15001", "pilot.full")
        assert "pilot.selection_made" in await inbox_types(stack, "15002", "pilot.selection_made")
        await stack.mailbox.wait_for(kommune("15001"), 1, timeout=20)
        await asyncio.sleep(1.0)
        magdeburg_types = [
            i["event_type"] for i in (await magdeburg.get("/api/v1/notifications")).json()["items"]
        ]
        assert "pilot.selection_made" not in magdeburg_types and "pilot.full" not in magdeburg_types


class TestClosingSoon:
    async def test_only_the_missing_hear_that_a_survey_closes_soon(self, stack: Stack) -> None:
        ministry = await stack.login()
        survey = await published(ministry, audience={"kind": "organisations", "ids": ["15003", "15002"]})
        magdeburg = await stack.login(kommune("15003"))
        await magdeburg.put(f"/api/v1/surveys/{survey['id']}/response", json={"answers": GOOD_ANSWERS})
        assert (await magdeburg.post(f"/api/v1/surveys/{survey['id']}/response/submit")).status_code == 200
        svc = stack.processes["surveys"].parts["surveys"]
        svc.closing_soon = timedelta(days=13)
        await svc.run_deadlines(datetime.fromisoformat(survey["closes_at"]) - timedelta(days=12))
        mails = await stack.mailbox.wait_for(kommune("15002"), 2, timeout=20)
        assert mails[1]["Subject"] == "Umfrage endet bald: Digitalisierungsstand 2025"
        await asyncio.sleep(1.0)
        assert [m["Subject"] for m in stack.mailbox.to(kommune("15003"))] == [
            "Neue Umfrage: Digitalisierungsstand 2025"
        ]


class TestSlowWebhooks:
    async def test_a_slow_receiver_does_not_delay_mail(self, stack: Stack) -> None:
        class Slow(Receiver):
            async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
                if scope["type"] == "http":
                    await asyncio.sleep(8)
                await super().__call__(scope, receive, send)

        slow = Slow()
        async with serve(slow) as url:  # type: ignore[arg-type]
            ministry = await stack.login()
            await ministry.post("/api/v1/webhooks", json={"url": url, "event_types": ["*"]})
            need = await report(await stack.login(kommune("15003")), "Langsamer Empfänger")
            await ministry.patch(f"/api/v1/needs/{need['id']}", json={"status": "in_pruefung"})
            await stack.mailbox.wait_for(kommune("15003"), 1, timeout=20)
            assert not slow.received, "the mail came while the receiver was still busy"
            await slow.wait(1, timeout=30)
