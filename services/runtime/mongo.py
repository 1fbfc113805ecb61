"""The one Mongo client of a process, and conversion between Structs and documents."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, TypeVar

import msgspec
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, WriteError

from services.runtime import dbtrace

Document = dict[str, Any]
T = TypeVar("T")


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


# up to this many documents are read one `_id` lookup each rather than with `$in`
FEW_IDS = 10


async def by_ids(
    collection: AsyncCollection[Document], ids: list[str], projection: Document | None = None
) -> list[Document]:
    """The documents with these ids (missing ones left out). FerretDB answers `$in` by reading
    the whole collection but a lone `_id` from its index, so a few ids are looked up one by one
    (in the order given); more use `$in` (in any order)."""
    if len(ids) <= FEW_IDS:
        found = await asyncio.gather(*(collection.find_one({"_id": i}, projection) for i in ids))
        return [d for d in found if d is not None]
    return await collection.find({"_id": {"$in": ids}}, projection).to_list(None)


class GroupInsert:
    """Inserts into one collection made at about the same time share one unordered
    `insert_many`; each caller learns only its own document's fate.

    On FerretDB a lone insert costs ~0.38 ms of CPU (server and client) against ~0.09 ms per
    document in a batch of 16 (docs/performance.md, #42), and under load the writes queue for
    SQLite's one writer anyway. Callers of the same moment form the first batch; while a batch
    is at the server, the next ones gather, so a lone caller waits no longer than before and a
    crowd is written in few round trips. A duplicate `_id` raises `DuplicateKeyError` for that
    document only (the others are stored, as an unordered insert does); any other failure of the
    whole command reaches every caller of the batch, whose documents may or may not be stored,
    exactly as after a lone insert whose answer was lost.
    """

    def __init__(self, collection: AsyncCollection[Document], max_batch: int = 64) -> None:
        self._collection = collection
        self._max = max_batch
        self._waiting: list[tuple[Document, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def insert(self, doc: Document) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((doc, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_all())
        await done

    async def _write_all(self) -> None:
        batch: list[tuple[Document, asyncio.Future[None]]] = []
        try:
            await asyncio.sleep(0)  # callers of this same moment join the first batch
            while self._waiting:
                batch, self._waiting = self._waiting[: self._max], self._waiting[self._max :]
                await self._write(batch)
                batch = []
        finally:
            self._writer = None
            # stopped (the process shuts down): nobody is left to write for these callers
            stranded, self._waiting = [*batch, *self._waiting], []
            for _, done in stranded:
                if not done.done():
                    done.set_exception(RuntimeError("insert not completed: the writer was stopped"))

    async def _write(self, batch: list[tuple[Document, asyncio.Future[None]]]) -> None:
        failed: dict[int, Exception] = {}
        try:
            await self._collection.insert_many([doc for doc, _ in batch], ordered=False)
        except BulkWriteError as exc:
            for error in exc.details.get("writeErrors", []):
                kind = DuplicateKeyError if error.get("code") == 11000 else WriteError
                failed[error["index"]] = kind(error.get("errmsg", ""), error.get("code"), error)
        except Exception as exc:  # the whole command failed: every caller is told
            failed = dict.fromkeys(range(len(batch)), exc)
        for i, (_, done) in enumerate(batch):
            if done.done():  # the caller gave up waiting
                continue
            if i in failed:
                done.set_exception(failed[i])
            else:
                done.set_result(None)


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
    "to_doc",
]
