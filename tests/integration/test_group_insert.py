"""Concurrent inserts sharing one `insert_many` (services/runtime/mongo.py `GroupInsert`), on the
real FerretDB: every caller learns its own document's fate, duplicates are refused one by one,
and a crowd is written in few commands."""

from __future__ import annotations

import asyncio
import secrets

from pymongo import AsyncMongoClient, monitoring
from pymongo.errors import DuplicateKeyError

from services.runtime import mongo
from services.runtime.settings import Settings


class Inserts(monitoring.CommandListener):
    def __init__(self) -> None:
        self.commands = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.commands += event.command_name == "insert"

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def test_each_caller_learns_its_own_documents_fate(settings: Settings) -> None:
    inserts = Inserts()
    client: AsyncMongoClient[mongo.Document] = AsyncMongoClient(
        settings.mongodb_url, event_listeners=[inserts]
    )
    db = client[settings.names.database("surveys")]  # dropped after the test with the others
    coll = db["group" + secrets.token_hex(3)]
    try:
        await coll.insert_many([{"_id": f"old{i}", "v": "old"} for i in range(5)])
        inserts.commands = 0
        group = mongo.GroupInsert(coll, max_batch=32)
        # 60 new documents, 5 that exist already, and one id asked for twice at the same moment
        docs = [
            *({"_id": f"new{i}", "v": "new"} for i in range(60)),
            *({"_id": f"old{i}", "v": "again"} for i in range(5)),
            {"_id": "twice", "v": "first"},
            {"_id": "twice", "v": "second"},
        ]
        outcomes = await asyncio.gather(*(group.insert(d) for d in docs), return_exceptions=True)

        refused = [d for d, o in zip(docs, outcomes, strict=True) if isinstance(o, DuplicateKeyError)]
        assert [d["_id"] for d in refused] == [*(f"old{i}" for i in range(5)), "twice"]
        assert all(o is None or isinstance(o, DuplicateKeyError) for o in outcomes)
        stored = {d["_id"]: d["v"] async for d in coll.find({})}
        assert stored == {
            **{f"new{i}": "new" for i in range(60)},
            **{f"old{i}": "old" for i in range(5)},  # untouched
            "twice": "first",
        }
        # 67 callers, batches of at most 32: three commands, not 67
        assert inserts.commands == 3

        # a lone caller later is written on its own, at once
        await group.insert({"_id": "late", "v": "new"})
        assert await coll.find_one({"_id": "late"}) == {"_id": "late", "v": "new"}
        assert inserts.commands == 4
    finally:
        await coll.drop()
        await client.close()
