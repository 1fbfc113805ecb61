"""Every query of the notifications service."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.notifications.unread import UnreadCounts
from services.runtime.mongo import AsyncDatabase, Document, insert_new


class NotificationsRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.deliveries = db["deliveries"]  # _id: "<channel>:<event id>:<recipient>"

    async def claim(self, key: str, now: datetime, stale_before: datetime) -> bool:
        """Claim a delivery; False when it was sent already or another worker holds it.

        A claim older than `stale_before` that never became `sent` belongs to a worker that
        died mid-send; it is taken over.
        """
        try:
            await self.deliveries.insert_one({"_id": key, "state": "sending", "claimed_at": now})
            return True
        except DuplicateKeyError:
            pass
        doc = await self.deliveries.find_one({"_id": key})
        if doc is None or doc["state"] == "sent":
            return False
        claimed = doc["claimed_at"]
        if claimed.tzinfo is None:
            claimed = claimed.replace(tzinfo=now.tzinfo)
        if claimed >= stale_before:
            raise InProgress(key)
        await self.deliveries.update_one({"_id": key}, {"$set": {"claimed_at": now}})
        return True

    async def sent(self, key: str, now: datetime) -> None:
        await self.deliveries.update_one({"_id": key}, {"$set": {"state": "sent", "sent_at": now}})

    async def release(self, key: str) -> None:
        await self.deliveries.delete_one({"_id": key, "state": "sending"})

    async def state(self, key: str) -> str | None:
        doc = await self.deliveries.find_one({"_id": key})
        return str(doc["state"]) if doc else None


class InProgress(Exception):
    """Another worker is sending this right now; try again later."""


class InboxRepository:
    """Inbox entries, preferences and the mail queue. Natural ids make every write idempotent:
    `"<event>:<person>"` for an inbox entry and a queued mail."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.inbox = db["inbox"]
        self.preferences = db["preferences"]  # _id: person id
        self.mails = db["mails"]  # the queue: only mails not yet sent
        self.sent_markers = db["mails_sent"]  # one marker per sent mail, same _id as the queued one
        self.mail_claims = db["mail_claims"]
        self.digest_items = db["digest_items"]
        self.digests = db["digests"]  # _id: "<person>:<period>:<key>", one per period
        self.unread = UnreadCounts(self._unread_counts)

    async def create_indexes(self) -> None:
        await self.inbox.create_index([("person_id", 1)])
        await self.mails.create_index([("state", 1)])
        await self.digest_items.create_index([("digest", 1)])

    # inbox ------------------------------------------------------------------------------

    async def add_inbox(self, doc: Document) -> bool:
        try:
            with self.unread.writing():
                await self.inbox.insert_one(doc)
        except DuplicateKeyError:
            return False
        if doc.get("read_at") is None:
            self.unread.apply([(doc["person_id"], _created(doc))])
        return True

    async def inbox_of(self, person_id: str, *, unread_only: bool) -> list[Document]:
        query: Document = {"person_id": person_id}
        if unread_only:
            query["read_at"] = None
        docs = await self.inbox.find(query).to_list(None)
        return sorted(docs, key=lambda d: (d["created_at"], d["_id"]), reverse=True)

    async def unread_count(self, person_id: str) -> int:
        return await self.unread.count(person_id)

    async def _unread_counts(self, before: datetime) -> dict[str, int]:
        counts: dict[str, int] = {}
        query = {"read_at": None, "created_at": {"$lt": before}}
        async for doc in self.inbox.find(query, {"_id": 0, "person_id": 1}):
            counts[doc["person_id"]] = counts.get(doc["person_id"], 0) + 1
        return counts

    async def mark_read(self, person_id: str, entry_id: str, at: datetime) -> bool:
        # by `_id` alone: FerretDB looks up nothing else by index, `{_id, person_id}` was a scan
        entry = await self.inbox.find_one({"_id": entry_id})
        if entry is None or entry.get("person_id") != person_id:
            return False
        if entry.get("read_at") is not None:
            return True
        with self.unread.writing():
            await self.inbox.update_one({"_id": entry_id}, {"$set": {"read_at": at}})
        self.unread.apply(read=person_id)
        return True

    async def mark_all_read(self, person_id: str, at: datetime) -> None:
        with self.unread.writing():
            await self.inbox.update_many({"person_id": person_id, "read_at": None}, {"$set": {"read_at": at}})
        self.unread.apply(all_read=person_id)

    # preferences ------------------------------------------------------------------------

    async def insert_new(self, collection: Any, docs: list[Document]) -> int:
        """Insert many documents at once; those whose `_id` exists already are skipped."""
        if not docs:
            return 0
        with self.unread.writing() if collection is self.inbox else contextlib.nullcontext():
            failed = await insert_new(collection, docs)
        if collection is self.inbox:
            # after the write: a count asked for from now on includes what was added
            self.unread.apply(
                (doc["person_id"], _created(doc))
                for i, doc in enumerate(docs)
                if i not in failed and doc.get("read_at") is None
            )
        return len(docs) - len(failed)

    async def preferences_for(self, person_ids: list[str]) -> dict[str, dict[str, Any]]:
        docs = await self.preferences.find({"_id": {"$in": person_ids}}).to_list(None)
        return {
            d["_id"]: {
                e["event_type"]: {"email": e["email"], "inapp": e["inapp"]} for e in d.get("items") or []
            }
            for d in docs
        }

    async def preferences_of(self, person_id: str) -> dict[str, Any]:
        doc = await self.preferences.find_one({"_id": person_id})
        entries = (doc or {}).get("items") or []
        return {e["event_type"]: {"email": e["email"], "inapp": e["inapp"]} for e in entries}

    async def set_preferences(self, person_id: str, items: dict[str, Any]) -> None:
        # stored as a list: FerretDB refuses keys with a dot, and event types have dots
        entries = [
            {"event_type": k, "email": v["email"], "inapp": v["inapp"]} for k, v in sorted(items.items())
        ]
        await self.preferences.replace_one(
            {"_id": person_id}, {"_id": person_id, "items": entries}, upsert=True
        )

    # mail queue -------------------------------------------------------------------------

    async def due_mails(self, now: datetime, limit: int = 200) -> list[Document]:
        # without the message bodies: a round looks at every queued mail, sends only a batch
        docs = await self.mails.find({}, {"raw": 0}).to_list(None)
        due = [
            d for d in docs if d.get("state") != "failed" and _aware(d.get("next_attempt_at") or now) <= now
        ]
        due.sort(key=lambda d: (d["created_at"], d["_id"]))
        if not due:
            return []
        # a mail queued again by a redelivered event finds its marker and is dropped, never sent twice
        sent = {
            d["_id"]
            async for d in self.sent_markers.find({"_id": {"$in": [d["_id"] for d in due]}}, {"_id": 1})
        }
        if sent:
            await self.mails.delete_many({"_id": {"$in": sorted(sent)}})
        return [d for d in due if d["_id"] not in sent][:limit]

    async def claim_mail(self, mail_id: str, now: datetime, stale_before: datetime) -> bool:
        try:
            await self.mail_claims.insert_one({"_id": mail_id, "at": now})
            return True
        except DuplicateKeyError:
            pass
        claim = await self.mail_claims.find_one({"_id": mail_id})
        if claim is not None and _aware(claim["at"]) >= stale_before:
            return False
        # the claim belongs to a worker that died mid-send: take it over
        await self.mail_claims.replace_one({"_id": mail_id}, {"_id": mail_id, "at": now}, upsert=True)
        return True

    async def claim_mails(self, mail_ids: list[str], now: datetime, stale_before: datetime) -> list[str]:
        """Claim a batch; returns the ids this worker now holds."""
        if not mail_ids:
            return []
        claims = await self.mail_claims.find({"_id": {"$in": mail_ids}}).to_list(None)
        held = {c["_id"] for c in claims if _aware(c["at"]) >= stale_before}
        stale = [c["_id"] for c in claims if c["_id"] not in held]
        if stale:
            # claims of a worker that died mid-send: taken over one by one (rare)
            return [
                m
                for m in mail_ids
                if m not in held and (m not in stale or await self.claim_mail(m, now, stale_before))
            ]
        free = [m for m in mail_ids if m not in held]
        if not free:  # all held by another instance of the service
            return []
        try:
            await self.mail_claims.insert_many([{"_id": m, "at": now} for m in free], ordered=False)
            return free
        except BulkWriteError as exc:
            lost = {free[e["index"]] for e in exc.details.get("writeErrors", []) if e.get("code") == 11000}
            if len(lost) != len(exc.details.get("writeErrors", [])):
                raise
            return [m for m in free if m not in lost]

    async def mail_bodies(self, mail_ids: list[str]) -> dict[str, Document]:
        docs = await self.mails.find({"_id": {"$in": mail_ids}}).to_list(None)
        return {d["_id"]: d for d in docs}

    async def mails_sent(self, mail_ids: list[str], at: datetime) -> None:
        """Record a batch as sent. Three bulk writes whatever the batch size: on FerretDB each
        single-document update is a transaction of its own and costs tens of milliseconds."""
        if not mail_ids:
            return
        await self.insert_new(self.sent_markers, [{"_id": m, "at": at} for m in mail_ids])
        await self.mails.delete_many({"_id": {"$in": mail_ids}})
        await self.mail_claims.delete_many({"_id": {"$in": mail_ids}})

    async def mail_sent(self, mail_id: str, at: datetime) -> None:
        await self.mails_sent([mail_id], at)

    async def mail_state(self, mail_id: str) -> str | None:
        if await self.sent_markers.find_one({"_id": mail_id}, {"_id": 1}):
            return "sent"
        doc = await self.mails.find_one({"_id": mail_id}, {"_id": 1, "state": 1})
        if doc is None:
            return None
        return "failed" if doc.get("state") == "failed" else "pending"

    async def undelivered_mails(self) -> list[Document]:
        """Queued mails with at least one failed attempt, newest problem first."""
        docs = await self.mails.find({}, {"raw": 0}).to_list(None)
        found = [d for d in docs if d.get("last_error")]
        found.sort(key=lambda d: (_aware(d["created_at"]), d["_id"]), reverse=True)
        return found

    async def mail_failed(self, mail_id: str, attempts: int, at: datetime, error: str) -> None:
        """Refused for good: kept (with the server's answer) but never tried again."""
        await self.mails.update_one(
            {"_id": mail_id},
            {"$set": {"state": "failed", "attempts": attempts, "failed_at": at, "last_error": error}},
        )
        await self.mail_claims.delete_one({"_id": mail_id})

    async def mail_retry(self, mail_id: str, attempts: int, next_at: datetime, error: str) -> None:
        await self.mails.update_one(
            {"_id": mail_id},
            {"$set": {"attempts": attempts, "next_attempt_at": next_at, "last_error": error}},
        )
        await self.mail_claims.delete_one({"_id": mail_id})

    async def queue_mail(self, doc: Document) -> bool:
        if await self.sent_markers.find_one({"_id": doc["_id"]}, {"_id": 1}):
            return False
        try:
            await self.mails.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    # digests ------------------------------------------------------------------------------

    async def add_digest_item(self, doc: Document) -> bool:
        try:
            await self.digest_items.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def open_digest_items(self, period: str, before: datetime) -> list[Document]:
        docs = await self.digest_items.find({"digest": None, "period": period}).to_list(None)
        return [d for d in docs if _aware(d["created_at"]) < before]

    async def claim_digest(self, digest_id: str, doc: Document) -> bool:
        try:
            await self.digests.insert_one({"_id": digest_id, **doc})
        except DuplicateKeyError:
            return False
        return True

    async def digest(self, digest_id: str) -> Document | None:
        return await self.digests.find_one({"_id": digest_id})

    async def close_digest_items(self, item_ids: list[str], digest_id: str) -> None:
        await self.digest_items.update_many({"_id": {"$in": item_ids}}, {"$set": {"digest": digest_id}})


def _created(doc: Document) -> datetime:
    # an entry without a time counts as old: during a scan that makes the next count read again
    at = doc.get("created_at")
    return _aware(at) if isinstance(at, datetime) else datetime.min.replace(tzinfo=UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
