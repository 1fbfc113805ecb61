"""Webhooks to a real HTTP receiver on loopback: signed, retried, logged, never twice."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from pymongo import AsyncMongoClient
from standardwebhooks.webhooks import Webhook

from services.contracts.envelope import Event
from services.notifications.webhooks import WebhookFanOut
from services.runtime.events import encode_cloudevent
from services.runtime.loops import BackgroundLoop
from tests.conftest import Stack
from tests.e2e.needs_support import kommune, report
from tests.support.http import serve


@dataclass
class Receiver:
    """An ASGI app that records webhook posts; it can fail the first N of them."""

    fail_first: int = 0
    status_on_failure: int = 503
    received: list[dict[str, Any]] = field(default_factory=list)
    calls: int = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.calls += 1
        status = self.status_on_failure if self.calls <= self.fail_first else 200
        if status == 200:
            headers = {k.decode(): v.decode() for k, v in scope["headers"]}
            self.received.append({"headers": headers, "body": body})
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]}
        )
        await send({"type": "http.response.body", "body": b"ok"})

    async def wait(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        for _ in range(int(timeout * 10)):
            if len(self.received) >= count:
                return self.received
            await asyncio.sleep(0.1)
        raise AssertionError(f"{count} deliveries expected, got {len(self.received)}")


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    app = Receiver()
    async with serve(app) as url:  # type: ignore[arg-type]
        yield app, url


class TestWebhooks:
    async def test_signed_cloudevent_delivered_once(
        self, stack: Stack, receiver: tuple[Receiver, str]
    ) -> None:
        app, url = receiver
        ministry = await stack.login()
        created = await ministry.post(
            "/api/v1/webhooks",
            json={"url": f"{url}/hook", "event_types": ["need.reported", "person.invited"]},
        )
        assert created.status_code == 201, created.text
        hook = created.json()
        assert hook["secret"].startswith("whsec_") and hook["event_types"] == ["need.reported"], (
            "internal events are never sent"
        )
        need = await report(await stack.login(kommune("15003")), "Webhook-Bedarf")
        [delivery] = await app.wait(1)
        # the receiver's own check, with the reference implementation of the spec
        payload = Webhook(hook["secret"]).verify(delivery["body"], delivery["headers"])
        assert payload["type"] == "need.reported" and payload["specversion"] == "1.0"
        assert payload["data"]["need_id"] == need["id"]
        assert delivery["headers"]["webhook-id"] == f"msg_{payload['id']}"
        # the same event again (as after a lost ack) posts nothing new
        fanout = stack.processes["notifications"].parts
        await fanout["webhook_sender"].run_once()
        event = msgspec.json.decode(delivery["body"], type=Event)
        await WebhookFanOut(fanout["webhooks"])(event)
        await fanout["webhook_sender"].run_once()
        await asyncio.sleep(0.5)
        assert len(app.received) == 1
        log = (await ministry.get(f"/api/v1/webhooks/{hook['id']}/deliveries")).json()["items"]
        assert [(d["event_type"], d["state"], len(d["attempts"])) for d in log] == [
            ("need.reported", "delivered", 1)
        ]
        assert log[0]["attempts"][0]["status"] == 200

    async def test_failing_receiver_is_retried_until_it_recovers(
        self, stack: Stack, receiver: tuple[Receiver, str]
    ) -> None:
        app, url = receiver
        app.fail_first = 2
        sender = stack.processes["notifications"].parts["webhook_sender"]
        sender.delays = (0, 0, 0)  # the real pauses grow to hours; here the retries come at once
        ministry = await stack.login()
        hook = (await ministry.post("/api/v1/webhooks", json={"url": url, "event_types": ["*"]})).json()
        await report(await stack.login(kommune("15003")), "Erst scheitert es")
        await app.wait(1)
        log = (await ministry.get(f"/api/v1/webhooks/{hook['id']}/deliveries")).json()["items"]
        [entry] = [d for d in log if d["event_type"] == "need.reported"]
        assert entry["state"] == "delivered" and [a["status"] for a in entry["attempts"]] == [503, 503, 200]

    async def test_failures_of_one_round_each_count(
        self, stack: Stack, receiver: tuple[Receiver, str]
    ) -> None:
        """Deliveries of one round fail at the same moment, each holding the same copy of the
        subscription: all of them count towards switching it off."""
        _, url = receiver
        sender = stack.processes["notifications"].parts["webhook_sender"]
        ministry = await stack.login()
        created = await ministry.post("/api/v1/webhooks", json={"url": url, "event_types": ["need.reported"]})
        assert created.status_code == 201
        sub = await sender.repo.subscriptions.find_one({"_id": created.json()["id"]})
        await asyncio.gather(*(sender._failed_for_good(sub) for _ in range(3)))
        [hook] = (await ministry.get("/api/v1/webhooks")).json()["items"]
        assert hook["active"] is False and "3 Zustellungen" in hook["disabled_reason"]
        inbox = (await ministry.get("/api/v1/notifications")).json()["items"]
        assert [i["title"] for i in inbox] == ["Webhook deaktiviert"]

    async def test_persistent_failure_disables_with_a_notice(
        self, stack: Stack, receiver: tuple[Receiver, str]
    ) -> None:
        app, url = receiver
        app.fail_first = 1000
        sender = stack.processes["notifications"].parts["webhook_sender"]
        sender.delays = (0,)
        ministry = await stack.login()
        created = await ministry.post("/api/v1/webhooks", json={"url": url, "event_types": ["need.reported"]})
        assert created.status_code == 201
        magdeburg = await stack.login(kommune("15003"))
        for i in range(3):
            await report(magdeburg, f"Scheitert {i}")
        for _ in range(100):
            hooks = (await ministry.get("/api/v1/webhooks")).json()["items"]
            if not hooks[0]["active"]:
                break
            await asyncio.sleep(0.1)
        assert hooks[0]["active"] is False and "gescheitert" in hooks[0]["disabled_reason"]
        inbox = (await ministry.get("/api/v1/notifications")).json()["items"]
        assert [i["title"] for i in inbox] == ["Webhook deaktiviert"]
        calls = app.calls
        await report(magdeburg, "Nach dem Abschalten")
        await asyncio.sleep(1.5)
        assert app.calls == calls, "a disabled webhook gets nothing"

    async def test_who_may_manage_webhooks(self, stack: Stack, receiver: tuple[Receiver, str]) -> None:
        _, url = receiver
        member = await stack.login(kommune("15003"))
        assert (
            await member.post("/api/v1/webhooks", json={"url": url, "event_types": ["*"]})
        ).status_code == 403
        ministry = await stack.login()
        bad_url = await ministry.post("/api/v1/webhooks", json={"url": "ftp://x", "event_types": ["*"]})
        assert bad_url.status_code == 422 and bad_url.json()["errors"][0]["field"] == "url"
        bad_type = await ministry.post("/api/v1/webhooks", json={"url": url, "event_types": ["{$gt: 1}"]})
        assert bad_type.status_code == 422
        hook = (await ministry.post("/api/v1/webhooks", json={"url": url, "event_types": ["*"]})).json()
        assert (await member.get(f"/api/v1/webhooks/{hook['id']}/deliveries")).status_code == 403
        assert (await ministry.delete(f"/api/v1/webhooks/{hook['id']}")).status_code == 204
        assert (await ministry.get(f"/api/v1/webhooks/{hook['id']}/deliveries")).status_code == 404
        assert json.loads((await ministry.get("/api/v1/webhooks")).text)["items"] == []

    async def test_events_nobody_subscribed_to_are_not_taken(
        self, stack: Stack, receiver: tuple[Receiver, str]
    ) -> None:
        """The webhook consumer takes only subscribed types (a ballot nobody subscribed to never
        reaches the service); a new subscription's types before its creator is answered, a
        removed one's no longer after two rounds of the filter."""
        app, url = receiver
        parts = stack.processes["notifications"].parts
        webhook_filter = parts["webhook_filter"]
        await webhook_filter.stop()  # its rounds are run here, one at a time
        assert await webhook_filter.consumer.filtered_types() == {"webhooks-none"}
        ministry = await stack.login()
        hook = (
            await ministry.post("/api/v1/webhooks", json={"url": url, "event_types": ["need.reported"]})
        ).json()
        assert await webhook_filter.consumer.filtered_types() == {"need.reported"}
        wildcard = (await ministry.post("/api/v1/webhooks", json={"url": url, "event_types": ["*"]})).json()
        assert await webhook_filter.consumer.filtered_types() == {">"}
        # the first one's events still arrive while both are there
        await report(await stack.login(kommune("15003")), "Noch ein Webhook-Bedarf")
        await app.wait(2)
        assert (await ministry.delete(f"/api/v1/webhooks/{wildcard['id']}")).status_code == 204
        # narrowed only when two rounds agree
        assert await webhook_filter.run_once() == 0
        assert await webhook_filter.consumer.filtered_types() == {">"}
        assert await webhook_filter.run_once() == 1
        assert await webhook_filter.consumer.filtered_types() == {"need.reported"}
        assert (await ministry.delete(f"/api/v1/webhooks/{hook['id']}")).status_code == 204
        await webhook_filter.run_once()
        await webhook_filter.run_once()
        assert await webhook_filter.consumer.filtered_types() == {"webhooks-none"}

    async def test_a_subscription_made_on_another_instance_gets_the_next_event(
        self, stack: Stack, receiver: tuple[Receiver, str]
    ) -> None:
        """Another instance stored a subscription and widened the shared consumer; this one still
        remembers the subscriptions from before. The next event is delivered all the same."""
        app, url = receiver
        parts = stack.processes["notifications"].parts
        repo, webhook_filter = parts["webhooks"], parts["webhook_filter"]
        await webhook_filter.stop()
        # this instance remembers "no subscriptions" for a minute, not the usual second
        repo._active.ttl = 60.0
        assert await repo.active_for("need.reported") == []
        await repo.subscriptions.insert_one(
            {
                "_id": "elsewhere",
                "url": f"{url}/hook",
                "event_types": ["need.reported"],
                "secret": "whsec_" + "a" * 32,
                "active": True,
                "created_by": "demo-ministerium",
                "created_at": datetime.now(UTC),
                "failures_in_row": 0,
            }
        )
        await webhook_filter.widen_now()  # as the other instance did before answering
        assert await webhook_filter.consumer.filtered_types() == {"need.reported"}
        need = await report(await stack.login(kommune("15003")), "Bedarf nach fremdem Webhook")
        [delivery] = await app.wait(1)
        assert json.loads(delivery["body"])["data"]["need_id"] == need["id"]

    async def test_a_delivery_pending_from_before_the_queue_is_sent_after_a_restart(
        self, stack: Stack, receiver: tuple[Receiver, str]
    ) -> None:
        """A delivery stored as pending by a version without the queue (no entry) is queued when
        the service starts, and arrives."""
        app, url = receiver
        ministry = await stack.login()
        hook = (
            await ministry.post("/api/v1/webhooks", json={"url": url, "event_types": ["need.reported"]})
        ).json()
        await stack.stop_service("notifications")
        event = Event(
            id="evt-vor-der-warteschlange",
            source="gdst/needs",
            type="need.reported",
            time=datetime.now(UTC),
            data=msgspec.Raw(b'{"need_id": "alt"}'),
        )
        now = datetime.now(UTC)
        db = AsyncMongoClient[dict[str, Any]](stack.settings.mongodb_url)
        try:
            await db[stack.settings.names.database("notifications")]["webhook_deliveries"].insert_one(
                {
                    "_id": f"{hook['id']}:{event.id}",
                    "subscription_id": hook["id"],
                    "event_id": event.id,
                    "event_type": event.type,
                    "body": encode_cloudevent(event),
                    "state": "pending",
                    "attempts": [],
                    "created_at": now,
                    "next_attempt_at": now,
                }
            )
        finally:
            await db.close()
        await stack.start_service("notifications")
        [delivery] = await app.wait(1)
        assert json.loads(delivery["body"])["data"] == {"need_id": "alt"}
        log = (await ministry.get(f"/api/v1/webhooks/{hook['id']}/deliveries")).json()["items"]
        assert [(d["event_id"], d["state"]) for d in log] == [(event.id, "delivered")]

    async def test_queue_entries_left_by_a_stop_between_two_writes_neither_repost_nor_hurry(
        self, stack: Stack, receiver: tuple[Receiver, str]
    ) -> None:
        """A stop between a delivery's write and its queue entry's leaves the entry behind or too
        early: a delivered event is not posted again, a failed one waits for its pause, and an
        entry whose delivery was never stored goes after a minute."""
        app, url = receiver
        app.fail_first = 1
        parts = stack.processes["notifications"].parts
        sender, repo = parts["webhook_sender"], parts["webhooks"]
        await BackgroundLoop.stop(sender)  # its rounds are run here, one at a time (its client stays open)
        sender.delays = (3600,)
        ministry = await stack.login()
        await ministry.post("/api/v1/webhooks", json={"url": url, "event_types": ["need.reported"]})
        magdeburg = await stack.login(kommune("15003"))
        await report(magdeburg, "Erst später zuzustellen")
        for _ in range(100):
            if await repo.queue.count_documents({}) == 1:
                break
            await asyncio.sleep(0.1)
        assert await sender.run_once() == 0 and app.calls == 1
        [failed] = await repo.queue.find({}).to_list(None)
        # the pause of an hour was written to the delivery, not to its entry
        await repo.queue.update_one({"_id": failed["_id"]}, {"$set": {"at": datetime.now(UTC)}})
        assert await sender.run_once() == 0
        assert app.calls == 1, "the receiver is not asked again before the pause is over"
        [moved] = await repo.queue.find({}).to_list(None)
        assert moved["at"] > datetime.now(UTC) + timedelta(minutes=59)
        # the delivery arrived, its entry stayed; and an entry whose delivery was never stored
        await repo.queue.delete_many({})
        await repo.deliveries.update_one(
            {"_id": failed["_id"]}, {"$set": {"next_attempt_at": datetime.now(UTC)}}
        )
        await repo.queue.insert_one({"_id": failed["_id"], "at": datetime.now(UTC)})
        assert await sender.run_once() == 1 and len(app.received) == 1
        old = datetime.now(UTC) - timedelta(minutes=2)
        await repo.queue.insert_many(
            [
                {"_id": failed["_id"], "at": old},
                {"_id": "niemals-gespeichert-alt", "at": old},
                {"_id": "wird-gerade-gespeichert", "at": datetime.now(UTC)},
            ]
        )
        assert await sender.run_once() == 0 and app.calls == 2
        assert [q["_id"] for q in await repo.queue.find({}).to_list(None)] == ["wird-gerade-gespeichert"]
