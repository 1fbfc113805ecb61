"""Every query of surveys. Filters are built from typed values only.

- `surveys`: one document per survey (definition, state, addressees stored at publishing);
- `survey_responses`: one document per submitted response, `_id = "<survey>:<Kommune or person>"`,
  created by the first submission and kept after a reopening (then back in state "draft", and
  saved there until submitted again); a save sets the whole answers map in one write (last save
  wins, never a mix of two drafts);
- `survey_drafts`: the draft of a response never submitted, same `_id`, marked `unsubmitted`.
  A first submission inserts its response instead of updating the draft (on FerretDB an update
  reads, converts and rewrites the whole document: three times an insert's work,
  docs/performance.md #74); the draft it leaves behind is ignored while the response exists and
  deleted when the survey closes. Responses written before there were drafts (drafts in
  `survey_responses`, without the mark) are read and written where they are;
- `survey_milestones`: once-only facts with a natural `_id` (`"<survey>:closing_soon"`,
  `"<survey>:closed"`), whose unique id makes them idempotent across instances;
- `survey_reminders`: one document per reminder the ministry asked for.
Each document carries its events in `outbox` (relayed by the process's outbox relay).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from services.runtime.mongo import AsyncDatabase, Document, GroupFind, GroupInsert, GroupUpdate


def response_id(survey_id: str, respondent_id: str) -> str:
    return f"{survey_id}:{respondent_id}"


class QuestionnairesRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.surveys = db["surveys"]
        self.responses = db["survey_responses"]
        self.drafts = db["survey_drafts"]
        self.milestones = db["survey_milestones"]
        self.reminders = db["survey_reminders"]
        # 218 Kommunen saving and opening pages at once: their reads share finds
        self._response_lookups = GroupFind(self.responses, {"outbox": 0})
        self._response_inserts = GroupInsert(self.responses)
        self._response_updates = GroupUpdate(self.responses)
        self._draft_lookups = GroupFind(self.drafts)
        self._draft_inserts = GroupInsert(self.drafts)
        self._draft_updates = GroupUpdate(self.drafts)

    @property
    def outbox_collections(self) -> list[Any]:
        # drafts carry no events
        return [self.surveys, self.responses, self.milestones, self.reminders]

    async def create_indexes(self) -> None:
        await self.responses.create_index([("survey_id", ASCENDING)])
        await self.drafts.create_index([("survey_id", ASCENDING)])
        await self.reminders.create_index([("survey_id", ASCENDING)])

    # surveys --------------------------------------------------------------------------

    async def insert_survey(self, doc: Document) -> None:
        await self.surveys.insert_one(doc)

    async def survey(self, survey_id: str) -> Document | None:
        return await self.surveys.find_one({"_id": survey_id}, {"outbox": 0})

    async def surveys_all(self, *, with_addressed: bool = False) -> list[Document]:
        projection: Document = {"outbox": 0} if with_addressed else {"outbox": 0, "addressed": 0}
        return await self.surveys.find({}, projection).to_list(None)

    async def surveys_for(self, keys: list[str]) -> list[Document]:
        """Published or closed surveys addressed to one of `keys` (a Kommune or a person)."""
        return await self.surveys.find(
            {"status": {"$in": ["published", "closed"]}, "addressed_keys": {"$in": keys}},
            {"outbox": 0, "addressed": 0},
        ).to_list(None)

    async def surveys_published(self) -> list[Document]:
        return await self.surveys.find({"status": "published"}, {"outbox": 0, "addressed": 0}).to_list(None)

    async def update_draft(self, survey_id: str, revision: int, fields: Document) -> bool:
        result = await self.surveys.update_one(
            {"_id": survey_id, "status": "draft", "revision": revision},
            {"$set": {**fields, "revision": revision + 1}},
        )
        return result.matched_count > 0

    async def delete_draft(self, survey_id: str) -> bool:
        result = await self.surveys.delete_one({"_id": survey_id, "status": "draft"})
        return result.deleted_count > 0

    async def publish(self, survey_id: str, revision: int, fields: Document, outbox: list[Document]) -> bool:
        result = await self.surveys.update_one(
            {"_id": survey_id, "status": "draft", "revision": revision},
            {
                "$set": {**fields, "status": "published", "revision": revision + 1},
                "$push": {"outbox": {"$each": outbox}},
            },
        )
        return result.matched_count > 0

    async def mark_closed(self, survey_id: str, fields: Document) -> None:
        await self.surveys.update_one(
            {"_id": survey_id, "status": "published"}, {"$set": {**fields, "status": "closed"}}
        )

    # milestones and reminders ---------------------------------------------------------

    async def insert_milestone(self, doc: Document) -> bool:
        try:
            await self.milestones.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def milestone(self, milestone_id: str) -> Document | None:
        return await self.milestones.find_one({"_id": milestone_id}, {"outbox": 0})

    async def milestone_ids(self, ids: list[str]) -> set[str]:
        found = await self.milestones.find({"_id": {"$in": ids}}, {"_id": 1}).to_list(None)
        return {d["_id"] for d in found}

    async def insert_reminder(self, doc: Document) -> None:
        await self.reminders.insert_one(doc)

    async def reminder_times(self, survey_id: str) -> list[datetime]:
        docs = await self.reminders.find({"survey_id": survey_id}, {"at": 1}).to_list(None)
        return sorted(d["at"] for d in docs)

    # responses ------------------------------------------------------------------------

    async def response(self, rid: str) -> Document | None:
        """The response as it stands: the submitted (or reopened) one, else the first draft."""
        found = await self._response_lookups.get(rid)
        return found if found is not None else await self._draft_lookups.get(rid)

    async def responses_of(self, survey_id: str) -> list[Document]:
        """Every response of the survey as it stands: the responses, and the first drafts of
        those who have none."""
        found = await self.responses.find({"survey_id": survey_id}, {"outbox": 0}).to_list(None)
        have = {d["_id"] for d in found}
        drafts = await self.drafts.find({"survey_id": survey_id}).to_list(None)
        return found + [d for d in drafts if d["_id"] not in have]

    async def submitted_of(self, survey_id: str) -> list[Document]:
        """The submitted responses of the survey (never among the drafts)."""
        query = {"survey_id": survey_id, "state": "submitted"}
        return await self.responses.find(query, {"outbox": 0}).to_list(None)

    async def response_states(self, ids: list[str]) -> dict[str, str]:
        docs = await self.responses.find({"_id": {"$in": ids}}, {"state": 1}).to_list(None)
        states = {d["_id"]: d["state"] for d in docs}
        rest = [i for i in ids if i not in states]
        if rest:
            drafts = await self.drafts.find({"_id": {"$in": rest}}, {"_id": 1}).to_list(None)
            states.update((d["_id"], "draft") for d in drafts)
        return states

    async def forget_drafts(self, survey_id: str) -> int:
        """Drop the drafts left behind by responses (once the survey is closed; the drafts of
        respondents who never submitted stay, progress shows them). The drafts are read by
        survey, the responses only by `_id`: FerretDB reads a whole collection for any other
        filter, and the responses are the larger one."""
        drafts = [
            d["_id"] for d in await self.drafts.find({"survey_id": survey_id}, {"_id": 1}).to_list(None)
        ]
        if not drafts:
            return 0
        answered = [
            d["_id"] for d in await self.responses.find({"_id": {"$in": drafts}}, {"_id": 1}).to_list(None)
        ]
        if not answered:
            return 0
        result = await self.drafts.delete_many({"_id": {"$in": answered}})
        return result.deleted_count

    # The writes of a response below are made under the response's lock (see the service):
    # the caller has read `stored` under it, so the state checked there is the state written over.
    # Filters are the `_id` alone: FerretDB looks up nothing else by index, and an update with
    # `{"_id": ..., "state": ...}` scanned every response of every survey under the write lock.

    async def save_draft(
        self, rid: str, stored: Document | None, base: Document, fields: Document
    ) -> Document | None:
        """The draft with these answers, created if there was none; returns it as stored (None
        if it was created meanwhile, which only a writer outside the lock can do)."""
        if stored is None:
            doc = {**base, **fields, "_id": rid, "state": "draft", "unsubmitted": True}
            return await self._create(self._draft_inserts, doc)
        updates = self._draft_updates if stored.get("unsubmitted") else self._response_updates
        await updates.update_one({"_id": rid}, {"$set": fields})
        return {**stored, **fields}

    async def submit(
        self, rid: str, stored: Document | None, base: Document, fields: Document, outbox: list[Document]
    ) -> Document | None:
        """Draft (or nothing) → submitted with these answers, in one write; returns it as stored
        (None as for `save_draft`)."""
        if stored is None or stored.get("unsubmitted"):
            first = {"created_at": stored["created_at"]} if stored else {}
            doc = {**base, **first, **fields, "_id": rid, "state": "submitted", "outbox": outbox}
            return await self._create(self._response_inserts, doc)
        await self._response_updates.update_one(
            {"_id": rid}, {"$set": {**fields, "state": "submitted"}, "$push": {"outbox": {"$each": outbox}}}
        )
        return {**stored, **fields, "state": "submitted", "outbox": [*(stored.get("outbox") or []), *outbox]}

    async def reopen(self, rid: str, stored: Document, fields: Document, outbox: list[Document]) -> Document:
        await self.responses.update_one(
            {"_id": rid}, {"$set": {**fields, "state": "draft"}, "$push": {"outbox": {"$each": outbox}}}
        )
        return {**stored, **fields, "state": "draft"}

    @staticmethod
    async def _create(inserts: GroupInsert, doc: Document) -> Document | None:
        try:
            await inserts.insert(doc)
        except DuplicateKeyError:
            return None
        return doc
