"""Concurrent inserts, updates and `_id` lookups sent as one command (services/runtime/mongo.py
`GroupInsert`, `GroupUpdate`, `GroupFind`), on the real FerretDB: every caller gets its own
answer, duplicates and impossible updates are refused one by one, and a crowd is served in few
commands, which FerretDB answers from the
`_id` index (deploy/build-ferretdb.sh)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator

from bson import ObjectId
from pymongo import AsyncMongoClient, monitoring
from pymongo.errors import DuplicateKeyError, OperationFailure

from services.runtime import mongo
from services.runtime.settings import Settings


class Commands(monitoring.CommandListener):
    """Counts the commands of one name the client sends."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.commands = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.commands += event.command_name == self.name

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@contextlib.asynccontextmanager
async def collection(
    settings: Settings, service: str, command: str
) -> AsyncIterator[tuple[mongo.AsyncCollection[mongo.Document], Commands]]:
    """A new collection in the service's test database (dropped afterwards), reached through a
    client that counts the `command`s it sends."""
    commands = Commands(command)
    client: AsyncMongoClient[mongo.Document] = AsyncMongoClient(
        settings.mongodb_url, event_listeners=[commands]
    )
    coll = client[settings.names.database(service)]["group" + secrets.token_hex(3)]
    try:
        yield coll, commands
    finally:
        await coll.drop()
        await client.close()


async def test_each_caller_learns_its_own_documents_fate(settings: Settings) -> None:
    async with collection(settings, "surveys", "insert") as (coll, inserts):
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


async def test_updates_at_once_share_one_command_and_fail_one_by_one(settings: Settings) -> None:
    async with collection(settings, "surveys", "update") as (coll, updates):
        await coll.insert_many([{"_id": f"r{i}", "state": "draft", "outbox": []} for i in range(40)])
        await coll.insert_one({"_id": "text", "state": "draft", "outbox": "not a list"})
        updates.commands = 0
        group = mongo.GroupUpdate(coll, max_batch=32)
        submit = {"$set": {"state": "submitted"}, "$push": {"outbox": {"$each": ["e"]}}}
        # a first batch of 32 good updates; a second of 8 and one update that cannot work
        changes = [
            *(({"_id": f"r{i}"}, {**submit, "$inc": {"n": i}}) for i in range(40)),
            ({"_id": "text"}, {"$push": {"outbox": "e"}}),  # $push onto a string: refused
            ({"_id": "nobody"}, {"$set": {"state": "submitted"}}),  # matches nothing, stores nothing
        ]
        outcomes = await asyncio.gather(*(group.update_one(f, u) for f, u in changes), return_exceptions=True)

        stored = {d["_id"]: d async for d in coll.find({})}
        first = {"state": "submitted", "outbox": ["e"]}
        assert outcomes[:32] == [None] * 32
        assert all(stored[f"r{i}"] == {"_id": f"r{i}", **first, "n": i} for i in range(32))
        assert isinstance(outcomes[40], OperationFailure)  # WriteError on MongoDB
        assert stored["text"] == {"_id": "text", "state": "draft", "outbox": "not a list"}
        assert "nobody" not in stored
        # the others of the refused one's batch: told of a failure (FerretDB stops at it) unless stored
        for i in range(32, 40):
            assert (outcomes[i] is None and stored[f"r{i}"]["outbox"] == ["e"]) or isinstance(
                outcomes[i], OperationFailure
            )
        # 42 callers, batches of at most 32: two commands
        assert updates.commands == 2


async def test_lookups_at_once_share_one_find_through_the_index(settings: Settings) -> None:
    async with collection(settings, "directory", "find") as (coll, finds):
        await coll.insert_many([{"_id": f"t{i}", "person_id": f"p{i}"} for i in range(500)])
        # FerretDB reads by the `_id` index for one id and for a list (the build's patches 1 and 3)
        for where in ({"_id": "t7"}, {"_id": {"$in": ["t7", "t9"]}}):
            plan = await coll.database.command("explain", {"find": coll.name, "filter": where})
            assert "USING INDEX" in " ".join(plan["queryPlanner"]["Plan"]), plan
        finds.commands = 0
        group = mongo.GroupFind(coll, {"person_id": 1})
        asked = [*(f"t{i}" for i in range(0, 500, 10)), "t10", "nobody", "t499"]
        answers = await asyncio.gather(*(group.get(i) for i in asked))
        assert answers == [
            *({"_id": f"t{i}", "person_id": f"p{i}"} for i in range(0, 500, 10)),
            {"_id": "t10", "person_id": "p10"},  # asked twice at once
            None,
            {"_id": "t499", "person_id": "p499"},
        ]
        assert finds.commands == 1  # 53 callers
        assert answers[1] is not answers[-3], "each caller gets its own document"
        # a filter built from an unusual id type is still answered right (the handler filters)
        assert await coll.find({"_id": {"$in": ["t3", 3]}}).to_list(None) == [
            {"_id": "t3", "person_id": "p3"}
        ]


async def test_an_id_range_is_read_through_the_index_and_misses_nothing(settings: Settings) -> None:
    # ids of one prefix with characters JSON escapes or writes as several bytes, its neighbours,
    # and ids that are no strings
    strings = [
        "n1:a",
        "n1:b",
        "n1:zz",
        "n1:\u2028",
        'n1:"q',
        "n1:<",
        "n1:\\",
        "n1:é",
        "n10:a",
        "n1",
        "n2:a",
        "m9",
    ]
    async with collection(settings, "needs", "") as (coll, _):
        await coll.insert_many([{"_id": s, "k": i} for i, s in enumerate(strings)])
        await coll.insert_many([{"_id": 5}, {"_id": ObjectId()}, {"_id": 1.5}])
        for low, high in (("$gte", "$lt"), ("$gt", "$lte")):
            where = {"_id": {low: "n1:", high: "n1;"}}
            plan = await coll.database.command("explain", {"find": coll.name, "filter": where})
            assert "USING INDEX" in " ".join(plan["queryPlanner"]["Plan"]), plan
            found = sorted(d["_id"] for d in await coll.find(where).to_list(None))
            # MongoDB compares strings by their UTF-8 bytes
            wanted = sorted(s for s in strings if b"n1:" <= s.encode() < b"n1;")
            assert found == wanted and len(wanted) == 8
        # with another condition beside it, as the needs service asks
        where = {"_id": {"$gte": "n1:", "$lt": "n1;"}, "k": {"$lt": 2}}
        assert sorted(d["_id"] for d in await coll.find(where).to_list(None)) == ["n1:a", "n1:b"]
