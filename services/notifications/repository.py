"""Every query of the notifications service."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from services.runtime.mongo import AsyncDatabase, Document


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
        self.mails = db["mails"]
        self.mail_claims = db["mail_claims"]
        self.digest_items = db["digest_items"]
        self.digests = db["digests"]  # _id: "<person>:<period>:<key>", one per period

    async def create_indexes(self) -> None:
        await self.inbox.create_index([("person_id", 1)])
        await self.mails.create_index([("state", 1)])
        await self.digest_items.create_index([("digest", 1)])

    # inbox ------------------------------------------------------------------------------

    async def add_inbox(self, doc: Document) -> bool:
        try:
            await self.inbox.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def inbox_of(self, person_id: str, *, unread_only: bool) -> list[Document]:
        query: Document = {"person_id": person_id}
        if unread_only:
            query["read_at"] = None
        docs = await self.inbox.find(query).to_list(None)
        return sorted(docs, key=lambda d: (d["created_at"], d["_id"]), reverse=True)

    async def unread_count(self, person_id: str) -> int:
        return await self.inbox.count_documents({"person_id": person_id, "read_at": None})

    async def mark_read(self, person_id: str, entry_id: str, at: datetime) -> bool:
        result = await self.inbox.update_one(
            {"_id": entry_id, "person_id": person_id}, {"$set": {"read_at": at}}
        )
        return result.matched_count > 0

    async def mark_all_read(self, person_id: str, at: datetime) -> None:
        await self.inbox.update_many({"person_id": person_id, "read_at": None}, {"$set": {"read_at": at}})

    # preferences ------------------------------------------------------------------------

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

    async def queue_mail(self, doc: Document) -> bool:
        try:
            await self.mails.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def due_mails(self, now: datetime, limit: int = 50) -> list[Document]:
        docs = await self.mails.find({"state": "pending"}).to_list(None)
        due = [d for d in docs if _aware(d.get("next_attempt_at") or now) <= now]
        return sorted(due, key=lambda d: (d["created_at"], d["_id"]))[:limit]

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

    async def mail_state(self, mail_id: str) -> str | None:
        doc = await self.mails.find_one({"_id": mail_id}, {"state": 1})
        return str(doc["state"]) if doc else None

    async def mail_sent(self, mail_id: str, at: datetime) -> None:
        await self.mails.update_one({"_id": mail_id}, {"$set": {"state": "sent", "sent_at": at}})
        await self.mail_claims.delete_one({"_id": mail_id})

    async def mail_retry(self, mail_id: str, attempts: int, next_at: datetime, error: str) -> None:
        await self.mails.update_one(
            {"_id": mail_id},
            {"$set": {"attempts": attempts, "next_attempt_at": next_at, "last_error": error}},
        )
        await self.mail_claims.delete_one({"_id": mail_id})

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


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
