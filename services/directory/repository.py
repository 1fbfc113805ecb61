"""Every query of the directory service. Filters are built from typed values only."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from services.contracts.directory import Organisation
from services.runtime.mongo import AsyncDatabase, Document, GroupFind, by_ids, from_doc, to_doc

# Every person (without password hashes) is held in memory, because FerretDB answers a filter on
# `organisation_id` by reading every person and the notifications service asks for the people of
# Kommunen for nearly every event. The copy stays as long as the people's version (one small
# document, raised after every change to a person) stays: asked for after PEOPLE_CHECK_SECONDS,
# one `_id` lookup instead of reading 2,000 people (which a burst of "betrifft uns auch" waited
# for every 5 seconds). Read again after PEOPLE_REREAD_SECONDS whatever the version says (a
# change whose raise was lost in a crash).
PEOPLE_CHECK_SECONDS = 5.0
PEOPLE_REREAD_SECONDS = 300.0


@dataclass
class _People:
    docs: list[Document]
    version: int
    checked_until: float
    read_until: float


class DirectoryRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db
        self.organisations = db["organisations"]
        self.people = db["people"]
        self.emails = db["emails"]  # natural key: normalised email -> person id
        self.invitations = db["invitations"]  # _id: sha256 of the token
        self.tokens = db["tokens"]  # _id: sha256 of the token
        self.groups = db["groups"]
        self.memberships = db["memberships"]  # _id: "<group>:<person>"
        self.login_failures = db["login_failures"]  # _id: normalised email
        # a removal's event needs a home until it is published: one tombstone per removal
        self.memberships_removed = db["memberships_removed"]
        self.people_version = db["people_version"]  # one document: {_id: "people", version}
        self._people: _People | None = None
        self._people_reading = asyncio.Lock()
        self.people_check_seconds = PEOPLE_CHECK_SECONDS
        # every API client's first request asks for its token; at once, they share a lookup
        self._token_lookups = GroupFind(self.tokens)
        # every "betrifft uns auch" asks for the caller's Kommune: at once, they share a lookup
        self._organisation_lookups = GroupFind(self.organisations)

    @property
    def outbox_collections(self) -> list[Any]:
        return [self.people, self.invitations, self.memberships, self.memberships_removed]

    async def create_indexes(self) -> None:
        await self.organisations.create_index([("kind", ASCENDING)])
        await self.memberships.create_index([("person_id", ASCENDING)])
        await self.memberships.create_index([("group_id", ASCENDING)])
        await self.tokens.create_index([("token_id", ASCENDING)])

    # organisations -------------------------------------------------------------------

    async def upsert_organisation(self, org: Organisation) -> bool:
        """Insert or update by AGS; True when something changed."""
        doc = to_doc(org)
        # FerretDB counts every replace as a modification, so compare before writing
        if await self.organisations.find_one({"_id": doc["_id"]}) == doc:
            return False
        await self.organisations.replace_one({"_id": doc["_id"]}, doc, upsert=True)
        return True

    async def organisation(self, org_id: str) -> Organisation | None:
        doc = await self.organisations.find_one({"_id": org_id})
        return from_doc(doc, Organisation) if doc else None

    async def organisations_page(
        self, *, kind: str | None, parent: str | None, after: str | None, limit: int
    ) -> list[Organisation]:
        query: Document = {}
        if kind is not None:
            query["kind"] = kind
        if parent is not None:
            query["parent_id"] = parent
        if after is not None:
            query["_id"] = {"$gt": after}
        cursor = self.organisations.find(query).sort("_id", ASCENDING).limit(limit)
        return [from_doc(d, Organisation) async for d in cursor]

    async def all_organisations(self) -> list[Organisation]:
        return [from_doc(d, Organisation) async for d in self.organisations.find({})]

    async def active_people(self) -> list[Document]:
        """Every active person (for the figures)."""
        return [d for d in await self._all_people() if d.get("active")]

    async def _all_people(self) -> list[Document]:
        """Every person without password hash (see PEOPLE_CHECK_SECONDS). This instance's own
        changes show at once; another instance's after the next check."""
        held = self._people
        if held is not None and time.monotonic() < held.checked_until:
            return held.docs
        async with self._people_reading:  # the callers of a burst share one check
            held = self._people
            now = time.monotonic()
            if held is not None and now < held.checked_until:
                return held.docs
            found = await self.people_version.find_one({"_id": "people"})
            version = int(found["version"]) if found else 0
            if held is not None and held.version == version and now < held.read_until:
                held.checked_until = now + self.people_check_seconds
                return held.docs
            # the version is read before the people: a change in between reads them again next time
            docs = await self.people.find({}, {"password_hash": 0, "outbox": 0}).to_list(None)
            self._people = _People(
                docs, version, now + self.people_check_seconds, now + PEOPLE_REREAD_SECONDS
            )
            return docs

    async def people_changed(self) -> None:
        """After every change to a person, by any instance: the copies of all instances are stale."""
        self._people = None
        await self.people_version.update_one({"_id": "people"}, {"$inc": {"version": 1}}, upsert=True)
        # again: a read that began before the change may have put its copy back meanwhile
        self._people = None

    async def organisations_by_ids(self, ids: list[str]) -> dict[str, Organisation]:
        # the hot callers ask for one (the caller's Kommune on every "betrifft uns auch"), many at
        # once: their lookups share finds
        found = await asyncio.gather(*(self._organisation_lookups.get(i) for i in dict.fromkeys(ids)))
        return {d["_id"]: from_doc(d, Organisation) for d in found if d is not None}

    # people ---------------------------------------------------------------------------

    async def claim_email(self, email: str, person_id: str) -> str:
        """Reserve an email for a person; returns the id that holds it (maybe an older one)."""
        try:
            await self.emails.insert_one({"_id": email, "person_id": person_id})
        except DuplicateKeyError:
            existing = await self.emails.find_one({"_id": email})
            return str(existing["person_id"]) if existing else person_id
        return person_id

    async def person_id_for_email(self, email: str) -> str | None:
        doc = await self.emails.find_one({"_id": email})
        return str(doc["person_id"]) if doc else None

    async def person(self, person_id: str) -> Document | None:
        return await self.people.find_one({"_id": person_id})

    async def insert_person(self, doc: Document) -> None:
        await self.people.insert_one(doc)
        await self.people_changed()

    async def set_password(self, person_id: str, password_hash: str, outbox: list[Document]) -> None:
        update: Document = {"$set": {"password_hash": password_hash, "active": True}}
        if outbox:
            update["$push"] = {"outbox": {"$each": outbox}}
        await self.people.update_one({"_id": person_id}, update)
        await self.people_changed()  # active now

    async def mark_deleted(self, person_id: str, changes: Document, outbox: list[Document]) -> None:
        """The login ends with this one write, and the event that makes every service forget
        the person rides in it."""
        await self.people.update_one(
            {"_id": person_id}, {"$set": changes, "$push": {"outbox": {"$each": outbox}}}
        )
        await self.people_changed()
        # tokens carry their principal and are honoured without reading the person: they end
        # here, with the login, not later with the erasure the event causes
        await self.tokens.delete_many({"person_id": person_id})

    async def people_of_organisations(self, org_ids: list[str]) -> list[Document]:
        wanted = set(org_ids)
        return sorted(
            (dict(d) for d in await self._all_people() if d.get("organisation_id") in wanted),
            key=lambda d: d["_id"],
        )

    async def people_by_ids(self, person_ids: list[str]) -> list[Document]:
        # the hot caller asks for one: the name of whoever saves a survey draft
        found = await by_ids(self.people, person_ids, {"password_hash": 0, "outbox": 0})
        return sorted(found, key=lambda d: d["_id"])

    async def members_of(self, group_id: str) -> list[str]:
        cursor = self.memberships.find({"group_id": group_id}, {"person_id": 1})
        return sorted([d["person_id"] async for d in cursor])

    # invitations ----------------------------------------------------------------------

    async def insert_invitation(self, doc: Document) -> None:
        await self.invitations.insert_one(doc)

    async def invitation(self, token_hash: str) -> Document | None:
        return await self.invitations.find_one({"_id": token_hash})

    async def mark_invitation_used(self, token_hash: str, at: datetime) -> None:
        await self.invitations.update_one({"_id": token_hash}, {"$set": {"used_at": at}})

    # login failures -------------------------------------------------------------------

    async def login_failures_for(self, email: str) -> Document | None:
        return await self.login_failures.find_one({"_id": email})

    async def record_login_failure(self, email: str, now: datetime, window_start: datetime) -> None:
        doc = await self.login_failures.find_one({"_id": email})
        if doc is None or doc["first_at"] < window_start:
            await self.login_failures.replace_one(
                {"_id": email}, {"_id": email, "count": 1, "first_at": now}, upsert=True
            )
        else:
            # read-modify-write on FerretDB; a lost increment under a parallel attack only
            # delays the lock by one attempt
            await self.login_failures.update_one({"_id": email}, {"$inc": {"count": 1}})

    async def clear_login_failures(self, email: str) -> None:
        await self.login_failures.delete_one({"_id": email})

    # tokens ---------------------------------------------------------------------------

    async def insert_token(self, doc: Document) -> None:
        await self.tokens.insert_one(doc)

    async def token(self, token_hash: str) -> Document | None:
        return await self._token_lookups.get(token_hash)

    async def token_key_of(self, token_id: str, person_id: str) -> str | None:
        doc = await self.tokens.find_one({"token_id": token_id, "person_id": person_id}, {"_id": 1})
        return None if doc is None else str(doc["_id"])

    async def token_keys_of(self, person_id: str) -> list[str]:
        return [str(d["_id"]) async for d in self.tokens.find({"person_id": person_id}, {"_id": 1})]

    async def delete_token(self, token_id: str, person_id: str) -> bool:
        result = await self.tokens.delete_one({"token_id": token_id, "person_id": person_id})
        return result.deleted_count > 0

    # groups ---------------------------------------------------------------------------

    async def ensure_group(self, group_id: str, name: str) -> None:
        await self.groups.update_one({"_id": group_id}, {"$setOnInsert": {"name": name}}, upsert=True)

    async def group(self, group_id: str) -> Document | None:
        return await self.groups.find_one({"_id": group_id})

    async def groups_all(self) -> list[Document]:
        return await self.groups.find({}).sort("_id", ASCENDING).to_list(None)

    async def member_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        async for doc in self.memberships.find({}, {"group_id": 1}):
            counts[doc["group_id"]] = counts.get(doc["group_id"], 0) + 1
        return counts

    async def groups_of(self, person_id: str) -> list[str]:
        cursor = self.memberships.find({"person_id": person_id}, {"group_id": 1})
        return sorted([d["group_id"] async for d in cursor])

    async def add_membership(self, group_id: str, person_id: str, outbox: list[Document]) -> bool:
        try:
            await self.memberships.insert_one(
                {
                    "_id": f"{group_id}:{person_id}",
                    "group_id": group_id,
                    "person_id": person_id,
                    "outbox": outbox,
                }
            )
        except DuplicateKeyError:
            return False
        return True

    async def remove_membership(self, group_id: str, person_id: str) -> bool:
        result = await self.memberships.delete_one({"_id": f"{group_id}:{person_id}"})
        return result.deleted_count > 0

    async def mark_membership_removed(self, group_id: str, person_id: str, outbox: list[Document]) -> None:
        await self.memberships_removed.replace_one(
            {"_id": f"{group_id}:{person_id}:{outbox[0]['id']}"},
            {"group_id": group_id, "person_id": person_id, "outbox": outbox},
            upsert=True,
        )
