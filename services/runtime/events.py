"""Versioned events on JetStream, published through an outbox inside the changed document.

A state change and the events it causes are one document write: the events ride in the
document's `outbox` list. The relay publishes them with `Nats-Msg-Id` (JetStream drops a
duplicate within the window) and records their ids as published. If NATS is away the events
wait in the document and the sweeper publishes them when it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError
from pymongo.errors import BulkWriteError

from services.contracts.envelope import Event
from services.contracts.names import Names
from services.runtime import ids, telemetry
from services.runtime.lifecycle import cancel
from services.runtime.mongo import AsyncCollection, Document

log = logging.getLogger(__name__)

_encoder = msgspec.json.Encoder()
DUPLICATE_WINDOW_SECONDS = 120.0


OutboxHook = Callable[[AsyncCollection[Document], Any, list[Document]], None]


def ignore_outbox(collection: AsyncCollection[Document], doc_id: Any, entries: list[Document]) -> None:
    """Default hook: leave the outbox to the sweeper."""


def new_event_id() -> str:
    return ids.new_id()


def outbox_entry(
    event_type: str,
    data: msgspec.Struct,
    *,
    subject: str | None = None,
    version: str = "1",
    event_id: str | None = None,
) -> Document:
    """An event as it waits in a document's outbox (plain BSON types only)."""
    entry: Document = {
        "id": event_id or new_event_id(),
        "type": event_type,
        "version": version,
        "subject": subject,
        "time": datetime.now(UTC),
        "data": msgspec.to_builtins(data),
    }
    # the request id and trace context of the request that caused the event travel with it
    trace = telemetry.outgoing_headers()
    if trace:
        entry["trace"] = trace
    return entry


def encode_event(entry: Document, source: str) -> bytes:
    time = entry["time"]
    if isinstance(time, datetime) and time.tzinfo is None:
        time = time.replace(tzinfo=UTC)
    event = Event(
        id=entry["id"],
        source=source,
        type=entry["type"],
        time=time,
        subject=entry.get("subject"),
        dataversion=str(entry.get("version", "1")),
        data=msgspec.Raw(_encoder.encode(entry["data"])),
    )
    return encode_cloudevent(event)


def encode_cloudevent(event: Event) -> bytes:
    """CloudEvents 1.0 JSON: the required attributes always, optional ones only when set."""
    out: dict[str, object] = {
        "specversion": event.specversion,
        "id": event.id,
        "source": event.source,
        "type": event.type,
        "time": event.time,
        "datacontenttype": event.datacontenttype,
        "dataversion": event.dataversion,
    }
    if event.subject is not None:
        out["subject"] = event.subject
    out["data"] = event.data
    return _encoder.encode(out)


async def ensure_stream(js: JetStreamContext, names: Names, replicas: int = 1) -> None:
    config = StreamConfig(
        name=names.event_stream,
        subjects=[names.event_wildcard],
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        num_replicas=replicas,
        max_age=90 * 24 * 3600.0,
    )
    try:
        await js.stream_info(names.event_stream)
    except NotFoundError:
        with contextlib.suppress(Exception):  # a concurrent start may have created it
            await js.add_stream(config)
            return
    await js.update_stream(config)


class OutboxRelay:
    """Publishes the events waiting in documents' outboxes.

    The relay never writes to the documents themselves: on FerretDB an update is a
    read-modify-write, so clearing an outbox while the service changes the same document (a
    withdrawal right after a sign-up) could write the old state back. Published events are
    instead recorded by id in `published` (one small document each), and the sweeper skips them.
    The normal path publishes at once after the write; the sweeper is the safety net for events
    whose publish failed (NATS away, a crash between write and publish). The records of events
    published within `mark_delay` of each other are written together, one insert for a burst of
    ballots instead of one each: on FerretDB the record was half of a ballot's writes. A crash
    before the records are written costs a second publish, which JetStream's duplicate window (or
    the consumers' idempotency) absorbs.

    A full sweep reads every document with an outbox (they stay as history) and the whole
    `published` collection, which on FerretDB are scans that grow with the data: it runs at
    start (a crash may have left events behind), after a sweep failed, and otherwise rarely (a
    peer instance that died and never came back). Events whose publish failed here are kept in
    memory and retried on their own every `sweep_interval`, without a scan: under load a few
    publish timeouts once made every instance sweep everything each second, and the sweeps
    took the database's whole capacity.
    """

    def __init__(
        self,
        js: JetStreamContext,
        names: Names,
        source: str,
        collections: list[AsyncCollection[Document]],
        published: AsyncCollection[Document],
        *,
        sweep_interval: float = 1.0,
        idle_sweep_interval: float = 300.0,
        mark_delay: float = 0.02,
    ) -> None:
        self.js = js
        self.names = names
        self.source = source
        self.collections = collections
        self.published = published
        self.sweep_interval = sweep_interval
        self.idle_sweep_interval = idle_sweep_interval
        self._task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[bool]] = set()
        self._wake = asyncio.Event()
        # a full sweep soon after start (a crash may have left events behind) and after a failed one
        self._unsure = True
        # entries this instance failed to publish, by id: retried without reading the database
        self._failed: dict[str, Document] = {}
        self.mark_delay = mark_delay
        # published, not yet recorded: written by one task for everything gathered meanwhile
        self._to_mark: list[str] = []
        self._mark_task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-{self.source}")

    async def stop(self, grace: float = 3.0) -> None:
        """Flush: wait for the publishes under way, then one last sweep if any publish failed
        (bounded; what is still left waits in the outbox for the next instance's sweeper)."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=grace)
        if self._mark_task is not None:
            await asyncio.wait([self._mark_task], timeout=grace)
        await cancel(self._task)
        if self._failed:
            try:
                await asyncio.wait_for(self.retry(), timeout=grace)
            except Exception as exc:
                log.warning("outbox not flushed on stop: %r", exc)

    def written(self, collection: AsyncCollection[Document], doc_id: Any, entries: list[Document]) -> None:
        """Call after a write that added `entries` to a document's outbox: publish them now."""
        task = asyncio.create_task(self._publish(entries))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _publish(self, entries: list[Document]) -> bool:
        done: list[str] = []
        ok = True
        for i, entry in enumerate(entries):
            try:
                await self.js.publish(
                    self.names.event_subject(entry["type"]),
                    encode_event(entry, self.source),
                    headers={**(entry.get("trace") or {}), "Nats-Msg-Id": entry["id"]},
                    timeout=2.0,
                )
            except Exception as exc:
                log.warning("event %s not yet published: %r", entry["id"], exc)
                # this one and those after it, in order, on the next retry
                self._failed.update((e["id"], e) for e in entries[i:])
                self._wake.set()
                ok = False
                break
            done.append(entry["id"])
            self._failed.pop(entry["id"], None)
        if done:
            self._to_mark.extend(done)
            if self._mark_task is None or self._mark_task.done():
                self._mark_task = asyncio.create_task(self._mark_gathered())
        return ok

    async def _mark_gathered(self) -> None:
        while self._to_mark:
            await asyncio.sleep(self.mark_delay)  # let the publishes under way join this write
            batch, self._to_mark = self._to_mark[:1000], self._to_mark[1000:]
            await self._mark(batch)

    async def _mark(self, event_ids: list[str]) -> None:
        now = datetime.now(UTC)
        try:
            await self.published.insert_many([{"_id": i, "at": now} for i in event_ids], ordered=False)
        except BulkWriteError as exc:
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                log.warning("published events not recorded: %r", exc)
        except Exception as exc:
            # published but not recorded: the sweeper publishes it again and JetStream's
            # duplicate window (or the consumers' idempotency) absorbs it
            log.warning("published events not recorded: %r", exc)

    async def pending(self) -> list[Document]:
        """Events in the outboxes that were never published."""
        waiting: list[Document] = []
        for collection in self.collections:
            async for doc in collection.find({"outbox.0": {"$exists": True}}, {"outbox": 1}):
                waiting.extend(doc.get("outbox") or [])
        if not waiting:
            return []
        ids = [e["id"] for e in waiting]
        done = {d["_id"] async for d in self.published.find({"_id": {"$in": ids}}, {"_id": 1})}
        done.update(self._to_mark)
        return [e for e in waiting if e["id"] not in done]

    async def sweep(self) -> int:
        """Full sweep: publish every outbox entry not recorded as published."""
        waiting = sorted(await self.pending(), key=lambda e: (e["time"], e["id"]))
        self._unsure = False
        if waiting and not await self._publish(waiting):
            return 0
        return len(waiting)

    async def retry(self) -> int:
        """Publish again what failed here, oldest first."""
        waiting = sorted(self._failed.values(), key=lambda e: (e["time"], e["id"]))
        if waiting and not await self._publish(waiting):
            return 0
        return len(waiting)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        last_full = loop.time()
        while True:
            busy = self._unsure or bool(self._failed)
            interval = self.sweep_interval if busy else self.idle_sweep_interval
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
            self._wake.clear()
            try:
                if self._unsure or loop.time() - last_full >= self.idle_sweep_interval:
                    last_full = loop.time()
                    await self.sweep()
                elif self._failed:
                    await self.retry()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._unsure = True
                log.warning("outbox sweep failed: %r", exc)
            # after a failure, do not spin: the next round comes after the interval
            if self._wake.is_set():
                await asyncio.sleep(self.sweep_interval)
