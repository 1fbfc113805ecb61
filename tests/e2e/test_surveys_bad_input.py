"""Bad input to surveys: a specific 4xx naming the problem, and nothing stored."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Stack
from tests.e2e.surveys_support import GOOD_ANSWERS, count, kommune, published, stored_answers


@pytest.fixture
async def survey(stack: Stack) -> dict[str, Any]:
    return await published(await stack.login())


BAD_ANSWERS = [
    ({"gibt_es_nicht": "x"}, "gibt_es_nicht", "gibt es in der Umfrage nicht"),
    ({"stellen": "zwölf"}, "stellen", "Zahl"),
    ({"bereiche": "Bauamt"}, "bereiche", "Liste"),
    ({"stellen": 501}, "stellen", "höchstens 500"),
    ({"zufrieden": 0}, "zufrieden", "von 1 bis 5"),
    ({"seit": "01.04.2021"}, "seit", "JJJJ-MM-TT"),
    ({"dms": "Vielleicht"}, "dms", "keine Antwortmöglichkeit"),
    ({"reife": {"E-Akte": "fertig"}}, "reife", "keine Spalte"),
    ({"bereiche": ["Bauamt", "Rathaus"]}, "bereiche", "keine Antwortmöglichkeit"),
]


class TestBadAnswers:
    @pytest.mark.parametrize(("answers", "field", "needle"), BAD_ANSWERS)
    async def test_draft_and_submit_refuse_and_store_nothing(
        self, stack: Stack, survey: dict[str, Any], answers: dict[str, Any], field: str, needle: str
    ) -> None:
        magdeburg = await stack.login(kommune("15003"))
        for call in (
            magdeburg.put(f"/api/v1/surveys/{survey['id']}/response", json={"answers": answers}),
            magdeburg.post(
                f"/api/v1/surveys/{survey['id']}/response/submit",
                json={"answers": {**GOOD_ANSWERS, **answers}},
            ),
        ):
            response = await call
            assert response.status_code == 422, response.text
            assert response.headers["content-type"].startswith("application/problem+json")
            errors = response.json()["errors"]
            assert [e["field"] for e in errors] == [field] and needle in errors[0]["message"], errors
        assert await stored_answers(stack) == 0

    async def test_every_problem_named_at_once(self, stack: Stack, survey: dict[str, Any]) -> None:
        magdeburg = await stack.login(kommune("15003"))
        answers = {"gibt_es_nicht": 1, "stellen": -3, "dms": 1, "seit": "gestern"}
        response = await magdeburg.put(f"/api/v1/surveys/{survey['id']}/response", json={"answers": answers})
        assert response.status_code == 422
        assert {e["field"] for e in response.json()["errors"]} == {"gibt_es_nicht", "stellen", "dms", "seit"}

    async def test_ten_thousand_answers_in_one_request(self, stack: Stack, survey: dict[str, Any]) -> None:
        magdeburg = await stack.login(kommune("15003"))
        flood = {f"q{i}": i for i in range(10_000)}
        response = await magdeburg.put(f"/api/v1/surveys/{survey['id']}/response", json={"answers": flood})
        assert response.status_code == 413, "more than the 64 KiB a request may carry"
        # below the size limit the number of answers is bounded by the contract
        many = {f"q{i}": 1 for i in range(201)}
        response = await magdeburg.put(f"/api/v1/surveys/{survey['id']}/response", json={"answers": many})
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "answers"
        assert await stored_answers(stack) == 0

    async def test_malformed_bodies(self, stack: Stack, survey: dict[str, Any]) -> None:
        magdeburg = await stack.login(kommune("15003"))
        url = f"/api/v1/surveys/{survey['id']}/response"
        broken = await magdeburg.put(
            url, content=b'{"answers": {', headers={"content-type": "application/json"}
        )
        assert broken.status_code == 400
        assert (await magdeburg.put(url, json={"answers": ["dms"]})).status_code in (400, 422)
        assert (await magdeburg.put(url, json={})).status_code == 422
        bad_key = await magdeburg.put(url, json={"answers": {"$where": "1"}})
        assert bad_key.status_code == 422
        assert await stored_answers(stack) == 0


class TestNotYours:
    async def test_survey_not_addressed_to_you(self, stack: Stack, survey: dict[str, Any]) -> None:
        # Salzwedel is not among Magdeburg, Halle and Dessau
        salzwedel = await stack.login(kommune("15081455"))
        sid = survey["id"]
        assert (await salzwedel.get(f"/api/v1/surveys/{sid}")).status_code == 403
        assert (await salzwedel.get(f"/api/v1/surveys/{sid}/response")).status_code == 403
        put = await salzwedel.put(f"/api/v1/surveys/{sid}/response", json={"answers": {"dms": "Ja"}})
        assert put.status_code == 403
        submit = await salzwedel.post(
            f"/api/v1/surveys/{sid}/response/submit", json={"answers": GOOD_ANSWERS}
        )
        assert submit.status_code == 403
        assert (await salzwedel.get(f"/api/v1/surveys/{sid}/results")).status_code == 403
        assert sid not in [s["id"] for s in (await salzwedel.get("/api/v1/surveys")).json()["items"]]
        assert await stored_answers(stack) == 0

    async def test_answering_for_another_kommune(self, stack: Stack, survey: dict[str, Any]) -> None:
        halle = await stack.login(kommune("15002"))
        sid = survey["id"]
        for body in (
            {"answers": {"dms": "Ja"}, "organisation_id": "15003"},
            {"answers": {"dms": "Ja"}, "survey_id": sid, "respondent_id": "15003"},
        ):
            response = await halle.put(f"/api/v1/surveys/{sid}/response", json=body)
            assert response.status_code == 422, response.text
            assert response.json()["errors"][0]["message"] == "Unbekanntes Feld."
        # the ministry answers for no Kommune
        ministry = await stack.login()
        put = await ministry.put(f"/api/v1/surveys/{sid}/response", json={"answers": {"dms": "Ja"}})
        assert put.status_code == 403
        assert await stored_answers(stack) == 0
        # what Halle saves is Halle's, never Magdeburg's
        await halle.put(f"/api/v1/surveys/{sid}/response", json={"answers": {"dms": "Ja"}})
        magdeburg = await stack.login(kommune("15003"))
        assert (await magdeburg.get(f"/api/v1/surveys/{sid}/response")).json()["state"] == "none"
        assert await count(stack, "survey_drafts", {"_id": f"{sid}:15002"}) == 1

    async def test_kommune_cannot_manage_surveys(self, stack: Stack, survey: dict[str, Any]) -> None:
        magdeburg = await stack.login(kommune("15003"))
        sid = survey["id"]
        for call in (
            magdeburg.post(f"/api/v1/surveys/{sid}/close"),
            magdeburg.get(f"/api/v1/surveys/{sid}/progress"),
            magdeburg.post(f"/api/v1/surveys/{sid}/reminders"),
            magdeburg.get(f"/api/v1/surveys/{sid}/results.csv"),
            magdeburg.get(f"/api/v1/surveys/{sid}/results"),
        ):
            assert (await call).status_code == 403

    async def test_unknown_survey_and_bad_ids(self, stack: Stack) -> None:
        magdeburg = await stack.login(kommune("15003"))
        assert (await magdeburg.get("/api/v1/surveys/gibtsnicht")).status_code == 404
        assert (await magdeburg.get("/api/v1/surveys/a%20b")).status_code in (400, 404, 422)
        assert (await magdeburg.get("/api/v1/surveys?state=offen")).status_code in (400, 422)

    async def test_without_csrf_or_login(self, stack: Stack, survey: dict[str, Any]) -> None:
        magdeburg = await stack.login(kommune("15003"))
        del magdeburg.headers["X-CSRF-Token"]
        put = await magdeburg.put(f"/api/v1/surveys/{survey['id']}/response", json={"answers": {}})
        assert put.status_code == 403
        async with stack.client() as anonymous:
            assert (await anonymous.get(f"/api/v1/surveys/{survey['id']}")).status_code == 401
        assert await stored_answers(stack) == 0
