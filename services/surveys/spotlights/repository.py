"""Every query of the Spotlights part. Filters are built from typed values only.

Collection `spotlights`: one document per Spotlight with its status history and its outbox.
A status change is one conditional update on the old status, so of two simultaneous changes
only one wins; the other is told the state changed (409).
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING

from services.runtime.mongo import AsyncDatabase, Document


class SpotlightsRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.spotlights = db["spotlights"]

    @property
    def outbox_collections(self) -> list[Any]:
        return [self.spotlights]

    async def create_indexes(self) -> None:
        await self.spotlights.create_index([("status", ASCENDING)])

    async def insert(self, doc: Document) -> None:
        await self.spotlights.insert_one(doc)

    async def get(self, spotlight_id: str) -> Document | None:
        return await self.spotlights.find_one({"_id": spotlight_id}, {"outbox": 0})

    async def page(
        self,
        *,
        status: str | None,
        group_id: str | None,
        ressort_id: str | None,
        kind: str | None,
        topic_id: str | None,
        need_id: str | None,
        after: str | None,
        limit: int,
    ) -> list[Document]:
        query: Document = {}
        for key, value in (
            ("status", status),
            ("group.id", group_id),
            ("kind", kind),
            ("topic.id", topic_id),
            ("need.id", need_id),
        ):
            if value is not None:
                query[key] = value
        if ressort_id is not None:
            query["ressort_ids"] = ressort_id
        if after is not None:
            query["_id"] = {"$lt": after}
        # ids start with the creation time: newest first
        cursor = self.spotlights.find(query, {"outbox": 0}).sort("_id", DESCENDING).limit(limit)
        return await cursor.to_list(None)

    async def change_status(
        self, spotlight_id: str, old: str, fields: Document, step: Document, outbox: list[Document]
    ) -> bool:
        """Move a Spotlight on from `old`; False when someone else moved it first."""
        result = await self.spotlights.update_one(
            {"_id": spotlight_id, "status": old},
            {"$set": fields, "$push": {"history": step, "outbox": {"$each": outbox}}},
        )
        return result.matched_count > 0

    async def all_for_stats(self) -> list[Document]:
        return await self.spotlights.find({}, {"status": 1, "kind": 1, "supporters": 1}).to_list(None)
