"""Survey and poll events reach exactly the addressed, missing or eligible people."""

from __future__ import annotations

import asyncio

from tests.conftest import Stack
from tests.e2e.conftest_polls import open_poll, propose
from tests.e2e.surveys_support import GOOD_ANSWERS, published


def kommune(ags: str) -> str:
    return f"kommune-{ags}@gdst.example"


class TestSurveyNotifications:
    async def test_published_then_reminder_to_the_missing_only(self, stack: Stack) -> None:
        ministry = await stack.login()
        survey = await published(
            ministry, audience={"kind": "organisations", "ids": ["15003", "15002", "15001"]}
        )
        for ags in ("15003", "15002", "15001"):
            [mail] = await stack.mailbox.wait_for(kommune(ags), 1, timeout=20)
            assert mail["Subject"] == "Neue Umfrage: Digitalisierungsstand 2025"
            assert f"http://gdst.test/umfragen/{survey['id']}" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        await asyncio.sleep(0.5)
        assert stack.mailbox.to(kommune("15081")) == [], "not addressed, not told"

        magdeburg = await stack.login(kommune("15003"))
        saved = await magdeburg.put(
            f"/api/v1/surveys/{survey['id']}/response", json={"answers": GOOD_ANSWERS}
        )
        assert saved.status_code == 200, saved.text
        submitted = await magdeburg.post(f"/api/v1/surveys/{survey['id']}/response/submit")
        assert submitted.status_code == 200, submitted.text
        assert (await ministry.post(f"/api/v1/surveys/{survey['id']}/reminders")).status_code == 202
        for ags in ("15002", "15001"):
            mails = await stack.mailbox.wait_for(kommune(ags), 2, timeout=20)
            assert mails[1]["Subject"] == "Erinnerung: Digitalisierungsstand 2025"
        await asyncio.sleep(1.0)
        assert len(stack.mailbox.to(kommune("15003"))) == 1, "who submitted is never reminded"


class TestPollNotifications:
    async def test_poll_opened_reaches_the_ag_and_topic_selected_after_close(self, stack: Stack) -> None:
        ministry = await stack.login()
        magdeburg = await stack.login(kommune("15003"))  # AG Technik
        topic = await propose(magdeburg, "Breitband für Gewerbegebiete")
        poll = await open_poll(
            ministry,
            group_id="ag-technik",
            options=[{"topic_id": topic["id"]}, {"label": "Anderes"}],
            method={"kind": "single"},
            winners=1,
        )
        [mail] = await stack.mailbox.wait_for(kommune("15003"), 1, timeout=20)
        assert mail["Subject"].startswith("Neue Abstimmung")
        await stack.mailbox.wait_for(kommune("15002"), 1, timeout=20)  # Halle is in AG Technik too
        await asyncio.sleep(0.5)
        assert stack.mailbox.to(kommune("15001")) == [], "Dessau is not in AG Technik"
        option = next(o["id"] for o in poll["options"] if o.get("topic_id") == topic["id"])
        assert (
            await magdeburg.put(f"/api/v1/polls/{poll['id']}/ballot", json={"choice": option})
        ).status_code == 200
        assert (await ministry.post(f"/api/v1/polls/{poll['id']}/close")).status_code == 200
        for _ in range(100):
            items = (await magdeburg.get("/api/v1/notifications")).json()["items"]
            if {"poll.closed", "topic.selected"} <= {i["event_type"] for i in items}:
                break
            await asyncio.sleep(0.1)
        titles = {i["event_type"]: i["title"] for i in items}
        assert titles["topic.selected"] == "Thema ausgewählt: Breitband für Gewerbegebiete"
        assert titles["poll.closed"].startswith("Ergebnis")
