"""Every query of the meetings service. Filters are built from typed values only.

- `meetings`: one document per meeting (series), with its exceptions (cancelled and moved
  occurrences) inside and an outbox for its events.
- `registrations`: one document per registration. With a capacity its `_id` is a seat
  (`"<meeting>:seat:<n>"`), so two people racing for the last seat cannot both get it: the
  unique `_id` settles it. Without a capacity it is `"<meeting>:p:<person>"`.
- `registrants`: `"<meeting>:<person>"`, one per registered person, so one person never holds
  two seats (a double click, two tabs).
- `withdrawals`: home of the withdrawal events (the registration itself is deleted).
- `reminders`: `"<meeting>:<occurrence>"`, written once per occurrence with its
  `meeting.occurrence_upcoming` event: a second round, a restart or a second instance finds the
  `_id` taken and states nothing again.
- `feed_tokens` (`_id` person) and `feed_lookup` (`_id` SHA-256 of the token): the calendar
  feed's secret per person, revocable by replacing it.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from services.runtime.mongo import AsyncDatabase, Document


class MeetingsRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.meetings = db["meetings"]
        self.registrations = db["registrations"]
        self.registrants = db["registrants"]
        self.withdrawals = db["withdrawals"]
        self.reminders = db["reminders"]
        self.feed_tokens = db["feed_tokens"]
        self.feed_lookup = db["feed_lookup"]

    @property
    def outbox_collections(self) -> list[Any]:
        return [self.meetings, self.registrations, self.withdrawals, self.reminders]

    async def create_indexes(self) -> None:
        await self.registrations.create_index([("meeting_id", ASCENDING)])

    # meetings -------------------------------------------------------------------------

    async def insert_meeting(self, doc: Document) -> None:
        await self.meetings.insert_one(doc)

    async def meeting(self, meeting_id: str) -> Document | None:
        return await self.meetings.find_one({"_id": meeting_id}, {"outbox": 0})

    async def all_meetings(self) -> list[Document]:
        return await self.meetings.find({}, {"outbox": 0}).to_list(None)

    async def update_meeting(self, meeting_id: str, changes: Document, outbox: list[Document]) -> None:
        await self.meetings.update_one(
            {"_id": meeting_id}, {"$set": changes, "$push": {"outbox": {"$each": outbox}}}
        )

    # registrations --------------------------------------------------------------------

    async def registrations_of(self, meeting_id: str) -> list[Document]:
        return await self.registrations.find({"meeting_id": meeting_id}, {"outbox": 0}).to_list(None)

    async def all_registrations(self) -> list[Document]:
        return await self.registrations.find({}, {"meeting_id": 1, "person_id": 1}).to_list(None)

    async def claim_registrant(self, meeting_id: str, person_id: str, doc: Document) -> bool:
        try:
            await self.registrants.insert_one({"_id": f"{meeting_id}:{person_id}", **doc})
        except DuplicateKeyError:
            return False
        return True

    async def registrant(self, meeting_id: str, person_id: str) -> Document | None:
        return await self.registrants.find_one({"_id": f"{meeting_id}:{person_id}"})

    async def release_registrant(self, meeting_id: str, person_id: str) -> None:
        await self.registrants.delete_one({"_id": f"{meeting_id}:{person_id}"})

    async def insert_registration(self, doc: Document) -> bool:
        try:
            await self.registrations.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def delete_registration(self, registration_id: str) -> bool:
        result = await self.registrations.delete_one({"_id": registration_id})
        return result.deleted_count > 0

    async def record_withdrawal(self, doc: Document) -> None:
        await self.withdrawals.insert_one(doc)

    # reminders ------------------------------------------------------------------------

    async def insert_reminder(self, doc: Document) -> bool:
        try:
            await self.reminders.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def reminder_ids(self, ids: list[str]) -> set[str]:
        if not ids:
            return set()
        return {d["_id"] async for d in self.reminders.find({"_id": {"$in": ids}}, {"_id": 1})}

    # feed tokens ----------------------------------------------------------------------

    async def feed_token(self, person_id: str) -> Document | None:
        return await self.feed_tokens.find_one({"_id": person_id})

    async def save_feed_token(self, doc: Document, lookup: Document, old_hash: str | None) -> None:
        # the lookup first: a token is usable only once it can be found, and revoked by
        # deleting its lookup
        await self.feed_lookup.insert_one(lookup)
        await self.feed_tokens.replace_one({"_id": doc["_id"]}, doc, upsert=True)
        if old_hash:
            await self.feed_lookup.delete_one({"_id": old_hash})

    async def feed_owner(self, token_hash: str) -> Document | None:
        return await self.feed_lookup.find_one({"_id": token_hash})
