"""Every query of the polls part. Filters are built from typed values only.

Collections: `topics`, `polls`, and `ballots` with one document per ballot whose `_id` is
"<poll>:<voter>", so a voter's second ballot replaces the first and concurrent voters never
touch each other's documents. Counts are always derived from the ballot documents.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from services.runtime.mongo import AsyncDatabase, Document, GroupFind, GroupInsert

# ballot.cast events kept in a ballot's outbox; older ones were published long ago
OUTBOX_KEPT = 10


def ballot_id(poll_id: str, voter: str) -> str:
    return f"{poll_id}:{voter}"


def _of_poll(poll_id: str) -> Document:
    """The poll's ballots: by the range of their ids ("<poll>:..."), which FerretDB reads from the
    `_id` index (deploy/build-ferretdb.sh, patch 4) where `poll_id` alone converts every ballot of
    every poll; `poll_id` keeps the filter exact on any server."""
    return {"_id": {"$gte": f"{poll_id}:", "$lt": f"{poll_id};"}, "poll_id": poll_id}


class PollsRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db
        self.topics = db["topics"]
        self.polls = db["polls"]
        self.ballots = db["ballots"]
        # a poll's voters cast at once: their first ballots share inserts (a tenth of a ballot's
        # CPU on FerretDB, docs/performance.md #42)
        self._new_ballots = GroupInsert(self.ballots)
        # ballots by id, among them those other instances stored, read as their events arrive
        # (PollsService.seen_ballot)
        self._ballots_by_id = GroupFind(self.ballots, {"outbox": 0})
        # one document per claimed piece of work ("close poll p"): a unique _id settles races
        # between service instances where FerretDB's read-modify-write updates cannot
        self.claims = db["claims"]

    @property
    def outbox_collections(self) -> list[Any]:
        return [self.topics, self.polls, self.ballots]

    async def create_indexes(self) -> None:
        await self.topics.create_index([("group_id", ASCENDING)])
        await self.polls.create_index([("state", ASCENDING)])
        await self.ballots.create_index([("poll_id", ASCENDING)])

    # topics ------------------------------------------------------------------------------

    async def insert_topic(self, doc: Document) -> None:
        await self.topics.insert_one(doc)

    async def topic(self, topic_id: str) -> Document | None:
        return await self.topics.find_one({"_id": topic_id}, {"outbox": 0})

    async def topics_by_ids(self, ids: list[str]) -> dict[str, Document]:
        cursor = self.topics.find({"_id": {"$in": ids}}, {"outbox": 0})
        return {d["_id"]: d async for d in cursor}

    async def topics_page(
        self, group_id: str, status: str | None, after: str | None, limit: int
    ) -> list[Document]:
        query: Document = {"group_id": group_id}
        if status is not None:
            query["status"] = status
        if after is not None:
            query["_id"] = {"$gt": after}
        cursor = self.topics.find(query, {"outbox": 0}).sort("_id", ASCENDING).limit(limit)
        return await cursor.to_list(None)

    async def change_topic_status(
        self, topic_id: str, old: str, fields: Document, step: Document, outbox: list[Document]
    ) -> bool:
        """Move a topic on from `old`; False when it is no longer there (someone was faster)."""
        result = await self.topics.update_one(
            {"_id": topic_id, "status": old},
            {"$set": fields, "$push": {"history": step, "outbox": {"$each": outbox}}},
        )
        return result.matched_count > 0

    async def add_topic_poll(self, topic_id: str, poll_id: str) -> None:
        await self.topics.update_one({"_id": topic_id}, {"$addToSet": {"polls": poll_id}})

    # polls -------------------------------------------------------------------------------

    async def insert_poll(self, doc: Document) -> None:
        await self.polls.insert_one(doc)

    async def poll(self, poll_id: str) -> Document | None:
        return await self.polls.find_one({"_id": poll_id}, {"outbox": 0})

    async def polls_page(
        self, state: str | None, group_id: str | None, after: str | None, limit: int
    ) -> list[Document]:
        query: Document = {}
        if state is not None:
            query["state"] = state
        if group_id is not None:
            query["group_id"] = group_id
        if after is not None:
            query["_id"] = {"$lt": after}
        # ids start with the creation time: newest first
        cursor = self.polls.find(query, {"outbox": 0}).sort("_id", DESCENDING).limit(limit)
        return await cursor.to_list(None)

    async def claim(self, key: str, at: datetime) -> bool:
        try:
            await self.claims.insert_one({"_id": key, "at": at})
        except DuplicateKeyError:
            return False
        return True

    async def claimed_at(self, key: str) -> datetime | None:
        doc = await self.claims.find_one({"_id": key})
        return doc["at"] if doc else None

    async def mark_closed(self, poll_id: str, at: datetime, by: str | None) -> bool:
        result = await self.polls.update_one(
            {"_id": poll_id, "state": "open"},
            {"$set": {"state": "closed", "closed_at": at, "closed_by": by}},
        )
        return result.matched_count > 0

    async def store_result(self, poll_id: str, summary: Document, outbox: list[Document]) -> None:
        await self.polls.update_one(
            {"_id": poll_id}, {"$set": {"result": summary}, "$push": {"outbox": {"$each": outbox}}}
        )

    async def unsettled_polls(self) -> list[Document]:
        """The polls without a stored result, with their times: the open ones, and those whose
        close was interrupted by a crash (marked closed, never counted)."""
        query = {"result": None}
        return await self.polls.find(query, {"state": 1, "closes_at": 1, "closed_at": 1}).to_list(None)

    # ballots -----------------------------------------------------------------------------

    async def ballot(self, poll_id: str, voter: str) -> Document | None:
        # read together with the other lookups made meanwhile (a burst of other instances' ballots)
        return await self._ballots_by_id.get(ballot_id(poll_id, voter))

    async def put_ballot(self, doc: Document, event: Callable[[bool], Document]) -> tuple[bool, Document]:
        """Store the voter's one ballot, replacing an earlier one. Returns whether it replaced
        one, and the event `event(replaced)` that was put into its outbox.

        The events of the earlier ballot are carried over (the newest `OUTBOX_KEPT`).
        """
        for _ in range(3):
            # most ballots are a voter's first: try the insert straight away, which saves a
            # lookup per ballot; the unique _id tells when there is one to replace
            entry = event(False)
            try:
                await self._new_ballots.insert({**doc, "first_cast_at": doc["cast_at"], "outbox": [entry]})
            except DuplicateKeyError:
                pass
            else:
                return False, entry
            existing = await self.ballots.find_one({"_id": doc["_id"]}, {"outbox": 1, "first_cast_at": 1})
            if existing is None:
                continue  # withdrawn in between: insert again
            entry = event(True)
            # the outbox stays as the document's event history (the relay records what it
            # published elsewhere); a voter who changes their mind often keeps only the last few
            outbox = [*(existing.get("outbox") or [])[-(OUTBOX_KEPT - 1) :], entry]
            first = existing.get("first_cast_at", doc["cast_at"])
            await self.ballots.replace_one(
                {"_id": doc["_id"]}, {**doc, "first_cast_at": first, "outbox": outbox}, upsert=True
            )
            return True, entry
        raise RuntimeError("ballot could not be stored")

    async def ballots_of(self, poll_id: str) -> list[Document]:
        cursor = self.ballots.find(_of_poll(poll_id), {"outbox": 0})
        return await cursor.to_list(None)

    async def ballot_count(self, poll_id: str) -> int:
        return await self.ballots.count_documents(_of_poll(poll_id))
