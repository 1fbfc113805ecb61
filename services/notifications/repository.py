"""Every query of the notifications service."""

from __future__ import annotations

from datetime import datetime

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
