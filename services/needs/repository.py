"""Every query of the needs service. Filters are built from typed values only.

Supports and sign-ups are one document per fact with a natural `_id`
(`"<need>:<organisation>"`, `"<pilot>:<organisation>"`); counts, sums and waitlist positions
are derived from them, never kept as counters.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from services.runtime.mongo import AsyncDatabase, Document, GroupFind, GroupInsert, by_ids


class NeedsRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.needs = db["needs"]
        self.supports = db["supports"]
        self.withdrawals = db["support_withdrawals"]  # home of the withdrawal event
        self.solutions = db["solutions"]
        self.pilots = db["pilots"]
        self.signups = db["signups"]
        # "betrifft uns auch" by many Kommunen at once: their reads of the need and of their
        # own support, and their supports, share commands (docs/performance.md #53)
        self._need_lookups = GroupFind(self.needs, {"outbox": 0})
        self._support_lookups = GroupFind(self.supports)
        self._new_supports = GroupInsert(self.supports)

    @property
    def outbox_collections(self) -> list[Any]:
        return [self.needs, self.supports, self.withdrawals, self.solutions, self.pilots, self.signups]

    async def create_indexes(self) -> None:
        await self.supports.create_index([("need_id", ASCENDING)])
        await self.solutions.create_index([("need_id", ASCENDING)])
        await self.signups.create_index([("pilot_id", ASCENDING)])

    # needs ----------------------------------------------------------------------------

    async def insert_need(self, doc: Document) -> None:
        await self.needs.insert_one(doc)

    async def need(self, need_id: str) -> Document | None:
        return await self._need_lookups.get(need_id)

    async def needs_matching(self, *, category: str | None, status: str | None) -> list[Document]:
        query: Document = {}
        if category is not None:
            query["category"] = category
        if status is not None:
            query["status"] = status
        return await self.needs.find(query, {"outbox": 0, "status_history": 0}).to_list(None)

    async def all_need_texts(self) -> list[Document]:
        return await self.needs.find({}, {"title": 1, "description": 1, "tags": 1}).to_list(None)

    async def need_count(self) -> int:
        return await self.needs.count_documents({})

    async def needs_by_ids(self, ids: list[str]) -> list[Document]:
        return await self.needs.find({"_id": {"$in": ids}}, {"outbox": 0}).to_list(None)

    async def set_status(self, need_id: str, status: str, change: Document, outbox: list[Document]) -> None:
        await self.needs.update_one(
            {"_id": need_id},
            {"$set": {"status": status}, "$push": {"status_history": change, "outbox": {"$each": outbox}}},
        )

    # supports -------------------------------------------------------------------------

    async def insert_support(self, doc: Document) -> bool:
        try:
            await self._new_supports.insert(doc)
        except DuplicateKeyError:
            return False
        return True

    async def support(self, need_id: str, org_id: str) -> Document | None:
        return await self._support_lookups.get(f"{need_id}:{org_id}")

    async def update_support_comment(self, need_id: str, org_id: str, comment: str | None) -> None:
        await self.supports.update_one({"_id": f"{need_id}:{org_id}"}, {"$set": {"comment": comment}})

    async def supports_of(self, need_id: str) -> list[Document]:
        # a support's _id is "<need>:<Kommune>": the range lets FerretDB read just this need's
        # supports from the `_id` index (deploy/build-ferretdb.sh, patch 4) where `need_id` alone
        # converted every support of every need (880 ms for 5,000, docs/performance.md #52)
        ids = {"$gte": f"{need_id}:", "$lt": f"{need_id};"}
        docs = await self.supports.find({"_id": ids, "need_id": need_id}, {"outbox": 0}).to_list(None)
        return sorted(docs, key=lambda d: (not d.get("reporter"), d["at"], d["_id"]))

    async def support_counts(self) -> dict[str, int]:
        """Supporting Kommunen per need. Only `need_id` leaves the database: reading every
        support with its Kommune snapshot cost more than the search it serves."""
        counts: dict[str, int] = {}
        async for d in self.supports.find({}, {"need_id": 1, "_id": 0}):
            counts[d["need_id"]] = counts.get(d["need_id"], 0) + 1
        return counts

    async def needs_each(self, ids: list[str]) -> list[Document]:
        """A few needs by id (the suggestions of a similar-needs lookup)."""
        return await by_ids(self.needs, ids, {"outbox": 0})

    async def all_supports(self) -> list[Document]:
        return await self.supports.find({}, {"need_id": 1, "organisation": 1}).to_list(None)

    async def record_withdrawal(self, doc: Document) -> None:
        await self.withdrawals.insert_one(doc)

    async def delete_support(self, need_id: str, org_id: str) -> bool:
        result = await self.supports.delete_one({"_id": f"{need_id}:{org_id}", "reporter": False})
        return result.deleted_count > 0

    # solutions ------------------------------------------------------------------------

    async def insert_solution(self, doc: Document) -> None:
        await self.solutions.insert_one(doc)

    async def solutions_of(self, need_id: str) -> list[Document]:
        docs = await self.solutions.find({"need_id": need_id}, {"outbox": 0}).to_list(None)
        return sorted(docs, key=lambda d: (d["created_at"], d["_id"]))

    # pilots ---------------------------------------------------------------------------

    async def all_signups(self) -> list[Document]:
        return await self.signups.find({}, {"outbox": 0}).to_list(None)

    async def insert_pilot(self, doc: Document) -> None:
        await self.pilots.insert_one(doc)

    async def pilot(self, pilot_id: str) -> Document | None:
        return await self.pilots.find_one({"_id": pilot_id}, {"outbox": 0})

    async def pilots_all(self) -> list[Document]:
        return await self.pilots.find({}, {"outbox": 0}).to_list(None)

    async def set_selection(self, pilot_id: str, selection: Document, outbox: list[Document]) -> None:
        await self.pilots.update_one(
            {"_id": pilot_id}, {"$set": {"selection": selection}, "$push": {"outbox": {"$each": outbox}}}
        )

    async def signups_of(self, pilot_id: str) -> list[Document]:
        return await self.signups.find({"pilot_id": pilot_id}, {"outbox": 0}).to_list(None)

    async def signups_for(self, pilot_ids: list[str]) -> list[Document]:
        return await self.signups.find({"pilot_id": {"$in": pilot_ids}}, {"outbox": 0}).to_list(None)

    async def signup(self, pilot_id: str, org_id: str) -> Document | None:
        return await self.signups.find_one({"_id": f"{pilot_id}:{org_id}"}, {"outbox": 0})

    async def insert_signup(self, doc: Document) -> bool:
        try:
            await self.signups.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def replace_signup(self, doc: Document) -> None:
        await self.signups.replace_one({"_id": doc["_id"]}, doc)

    async def withdraw_signup(self, pilot_id: str, org_id: str, at: datetime, outbox: list[Document]) -> None:
        await self.signups.update_one(
            {"_id": f"{pilot_id}:{org_id}"},
            {"$set": {"withdrawn_at": at}, "$push": {"outbox": {"$each": outbox}}},
        )

    async def add_outbox(self, collection: Any, doc_id: str, outbox: list[Document]) -> None:
        await collection.update_one({"_id": doc_id}, {"$push": {"outbox": {"$each": outbox}}})
