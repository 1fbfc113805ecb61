"""Notifications on the real stack: the intended recipients, in the channel they chose, once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
import msgspec

from services.contracts.envelope import Event
from services.notifications.digests import Digests
from tests.conftest import Stack
from tests.e2e.needs_support import KOMMUNEN, kommune, report

MAGDEBURG, HALLE, DESSAU, SALZWEDEL = "15003", "15002", "15001", "15081455"


async def inbox(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    for _ in range(100):
        body = (await client.get("/api/v1/notifications", params=params)).json()
        if body["items"]:
            return list(body["items"])
        await asyncio.sleep(0.1)
    return []


async def org_name(client: httpx.AsyncClient) -> str:
    me: dict[str, Any] = (await client.get("/api/v1/me")).json()
    return str(me["organisation"]["name"])


async def wait_inbox(client: httpx.AsyncClient, count: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for _ in range(150):
        items = (await client.get("/api/v1/notifications")).json()["items"]
        if len(items) >= count:
            return items
        await asyncio.sleep(0.1)
    return items


class TestFanOut:
    async def test_status_change_reaches_reporting_and_supporting_kommunen_only(self, stack: Stack) -> None:
        magdeburg = await stack.login(kommune(MAGDEBURG))
        halle = await stack.login(kommune(HALLE))
        dessau = await stack.login(kommune(DESSAU))
        need = await report(magdeburg, "Videokonferenzen für Gremien")
        await halle.put(f"/api/v1/needs/{need['id']}/support")
        ministry = await stack.login()
        await ministry.patch(f"/api/v1/needs/{need['id']}", json={"status": "in_pruefung"})

        # immediate by default: a mail to each affected Kommune's person, nobody else
        for ags in (MAGDEBURG, HALLE):
            [mail] = await stack.mailbox.wait_for(kommune(ags), 1, timeout=20)
            assert "In Prüfung" in mail["Subject"]
            text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            assert f"http://gdst.test/bedarfe/{need['id']}" in text
            assert "http://gdst.test/einstellungen/benachrichtigungen" in text
            assert mail["List-Unsubscribe"] == "<http://gdst.test/einstellungen/benachrichtigungen>"
            assert mail.get_body(("html",)) is not None
        status_items = [i for i in await wait_inbox(magdeburg, 2) if i["event_type"] == "need.status_changed"]
        assert len(status_items) == 1 and status_items[0]["link"] == f"/bedarfe/{need['id']}"
        await asyncio.sleep(1.0)
        assert stack.mailbox.to(kommune(DESSAU)) == []
        assert (await dessau.get("/api/v1/notifications")).json()["items"] == []
        assert (await ministry.get("/api/v1/notifications")).json()["items"] == [], "the actor is not told"

    async def test_support_goes_to_the_reporting_kommune_inbox_and_next_digest(self, stack: Stack) -> None:
        magdeburg = await stack.login(kommune(MAGDEBURG))
        need = await report(magdeburg, "Open Data Portal")
        halle = await stack.login(kommune(HALLE))
        await halle.put(f"/api/v1/needs/{need['id']}/support")
        [item] = await inbox(magdeburg)
        assert (
            item["event_type"] == "need.supported" and "Halle (Saale)" in item["title"] and not item["read"]
        )
        assert (await halle.get("/api/v1/notifications")).json()["items"] == [], "the supporter is not told"
        await asyncio.sleep(1.0)
        assert [m["Subject"] for m in stack.mailbox.to(kommune(MAGDEBURG))] == [], (
            "daily digest by default: no mail yet"
        )

        digests: Digests = stack.processes["notifications"].parts["digests"]
        tomorrow_7am = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), time(7, 0), tzinfo=UTC)
        clocked = Digests(
            digests.repo,
            public_url="http://gdst.test",
            sender="GDST <no@gdst.example>",
            at=time(7, 0),
            clock=lambda: tomorrow_7am,
            on_mail=stack.processes["notifications"].parts["sender"].wake,
        )
        assert await clocked.run_once() == 1
        assert await clocked.run_once() == 0, "never twice for the same period"
        [mail] = await stack.mailbox.wait_for(kommune(MAGDEBURG), 1, timeout=20)
        assert mail["Subject"].startswith("Ihre Zusammenfassung") and "1 Neuigkeit" in mail["Subject"]
        assert "Open Data Portal" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        a_day_later = tomorrow_7am + timedelta(days=1)
        again = Digests(digests.repo, public_url="x", sender="x", clock=lambda: a_day_later)
        assert await again.run_once() == 0, "never empty"

    async def test_supporters_hear_of_each_new_one_up_to_ten_kommunen_the_reporter_of_all(
        self, stack: Stack
    ) -> None:
        reporter = await stack.login(kommune(KOMMUNEN[0]))
        need = await report(reporter, "Digitale Bauakte")
        first, *others = [await stack.login(kommune(ags)) for ags in KOMMUNEN[1:12]]
        for client in (first, *others):
            # one after the other: the order of marking decides the count each one brings
            assert (await client.put(f"/api/v1/needs/{need['id']}/support")).status_code == 200
        told_reporter = await wait_inbox(reporter, 11)
        assert len(told_reporter) == 11, "the reporting Kommune hears of every supporter"
        await wait_inbox(first, 8)
        await asyncio.sleep(1.0)  # the 11th and 12th Kommune's events are handled by now
        told_first = (await first.get("/api/v1/notifications")).json()["items"]
        # the first supporter (2nd Kommune) hears of the 3rd to the 10th, not of the 11th and 12th
        assert len(told_first) == 8
        later = [await org_name(c) for c in others]
        assert sorted(i["title"] for i in told_first) == sorted(
            f"„Digitale Bauakte“: {name} ist auch betroffen" for name in later[:8]
        )
        # past ten, the count is the news; the Kommune is named in the text
        [twelfth] = [
            i for i in told_reporter if i["title"] == "„Digitale Bauakte“ betrifft jetzt 12 Kommunen"
        ]
        assert later[-1] in twelfth["body"]

    async def test_mark_read_and_unread_count(self, stack: Stack) -> None:
        magdeburg = await stack.login(kommune(MAGDEBURG))
        first = await report(magdeburg, "Erster Bedarf")
        second = await report(magdeburg, "Zweiter Bedarf")
        halle = await stack.login(kommune(HALLE))
        await halle.put(f"/api/v1/needs/{first['id']}/support")
        await halle.put(f"/api/v1/needs/{second['id']}/support")
        items = await wait_inbox(magdeburg, 2)
        assert len(items) == 2
        assert (await magdeburg.post(f"/api/v1/notifications/{items[0]['id']}/read")).status_code == 204
        unread = (await magdeburg.get("/api/v1/notifications", params={"unread": "true"})).json()
        assert [i["id"] for i in unread["items"]] == [items[1]["id"]] and unread["unread"] == 1
        # nobody marks another person's entries
        assert (await halle.post(f"/api/v1/notifications/{items[1]['id']}/read")).status_code == 404
        assert (await magdeburg.post("/api/v1/notifications/read-all")).status_code == 204
        assert (await magdeburg.get("/api/v1/notifications", params={"unread": "true"})).json()["items"] == []


class TestPreferences:
    async def test_defaults_and_changes(self, stack: Stack) -> None:
        client = await stack.login(kommune(MAGDEBURG))
        prefs = (await client.get("/api/v1/notification-preferences")).json()
        assert prefs["need.status_changed"] == {"email": "immediate", "inapp": True}
        assert prefs["need.supported"] == {"email": "daily", "inapp": True}
        changed = await client.put(
            "/api/v1/notification-preferences", json={"need.status_changed": {"email": "off", "inapp": False}}
        )
        assert changed.status_code == 200 and changed.json()["need.status_changed"] == {
            "email": "off",
            "inapp": False,
        }
        assert changed.json()["need.supported"] == {"email": "daily", "inapp": True}

    async def test_bad_preferences(self, stack: Stack) -> None:
        client = await stack.login(kommune(MAGDEBURG))
        unknown = await client.put(
            "/api/v1/notification-preferences", json={"weltraum.start": {"email": "off", "inapp": True}}
        )
        assert unknown.status_code == 422
        wrong = await client.put(
            "/api/v1/notification-preferences", json={"need.supported": {"email": "sofort", "inapp": True}}
        )
        assert wrong.status_code == 422
        assert (await client.get("/api/v1/notification-preferences")).json()["need.supported"][
            "email"
        ] == "daily"

    async def test_off_means_nothing_arrives(self, stack: Stack) -> None:
        magdeburg = await stack.login(kommune(MAGDEBURG))
        await magdeburg.put(
            "/api/v1/notification-preferences", json={"need.status_changed": {"email": "off", "inapp": False}}
        )
        need = await report(magdeburg, "Stiller Bedarf")
        halle = await stack.login(kommune(HALLE))
        await halle.put(f"/api/v1/needs/{need['id']}/support")
        ministry = await stack.login()
        await ministry.patch(f"/api/v1/needs/{need['id']}", json={"status": "in_pruefung"})
        await stack.mailbox.wait_for(kommune(HALLE), 1, timeout=20)  # Halle kept the default
        await asyncio.sleep(1.0)
        assert stack.mailbox.to(kommune(MAGDEBURG)) == []
        types = [i["event_type"] for i in (await magdeburg.get("/api/v1/notifications")).json()["items"]]
        assert "need.status_changed" not in types


class TestExactlyOnce:
    async def test_redelivered_event_gives_no_second_mail_or_entry(self, stack: Stack) -> None:
        magdeburg = await stack.login(kommune(MAGDEBURG))
        need = await report(magdeburg, "Doppelt zugestellt")
        ministry = await stack.login()
        await ministry.patch(f"/api/v1/needs/{need['id']}", json={"status": "in_pruefung"})
        await stack.mailbox.wait_for(kommune(MAGDEBURG), 1, timeout=20)
        # deliver the same event again, as JetStream would after a lost ack
        js = stack.processes["needs"].js
        sub = await js.subscribe(
            stack.settings.names.event_subject("need.status_changed"), ordered_consumer=True
        )
        msg = await sub.next_msg(timeout=10)
        await sub.unsubscribe()
        event = msgspec.json.decode(msg.data, type=Event)
        await stack.processes["notifications"].parts["fanout"](event)
        await stack.processes["notifications"].parts["sender"].run_once()
        await asyncio.sleep(1.0)
        assert len(stack.mailbox.to(kommune(MAGDEBURG))) == 1
        items = (await magdeburg.get("/api/v1/notifications")).json()["items"]
        assert [i["event_type"] for i in items].count("need.status_changed") == 1
