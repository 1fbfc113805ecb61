"""The one Mongo client of a process, and conversion between Structs and documents."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, TypeVar

import msgspec
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

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


def to_doc(value: msgspec.Struct, id_field: str = "id") -> Document:
    doc: Document = msgspec.to_builtins(value, builtin_types=(datetime,))
    doc["_id"] = doc.pop(id_field)
    return doc


def from_doc(doc: Document, type_: type[T], id_field: str = "id") -> T:
    data = {k: v for k, v in doc.items() if k not in ("_id", "outbox")}
    data[id_field] = doc["_id"]
    return msgspec.convert(data, type_)


__all__ = ["AsyncCollection", "AsyncDatabase", "Document", "by_ids", "client", "from_doc", "to_doc"]
