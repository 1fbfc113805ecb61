"""The one Mongo client of a process, and conversion between Structs and documents."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any, TypeVar

import msgspec
from pymongo import AsyncMongoClient, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure, WriteError

from services.runtime import dbtrace
from services.runtime.grouping import Grouped

Document = dict[str, Any]
T = TypeVar("T")
In = TypeVar("In")
Out = TypeVar("Out")


def client(url: str, appname: str = "gdst") -> AsyncMongoClient[Document]:
    return AsyncMongoClient(
        url,
        tz_aware=True,
        # a database outage must be reported (503) well before the caller's RPC timeout (5 s)
        # gives up with a 504, even when the driver retries a read once after a failed one
        serverSelectionTimeoutMS=2000,
        connectTimeoutMS=2000,
        # a failed write is retried once by the driver after a reconnect
        retryWrites=True,
        appname=appname,
        event_listeners=dbtrace.listeners(appname),
    )


async def by_ids(
    collection: AsyncCollection[Document], ids: list[str], projection: Document | None = None
) -> list[Document]:
    """The documents with these ids (missing ones left out, in any order): one `$in`, which
    FerretDB as `deploy/build-ferretdb.sh` builds it answers from the `_id` index."""
    return await collection.find({"_id": {"$in": ids}}, projection).to_list(None)


async def insert_new(collection: AsyncCollection[Document], docs: list[Document]) -> set[int]:
    """Insert many documents in one unordered command, skipping those whose `_id` exists
    already; returns the positions of the skipped ones. Any other failure is raised."""
    if not docs:
        return set()
    try:
        await collection.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != 11000 for e in errors):
            raise
        return {int(e["index"]) for e in errors}
    return set()


class _Grouped(Grouped[In, Out]):
    """Requests to one collection made at about the same time are sent as one command; each
    caller gets its own answer. On FerretDB a lone insert or `_id` lookup costs ~0.3 ms of its
    CPU and ~0.2 ms of the client's; in batches of 16, under 0.1 ms per document together
    (docs/performance.md, #42 and #43)."""

    def __init__(self, collection: AsyncCollection[Document], max_batch: int = 64) -> None:
        super().__init__(max_batch)
        self._collection = collection


class GroupInsert(_Grouped[Document, None]):
    """Inserts share one unordered `insert_many`. A duplicate `_id` raises `DuplicateKeyError`
    for that document only (the others are stored, as an unordered insert does); a failure of
    the whole command reaches every caller of the batch, whose documents may or may not be
    stored, exactly as after a lone insert whose answer was lost."""

    async def insert(self, doc: Document) -> None:
        await self._submit(doc)

    async def _send(self, items: list[Document]) -> list[Exception | None]:
        outcomes: list[Exception | None] = [None] * len(items)
        try:
            await self._collection.insert_many(items, ordered=False)
        except BulkWriteError as exc:
            for error in exc.details.get("writeErrors", []):
                kind = DuplicateKeyError if error.get("code") == 11000 else WriteError
                outcomes[error["index"]] = kind(error.get("errmsg", ""), error.get("code"), error)
        return outcomes


class GroupUpdate(_Grouped[tuple[Document, Document], None]):
    """Updates of one document each share one unordered `bulk_write` (one `update` command with
    a statement per caller). On FerretDB the server's work per update stays the same, the
    client's falls from ~0.35 to ~0.05 ms. MongoDB reports a failed statement to its caller only;
    FerretDB 1.24 stops at the first failed statement and answers without the counts PyMongo
    merges, so there every caller of that batch is told the command failed (their updates may or
    may not be stored, as after a lost answer). Statements that fail are not expected: the
    callers update documents they have just read or written, by `_id`."""

    async def update_one(self, filter_: Document, update: Document) -> None:
        await self._submit((filter_, update))

    async def _send(self, items: list[tuple[Document, Document]]) -> list[Exception | None]:
        outcomes: list[Exception | None] = [None] * len(items)
        try:
            await self._collection.bulk_write([UpdateOne(f, u) for f, u in items], ordered=False)
        except BulkWriteError as exc:
            for error in exc.details.get("writeErrors", []):
                outcomes[error["index"]] = WriteError(error.get("errmsg", ""), error.get("code"), error)
        except KeyError as exc:  # FerretDB's answer after a failed statement (above)
            raise OperationFailure(f"grouped update stopped at a failed statement ({exc!r} missing)") from exc
        return outcomes


class GroupFind(_Grouped[str, Document | None]):
    """Lookups by `_id` share one `find` with `$in`. Only for a server that answers `$in` on
    `_id` from the index: MongoDB, and FerretDB as `deploy/build-ferretdb.sh` builds it (an
    upstream FerretDB 1.24 reads the whole collection for it). Callers asking for the same id
    in one batch each get their own copy."""

    def __init__(
        self, collection: AsyncCollection[Document], projection: Document | None = None, max_batch: int = 64
    ) -> None:
        super().__init__(collection, max_batch)
        self._projection = projection

    async def get(self, id_: str) -> Document | None:
        return await self._submit(id_)

    async def _send(self, items: list[str]) -> list[Document | Exception | None]:
        ids = list(dict.fromkeys(items))
        cursor = self._collection.find({"_id": {"$in": ids}}, self._projection)
        found = {doc["_id"]: doc async for doc in cursor}
        given: set[str] = set()
        answers: list[Document | Exception | None] = []
        for i in items:
            doc = found.get(i)
            answers.append(copy.deepcopy(doc) if i in given else doc)
            given.add(i)
        return answers


def to_doc(value: msgspec.Struct, id_field: str = "id") -> Document:
    doc: Document = msgspec.to_builtins(value, builtin_types=(datetime,))
    doc["_id"] = doc.pop(id_field)
    return doc


def from_doc(doc: Document, type_: type[T], id_field: str = "id") -> T:
    data = {k: v for k, v in doc.items() if k not in ("_id", "outbox")}
    data[id_field] = doc["_id"]
    return msgspec.convert(data, type_)


__all__ = [
    "AsyncCollection",
    "AsyncDatabase",
    "Document",
    "GroupInsert",
    "by_ids",
    "client",
    "from_doc",
    "insert_new",
    "to_doc",
]
