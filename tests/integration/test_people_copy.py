"""The directory's copy of all people (services/directory/repository.py): another instance's
change to a person shows after the next check, its own at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from services.directory.repository import DirectoryRepository
from services.runtime import mongo
from tests.conftest import Stack


def person(person_id: str, org: str) -> dict[str, object]:
    return {
        "_id": person_id,
        "email": f"{person_id}@gdst.example",
        "name": person_id,
        "organisation_id": org,
        "roles": ["member"],
        "active": True,
        "created_at": datetime.now(UTC),
    }


async def test_another_instances_new_colleague_is_found_after_the_check(stack: Stack) -> None:
    client = mongo.client(stack.settings.mongodb_url)
    try:
        db = client[stack.settings.names.database("directory")]
        mine, other = DirectoryRepository(db), DirectoryRepository(db)
        mine.people_check_seconds = 0.3
        before = {d["_id"] for d in await mine.people_of_organisations(["15003"])}
        assert before, "the demo Kommune has people"

        await other.insert_person(person("neu-kollegin", "15003"))
        await asyncio.sleep(0.4)
        after = {d["_id"] for d in await mine.people_of_organisations(["15003"])}
        assert after == before | {"neu-kollegin"}, "the raised version made this instance read again"

        # this instance's own change shows at once
        await mine.insert_person(person("noch-einer", "15002"))
        assert "noch-einer" in {d["_id"] for d in await mine.people_of_organisations(["15002"])}
    finally:
        await client.close()
