"""Outbound webhooks: every public event, as its CloudEvents JSON, to each subscribed URL.

Deliveries are one document per subscription and event (`"<subscription>:<event>"`), so a
redelivered event or a second service instance never posts twice. They stay as the log of their
attempts; the pending ones are also queued (`webhook_queue`: the delivery's id and the time of its
next attempt), which is what the sender reads every second. Requests are signed as the
Standard Webhooks spec says; failures are retried with growing pauses for more than a day, each
attempt is logged, and a subscription whose deliveries keep failing is switched off with a
notice in its owner's inbox.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pymongo.errors import DuplicateKeyError

from services.contracts import notifications as n
from services.contracts.envelope import Event, Principal
from services.runtime import metrics
from services.runtime.consumer import EventConsumer
from services.runtime.errors import Forbidden, NotFound
from services.runtime.events import encode_cloudevent
from services.runtime.locks import Locks
from services.runtime.loops import BackgroundLoop
from services.runtime.mongo import AsyncDatabase, Document, by_ids, insert_new
from services.runtime.recent import Recent

log = logging.getLogger(__name__)

# Events that carry secrets never leave the platform.
# `person.deleted` carries hashes of a person's email and name: only the platform's own services
# need them to find what to erase.
INTERNAL_EVENTS = frozenset({"person.invited", "person.deleted"})
# Pauses before the 2nd, 3rd, … attempt: together more than a day.
RETRY_DELAYS = (5, 30, 120, 300, 900, 1800, 3600, 7200, 14400, 28800, 28800, 28800)
# a subscription is switched off after this many deliveries in a row failed for good
DISABLE_AFTER = 3
CLAIM_LEASE = timedelta(seconds=120)
# Every event the webhook consumer takes asks which subscriptions want it; the answer is read at
# most this often. A change made here counts at once; one made on another instance of the service
# within this time (the consumer's filter already takes the new types: `WebhookFilter`).
SUBSCRIPTIONS_RECENT_SECONDS = 1.0
# a queue entry whose delivery is missing for this long was left by a fan-out that stopped between
# its two writes (the event is delivered again and queues anew); younger ones may be mid-write
QUEUED_WITHOUT_DELIVERY = timedelta(seconds=60)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`webhook-signature` value per the Standard Webhooks spec (HMAC-SHA256, base64)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# a consumer needs a filter: with no subscription, a type no event ever has
NO_SUBSCRIPTION = "webhooks-none"


def types_taken(subscriptions: list[Document]) -> set[str]:
    """The event types the webhook consumer takes for these active subscriptions (`>`: all)."""
    types: set[str] = set()
    for sub in subscriptions:
        if "*" in sub["event_types"]:
            return {">"}
        types.update(sub["event_types"])
    return (types - INTERNAL_EVENTS) or {NO_SUBSCRIPTION}


def covers(taken: set[str], wanted: set[str]) -> bool:
    return ">" in taken or wanted - {NO_SUBSCRIPTION} <= taken


class WebhookRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.subscriptions = db["webhooks"]
        self.deliveries = db["webhook_deliveries"]
        self.claims = db["webhook_claims"]
        self.queue = db["webhook_queue"]
        self._active: Recent[str, list[Document]] = Recent(SUBSCRIPTIONS_RECENT_SECONDS, max_entries=1)

    async def create_indexes(self) -> None:
        await self.deliveries.create_index([("state", 1)])
        await self.deliveries.create_index([("subscription_id", 1)])

    async def active_for(self, event_type: str) -> list[Document]:
        docs = await self._active.get_or_load(
            "all", lambda: self.subscriptions.find({"active": True}).to_list(None)
        )
        return [d for d in docs or [] if event_type in d["event_types"] or "*" in d["event_types"]]

    async def active_now(self) -> list[Document]:
        return await self.subscriptions.find({"active": True}, {"event_types": 1}).to_list(None)

    def subscriptions_changed(self) -> None:
        self._active.drop("all")

    async def failed_in_row(self, subscription_id: str) -> int:
        """One more delivery failed for good: the count of them in a row. Read and written under
        the subscription's lock (the sender's): deliveries of one round fail at the same moment,
        and FerretDB's updates, `$inc` too, are read-modify-write."""
        doc = await self.subscriptions.find_one({"_id": subscription_id}, {"failures_in_row": 1})
        failures = int((doc or {}).get("failures_in_row") or 0) + 1
        await self.subscriptions.update_one({"_id": subscription_id}, {"$set": {"failures_in_row": failures}})
        return failures

    async def delivered(self, subscription_id: str) -> None:
        """A delivery arrived: the failures in a row start again from none."""
        await self.subscriptions.update_one({"_id": subscription_id}, {"$set": {"failures_in_row": 0}})

    async def disable(self, subscription_id: str, reason: str) -> None:
        await self.subscriptions.update_one(
            {"_id": subscription_id}, {"$set": {"active": False, "disabled_reason": reason}}
        )

    async def add_delivery(self, doc: Document) -> bool:
        """Queue the delivery, then store it: every pending delivery has its queue entry. An
        entry queued again for a delivery stored before (a redelivered event) is dropped by `due`."""
        try:
            await self.queue.insert_one({"_id": doc["_id"], "at": doc["next_attempt_at"]})
        except DuplicateKeyError:
            pass
        try:
            await self.deliveries.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def requeue_pending(self) -> int:
        """Queue the pending deliveries that have no entry (stored before there was a queue).
        Reads every delivery: once, when the process starts."""
        pending = await self.deliveries.find({"state": "pending"}, {"next_attempt_at": 1}).to_list(None)
        entries = [{"_id": d["_id"], "at": d["next_attempt_at"]} for d in pending]
        return len(entries) - len(await insert_new(self.queue, entries))

    async def due(self, now: datetime, limit: int = 50) -> list[Document]:
        """The pending deliveries whose time has come, oldest first. Found through the queue:
        a filter on the deliveries' `state` makes FerretDB read every delivery ever logged,
        bodies and attempts included, and the sender asks every second. Entries the deliveries
        contradict are put right on the way: an entry of a delivery finished meanwhile goes, an
        entry older than the delivery's next attempt moves to it."""
        queued = await self.queue.find({"at": {"$lte": now}}).to_list(None)
        queued.sort(key=lambda q: (_aware(q["at"]), q["_id"]))
        found: list[Document] = []
        for start in range(0, len(queued), limit):
            chunk = queued[start : start + limit]
            stored = {d["_id"]: d for d in await by_ids(self.deliveries, [q["_id"] for q in chunk])}
            for entry in chunk:
                doc = stored.get(entry["_id"])
                if await self._due_now(entry, doc, now) and doc is not None and len(found) < limit:
                    found.append(doc)
            if len(found) >= limit:
                break
        return found

    async def _due_now(self, entry: Document, doc: Document | None, now: datetime) -> bool:
        """Whether a queue entry stands for a pending delivery due now; an entry the delivery
        contradicts is put right."""
        if doc is None:
            # stopped between the two writes of `add_delivery`, or in the middle of them now
            if _aware(entry["at"]) < now - QUEUED_WITHOUT_DELIVERY:
                await self.queue.delete_one({"_id": entry["_id"]})
            return False
        if doc["state"] != "pending":  # finished, or queued again by a redelivered event
            await self.queue.delete_one({"_id": entry["_id"]})
            return False
        if _aware(doc["next_attempt_at"]) > now:  # stopped between the two writes of `retry_at`
            await self.queue.update_one({"_id": entry["_id"]}, {"$set": {"at": doc["next_attempt_at"]}})
            return False
        return True

    async def claim(self, delivery_id: str, now: datetime) -> bool:
        try:
            await self.claims.insert_one({"_id": delivery_id, "at": now})
            return True
        except DuplicateKeyError:
            pass
        claim = await self.claims.find_one({"_id": delivery_id})
        if claim is not None and _aware(claim["at"]) >= now - CLAIM_LEASE:
            return False
        await self.claims.replace_one({"_id": delivery_id}, {"_id": delivery_id, "at": now}, upsert=True)
        return True

    async def finish(self, delivery_id: str, attempt: Document, state: str) -> None:
        """The delivery arrived or failed for good: logged, out of the queue, claim released."""
        await self.deliveries.update_one(
            {"_id": delivery_id}, {"$push": {"attempts": attempt}, "$set": {"state": state}}
        )
        await self.queue.delete_one({"_id": delivery_id})
        await self.claims.delete_one({"_id": delivery_id})

    async def retry_at(self, delivery_id: str, attempt: Document, when: datetime) -> None:
        """The attempt failed: logged, and the next one queued for `when`."""
        await self.deliveries.update_one(
            {"_id": delivery_id}, {"$push": {"attempts": attempt}, "$set": {"next_attempt_at": when}}
        )
        await self.queue.update_one({"_id": delivery_id}, {"$set": {"at": when}})
        await self.claims.delete_one({"_id": delivery_id})


class WebhookService:
    """Subscriptions: created by the ministry or admins, visible to their creator (all to admins)."""

    def __init__(
        self, repo: WebhookRepository, subscribed: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self.repo = repo
        # told after a subscription was stored: its events are taken from then on
        self.subscribed = subscribed

    @staticmethod
    def _view(doc: Document) -> n.Webhook:
        return n.Webhook(
            id=doc["_id"],
            url=doc["url"],
            event_types=list(doc["event_types"]),
            active=doc["active"],
            created_at=_aware(doc["created_at"]),
            disabled_reason=doc.get("disabled_reason"),
        )

    async def create(self, who: Principal, req: n.CreateWebhook) -> n.CreatedWebhook:
        if not who.is_ministry:
            raise Forbidden("Webhooks richten das Ministerium und die Administration ein.")
        webhook_id = uuid.uuid4().hex
        secret = new_secret()
        types = sorted(set(req.event_types) - INTERNAL_EVENTS)
        await self.repo.subscriptions.insert_one(
            {
                "_id": webhook_id,
                "url": req.url,
                "event_types": types,
                "secret": secret,
                "active": True,
                "created_by": who.person_id,
                "created_at": datetime.now(UTC),
                "failures_in_row": 0,
            }
        )
        self.repo.subscriptions_changed()
        if self.subscribed is not None:
            await self.subscribed()
        return n.CreatedWebhook(id=webhook_id, url=req.url, event_types=types, secret=secret)

    async def _owned(self, who: Principal, webhook_id: str) -> Document:
        if not who.is_ministry:
            raise Forbidden("Webhooks verwalten das Ministerium und die Administration.")
        doc = await self.repo.subscriptions.find_one({"_id": webhook_id})
        if doc is None or (doc["created_by"] != who.person_id and "admin" not in who.roles):
            raise NotFound("Diesen Webhook gibt es nicht.")
        return doc

    async def list(self, who: Principal) -> n.WebhookList:
        if not who.is_ministry:
            raise Forbidden("Webhooks sehen das Ministerium und die Administration.")
        query = {} if "admin" in who.roles else {"created_by": who.person_id}
        docs = await self.repo.subscriptions.find(query).to_list(None)
        return n.WebhookList(
            items=[self._view(d) for d in sorted(docs, key=lambda d: (d["created_at"], d["_id"]))]
        )

    async def delete(self, who: Principal, webhook_id: str) -> None:
        await self._owned(who, webhook_id)
        await self.repo.subscriptions.delete_one({"_id": webhook_id})
        self.repo.subscriptions_changed()

    async def deliveries(self, who: Principal, req: n.ListDeliveries) -> n.DeliveryPage:
        await self._owned(who, req.id)
        docs = await self.repo.deliveries.find({"subscription_id": req.id}).to_list(None)
        docs.sort(key=lambda d: (d["created_at"], d["_id"]), reverse=True)
        if req.cursor:
            ids = [d["_id"] for d in docs]
            docs = docs[ids.index(req.cursor) + 1 :] if req.cursor in ids else []
        page = docs[: req.limit]
        items = [
            n.Delivery(
                id=d["_id"],
                event_id=d["event_id"],
                event_type=d["event_type"],
                state=d["state"],
                attempts=[
                    n.Attempt(
                        at=_aware(a["at"]),
                        status=a.get("status"),
                        error=a.get("error"),
                        duration_ms=a["duration_ms"],
                    )
                    for a in d.get("attempts") or []
                ],
                next_attempt_at=_aware(d["next_attempt_at"]) if d["state"] == "pending" else None,
            )
            for d in page
        ]
        return n.DeliveryPage(items=items, next_cursor=page[-1]["_id"] if len(docs) > req.limit else None)


class WebhookFanOut:
    """Consumer: one pending delivery per matching subscription and event."""

    def __init__(self, repo: WebhookRepository, on_delivery: Callable[[], None] = lambda: None) -> None:
        self.repo = repo
        self.on_delivery = on_delivery

    async def wants(self, event: Event) -> bool:
        """Only events some active subscription asked for: the consumer acknowledges the others
        without recording them. The consumer's filter took this type because a subscription
        asked for it, perhaps a moment ago on another instance, so before an event is passed
        over the subscriptions are read again instead of trusting the remembered ones."""
        if event.type in INTERNAL_EVENTS:
            return False
        if await self.repo.active_for(event.type):
            return True
        self.repo.subscriptions_changed()
        return bool(await self.repo.active_for(event.type))

    async def __call__(self, event: Event) -> None:
        if event.type in INTERNAL_EVENTS:
            return
        subscriptions = await self.repo.active_for(event.type)
        if not subscriptions:
            return
        body = encode_cloudevent(event)
        now = datetime.now(UTC)
        added = False
        for sub in subscriptions:
            added |= await self.repo.add_delivery(
                {
                    "_id": f"{sub['_id']}:{event.id}",
                    "subscription_id": sub["_id"],
                    "event_id": event.id,
                    "event_type": event.type,
                    "body": body,
                    "state": "pending",
                    "attempts": [],
                    "created_at": now,
                    "next_attempt_at": now,
                }
            )
        if added:
            self.on_delivery()


class WebhookFilter(BackgroundLoop):
    """Keeps the webhook consumer to the event types some active subscription asked for, so the
    events nobody subscribed to (every ballot) are not sent to this service at all: they cost it
    and nats-server ~0.15 ms of CPU each (docs/performance.md, #44). The durable is shared by
    every instance, so one instance's change serves all; each checks once a second.

    A subscription stored here widens the filter before its creator is answered (`widen_now`).
    A narrower filter is only set when two rounds a second apart agree on it, so a read made just
    before another instance stored a subscription does not take its type away. What remains: in
    the milliseconds between such a read and its write another instance may widen the filter and
    be overwritten; the next round (within a second) widens it again, and events passed over in
    that time are not delivered."""

    name = "webhook-filter"
    interval = 1.0

    def __init__(self, repo: WebhookRepository, consumer: EventConsumer) -> None:
        super().__init__()
        self.repo = repo
        self.consumer = consumer
        self._narrower: set[str] | None = None

    async def run_once(self) -> int:
        wanted = types_taken(await self.repo.active_now())
        taken = await self.consumer.filtered_types()
        if wanted == taken:
            self._narrower = None
            return 0
        if covers(wanted, taken) or wanted == self._narrower:
            await self.consumer.take_types(wanted)
            self._narrower = None
            return 1
        self._narrower = wanted
        return 0

    async def widen_now(self) -> None:
        try:
            for _ in range(3):  # another instance may write its older view meanwhile
                wanted = types_taken(await self.repo.active_now())
                taken = await self.consumer.filtered_types()
                if covers(taken, wanted):
                    return
                union = {">"} if ">" in wanted else (taken | wanted) - {NO_SUBSCRIPTION}
                await self.consumer.take_types(union)
        except Exception as exc:  # NATS away: the next round widens it (the subscription is stored)
            log.warning("webhook consumer not widened at once: %r", exc)


class WebhookSender(BackgroundLoop):
    name = "webhook-sender"

    def __init__(
        self,
        repo: WebhookRepository,
        inbox: Any,
        *,
        interval: float = 1.0,
        timeout: float = 10.0,
        concurrency: int = 10,
        delays: tuple[int, ...] = RETRY_DELAYS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        locks: Locks | None = None,
    ) -> None:
        super().__init__()
        self.repo = repo
        self.inbox = inbox
        # a subscription's count of failures in a row is changed by one delivery at a time,
        # across the instances of the service
        self.locks = locks or Locks.local()
        self.interval = interval
        self.delays = delays
        self.clock = clock
        self._client = httpx.AsyncClient(
            timeout=timeout, follow_redirects=False, headers={"user-agent": "GDST-Plattform-Webhooks/1"}
        )
        self._limit = asyncio.Semaphore(concurrency)

    async def stop(self) -> None:
        await super().stop()
        await self._client.aclose()

    async def run_once(self) -> int:
        now = self.clock()
        due = [d for d in await self.repo.due(now) if await self.repo.claim(d["_id"], now)]
        results = await asyncio.gather(*(self._deliver(d) for d in due))
        return sum(results)

    async def _deliver(self, doc: Document) -> int:
        async with self._limit:
            sub = await self.repo.subscriptions.find_one({"_id": doc["subscription_id"]})
            if sub is None or not sub["active"]:
                await self.repo.finish(
                    doc["_id"],
                    {
                        "at": self.clock(),
                        "status": None,
                        "error": "Webhook entfernt oder deaktiviert",
                        "duration_ms": 0,
                    },
                    "failed",
                )
                return 0
            body = bytes(doc["body"])
            message_id = f"msg_{doc['event_id']}"  # the same for every attempt: receivers de-duplicate on it
            timestamp = int(time.time())
            headers = {
                "content-type": "application/cloudevents+json",
                "webhook-id": message_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(sub["secret"], message_id, timestamp, body),
            }
            started = time.monotonic()
            status: int | None = None
            error: str | None = None
            try:
                response = await self._client.post(sub["url"], content=body, headers=headers)
                status = response.status_code
                if not 200 <= status < 300:
                    error = f"HTTP {status}"
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            attempt = {
                "at": self.clock(),
                "status": status,
                "error": error,
                "duration_ms": int((time.monotonic() - started) * 1000),
            }
            metrics.WEBHOOKS.labels("delivered" if error is None else "failed").inc()
            if error is None:
                await self.repo.finish(doc["_id"], attempt, "delivered")
                await self.repo.delivered(sub["_id"])
                self.repo.subscriptions_changed()
                return 1
            tries = len(doc.get("attempts") or []) + 1
            if tries <= len(self.delays):
                await self.repo.retry_at(
                    doc["_id"], attempt, self.clock() + timedelta(seconds=self.delays[tries - 1])
                )
                return 0
            await self.repo.finish(doc["_id"], attempt, "failed")
            await self._failed_for_good(sub)
            return 0

    async def _failed_for_good(self, sub: Document) -> None:
        async with self.locks.hold(f"webhook:{sub['_id']}"):
            failures = await self.repo.failed_in_row(sub["_id"])
        if failures < DISABLE_AFTER:
            self.repo.subscriptions_changed()
            return
        await self.repo.disable(sub["_id"], f"{failures} Zustellungen in Folge endgültig gescheitert")
        self.repo.subscriptions_changed()
        await self.inbox.add_inbox(
            {
                "_id": f"webhook-disabled:{sub['_id']}",
                "person_id": sub["created_by"],
                "event_id": sub["_id"],
                "event_type": "webhook.disabled",
                "title": "Webhook deaktiviert",
                "body": f"Der Webhook an {sub['url']} wurde nach {failures} endgültig gescheiterten Zustellungen "
                "abgeschaltet. Prüfen Sie den Empfänger und richten Sie den Webhook neu ein.",
                "link": None,
                "created_at": datetime.now(UTC),
                "read_at": None,
            }
        )
