"""What a service holds about a person: export it, and erase it when the person is deleted.

One implementation for every service, driven by a small per-service `Policy`, because the rule
is the same everywhere: a document is *about* a person when any value in it (nested, in the
outbox too) is the person's id, or — for erasure — the person's email or name, recognised by
their SHA-256 from the `person.deleted` event. Erasure then either deletes the document (the
service lists those collections: inboxes, preferences, queued mails, logins) or keeps it with
the id replaced by the pseudonym and names and emails replaced by `[gelöscht]`, so what a
Kommune said stays, attributed to the Kommune. Running it twice changes nothing the second
time: nothing refers to the person any more.

A service joins with `join(proc, policy)`: it gets the export endpoint to serve and a durable
consumer of `person.deleted` (see docs/privacy.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
from pymongo.errors import DuplicateKeyError

from services.contracts.envelope import ROLE_ADMIN, Event, Principal
from services.contracts.privacy import (
    ERASED,
    EVENT_PERSON_DELETED,
    EXPORT_ENDPOINT,
    ExportRequest,
    ExportSection,
    PersonDeleted,
)
from services.runtime.consumer import Permanent
from services.runtime.errors import Forbidden
from services.runtime.lifecycle import cancel
from services.runtime.mongo import AsyncDatabase, Document
from services.runtime.process import ServiceProcess
from services.runtime.rpc import Endpoint, required

log = logging.getLogger(__name__)

# bookkeeping of the runtime: ids of events only, nothing about anyone
_BOOKKEEPING = frozenset({"outbox_published"})
_NEVER_EXPORTED = frozenset({"outbox_published", "processed_events"})
_deleted_decoder = msgspec.json.Decoder(PersonDeleted)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def email_hash(email: str) -> str:
    return sha256(email.strip().lower())


def name_hash(name: str) -> str:
    return sha256(name.strip())


@dataclass(frozen=True)
class Policy:
    service: str
    # collections whose documents about the person are removed entirely
    delete: frozenset[str] = frozenset()
    # fields set to `[gelöscht]` in a kept document about the person (contact details typed freely)
    blank: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # fields never exported (secrets and their hashes); `outbox` is never exported anywhere
    omit: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Match:
    """Recognises a person's values; `pseudonym` is what the id becomes."""

    person_id: str
    pseudonym: str = ""
    email_sha256: str = ""
    name_sha256: str = ""

    def replace(self, text: str) -> str | None:
        """The replacement of a string that is the person's, or None."""
        if text == self.person_id:
            return self.pseudonym
        if (self.email_sha256 or self.name_sha256) and len(text) <= 300 and text.strip():
            if self.email_sha256 and email_hash(text) == self.email_sha256:
                return ERASED
            if self.name_sha256 and name_hash(text) == self.name_sha256:
                return ERASED
        return None

    def scrub(self, value: Any) -> tuple[Any, bool]:
        """The value with every personal part replaced, and whether anything was."""
        if isinstance(value, str):
            new = self.replace(value)
            return (value, False) if new is None else (new, True)
        if isinstance(value, dict):
            found = False
            out: dict[str, Any] = {}
            for key, item in value.items():
                out[key], hit = self.scrub(item)
                found = found or hit
            return out, found
        if isinstance(value, list):
            items = [self.scrub(item) for item in value]
            return [i for i, _ in items], any(hit for _, hit in items)
        if isinstance(value, bytes) and self.person_id.encode() in value:
            # a parked event, a webhook body: still valid JSON, with the pseudonym instead
            return value.replace(self.person_id.encode(), self.pseudonym.encode()), True
        return value, False

    def scrub_id(self, doc_id: Any) -> tuple[Any, bool]:
        """Natural ids such as `<survey>:<person>`: the person's part replaced."""
        if not isinstance(doc_id, str):
            return self.scrub(doc_id)
        parts = doc_id.split(":")
        new = [self.replace(p) for p in parts]
        if all(n is None for n in new):
            return doc_id, False
        return ":".join(
            p if n is None else (n if n != ERASED else "geloescht") for p, n in zip(parts, new, strict=True)
        ), True


class PersonalData:
    def __init__(
        self, db: AsyncDatabase[Document], policy: Policy, *, second_pass_after: float = 5.0
    ) -> None:
        self.db = db
        self.policy = policy
        # work that was under way when the event arrived (a mail being sent, a notice for an
        # audience resolved a moment before) may still write the person's id; a second pass a
        # little later catches it
        self.second_pass_after = second_pass_after
        self._later: set[asyncio.Task[None]] = set()
        # called after an erasure changed something (the directory's copy of all people is stale)
        self.on_erased: list[Callable[[], Awaitable[None]]] = []

    async def _collections(self) -> list[str]:
        names = await self.db.list_collection_names()
        return sorted(n for n in names if not n.startswith("system.") and n not in _BOOKKEEPING)

    # export -----------------------------------------------------------------------------

    async def export(self, person_id: str) -> ExportSection:
        match = Match(person_id=person_id, pseudonym=person_id)
        out: dict[str, list[dict[str, Any]]] = {}
        for name in await self._collections():
            if name in _NEVER_EXPORTED:
                continue
            omit = {"outbox", *self.policy.omit.get(name, ())}
            found: list[dict[str, Any]] = []
            async for doc in self.db[name].find({}):
                body = {k: v for k, v in doc.items() if k != "_id"}
                if not (match.scrub_id(doc["_id"])[1] or match.scrub(body)[1]):
                    continue
                found.append({k: v for k, v in doc.items() if k not in omit and not isinstance(v, bytes)})
            if found:
                out[name] = sorted(found, key=lambda d: str(d.get("_id", "")))
        return ExportSection(service=self.policy.service, collections=out)

    # erasure ----------------------------------------------------------------------------

    async def erase(self, deleted: PersonDeleted, only: tuple[str, ...] | None = None) -> int:
        """Remove or anonymise everything about the person (in `only` those collections);
        returns the documents changed."""
        match = Match(
            person_id=deleted.person_id,
            pseudonym=deleted.pseudonym,
            email_sha256=deleted.email_sha256,
            name_sha256=deleted.name_sha256,
        )
        changed = 0
        for name in only or await self._collections():
            collection = self.db[name]
            # processed-events records hold event ids only, except parked events (their raw bytes)
            docs = await collection.find({"parked": True} if name == "processed_events" else {}).to_list(None)
            doomed: list[Any] = []
            for doc in docs:
                new_id, id_hit = match.scrub_id(doc["_id"])
                body, body_hit = match.scrub({k: v for k, v in doc.items() if k != "_id"})
                if not (id_hit or body_hit):
                    continue
                changed += 1
                if name in self.policy.delete:
                    doomed.append(doc["_id"])
                    continue
                for blank in self.policy.blank.get(name, ()):
                    if body.get(blank) is not None:
                        body[blank] = ERASED
                if id_hit:
                    # a natural id names the person: the document moves to the pseudonym's id
                    try:
                        await collection.insert_one({"_id": new_id, **body})
                    except DuplicateKeyError:
                        await collection.replace_one({"_id": new_id}, body)
                    doomed.append(doc["_id"])
                else:
                    await collection.replace_one({"_id": doc["_id"]}, body)
            if doomed:
                await collection.delete_many({"_id": {"$in": doomed}})
        if changed:
            for hook in self.on_erased:
                await hook()
        log.info(
            "personal data erased",
            extra={"service": self.policy.service, "pseudonym": deleted.pseudonym, "documents": changed},
        )
        return changed

    async def handle(self, event: Event) -> None:
        try:
            deleted = _deleted_decoder.decode(event.data)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise Permanent(f"person.deleted unlesbar: {exc}") from exc
        await self.erase(deleted)
        task = asyncio.create_task(self._second_pass(deleted), name=f"privacy-{self.policy.service}")
        self._later.add(task)
        task.add_done_callback(self._later.discard)

    async def _second_pass(self, deleted: PersonDeleted) -> None:
        await asyncio.sleep(self.second_pass_after)
        try:
            if changed := await self.erase(deleted):
                log.info("second erasure pass changed %s documents", changed)
        except Exception as exc:
            log.warning("second erasure pass failed: %r", exc)

    async def stop(self) -> None:
        for task in list(self._later):
            await cancel(task)


def export_endpoint(data: PersonalData) -> Endpoint[ExportRequest]:
    async def export(principal: Principal | None, req: ExportRequest) -> ExportSection:
        caller = required(principal)
        if caller.person_id != req.person_id and not caller.has_any(ROLE_ADMIN):
            raise Forbidden("Die eigenen Daten sieht nur die Person selbst oder die Administration.")
        return await data.export(req.person_id)

    return Endpoint(EXPORT_ENDPOINT, ExportRequest, export)


async def join(proc: ServiceProcess, policy: Policy) -> tuple[PersonalData, Endpoint[ExportRequest]]:
    """Consume `person.deleted` for this service; returns the part and its endpoint to serve."""
    data = PersonalData(proc.db, policy)
    await proc.consume(f"{proc.service}-privacy", [EVENT_PERSON_DELETED], data.handle)
    proc.on_stop(data.stop)
    proc.parts["privacy"] = data
    return data, export_endpoint(data)
