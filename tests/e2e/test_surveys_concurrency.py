"""Two colleagues of one Kommune save the same draft at the same moment: the draft afterwards is
one of their two drafts, complete, with that colleague named as the last to save; never a mix."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import DEMO_PASSWORD, Stack
from tests.e2e.surveys_support import GOOD_ANSWERS, kommune, published, stored_answers

ANNA: dict[str, Any] = {**GOOD_ANSWERS, "dms": "Nein", "stellen": 1, "bemerkung": "Entwurf von Anna"}
BERT: dict[str, Any] = {
    **GOOD_ANSWERS,
    "bereiche": ["Personal"],
    "stellen": 2,
    "zufrieden": 1,
    "reife": {"E-Akte": "nicht begonnen"},
    "bemerkung": "Entwurf von Bert",
}
ANNA.pop("produkt"), ANNA.pop("produkt_name")


async def test_two_colleagues_saving_at_once_leave_one_whole_draft(stack: Stack) -> None:
    ministry = await stack.login()
    created = await ministry.post(
        "/api/v1/people",
        json={
            "email": "bert@magdeburg.example",
            "name": "Bert Beispiel",
            "organisation_id": "15003",
            "roles": ["member"],
            "password": DEMO_PASSWORD + "-bert",
        },
    )
    assert created.status_code == 201, created.text
    survey = await published(ministry)
    url = f"/api/v1/surveys/{survey['id']}/response"
    anna = await stack.login(kommune("15003"))
    bert = await stack.login("bert@magdeburg.example", DEMO_PASSWORD + "-bert")
    seen = set()
    for _ in range(15):
        saved = await asyncio.gather(
            anna.put(url, json={"answers": ANNA}), bert.put(url, json={"answers": BERT})
        )
        assert all(r.status_code == 200 for r in saved), [r.text for r in saved]
        draft = (await anna.get(url)).json()
        assert draft["answers"] in (ANNA, BERT), f"a mix of two drafts: {draft['answers']}"
        who = "demo-15003" if draft["answers"] == ANNA else created.json()["id"]
        assert draft["updated_by"]["id"] == who, "the last saver is the one whose draft is stored"
        seen.add(draft["updated_by"]["name"])
    assert await stored_answers(stack) == 1, "one document per Kommune"
    assert seen <= {"Team Magdeburg", "Bert Beispiel"}


async def test_save_and_submit_at_once_end_in_a_valid_submission(stack: Stack) -> None:
    survey = await published(await stack.login())
    url = f"/api/v1/surveys/{survey['id']}/response"
    first, second = await stack.login(kommune("15002")), await stack.login(kommune("15002"))
    draft = {"dms": "Nein"}
    submit, save = await asyncio.gather(
        first.post(f"{url}/submit", json={"answers": GOOD_ANSWERS}), second.put(url, json={"answers": draft})
    )
    assert submit.status_code == 200, submit.text
    assert save.status_code in (200, 409)
    final = (await first.get(url)).json()
    # either the save came first and the submission replaced it, or the save was refused
    assert final["state"] == "submitted" and final["answers"] == GOOD_ANSWERS
