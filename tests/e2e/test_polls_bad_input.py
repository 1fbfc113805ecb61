"""Bad ballots, bad polls and wrong states get a specific 4xx naming the problem; nothing is stored."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Stack
from tests.e2e.conftest_polls import (
    DESSAU,
    HALLE,
    MAGDEBURG,
    TECHNIK,
    later,
    open_poll,
    poll_body,
    results,
    vote,
)

# (method, ballot with option numbers, field named in the error)
BAD_BALLOTS = [
    pytest.param({"kind": "dot"}, {"points": {0: 2, 1: 1}}, "points", id="dot-over-budget"),
    pytest.param({"kind": "dot", "max_per_option": 1}, {"points": {0: 2}}, "points.o1", id="dot-over-cap"),
    pytest.param(
        {"kind": "dot", "cumulative": False}, {"points": {0: 2}}, "points.o1", id="dot-no-cumulation"
    ),
    pytest.param({"kind": "dot"}, {"points": {0: 0}}, "points", id="dot-no-points"),
    pytest.param({"kind": "dot"}, {"points": {"o9": 1}}, "points.o9", id="dot-unknown-option"),
    pytest.param({"kind": "dot"}, {"points": {0: -1}}, "points.o1", id="dot-negative"),
    pytest.param({"kind": "dot"}, {"choice": 0}, "choice", id="dot-wrong-shape"),
    pytest.param({"kind": "dot"}, {"points": {0: 1}, "choice": 0}, "choice", id="two-shapes"),
    pytest.param({"kind": "single"}, {"choice": "o9"}, "choice", id="single-unknown-option"),
    pytest.param({"kind": "single"}, {}, "choice", id="empty-ballot"),
    pytest.param(
        {"kind": "approval", "max_choices": 1}, {"choices": [0, 1]}, "choices", id="approval-too-many"
    ),
    pytest.param({"kind": "approval"}, {"choices": [0, 0]}, "choices[1]", id="approval-duplicate"),
    pytest.param({"kind": "approval"}, {"choices": []}, "choices", id="approval-empty"),
    pytest.param({"kind": "score"}, {"scores": {0: 6}}, "scores.o1", id="score-above-5"),
    pytest.param({"kind": "schulze"}, {"ranking": [0, 1, 0]}, "ranking[2]", id="ranking-duplicate"),
    pytest.param({"kind": "borda"}, {"ranking": [0, "x-y"]}, "ranking[1]", id="ranking-unknown"),
    pytest.param({"kind": "borda"}, {"ranking": []}, "ranking", id="ranking-empty"),
    pytest.param({"kind": "schulze"}, {"ranking": "o1"}, "ranking", id="ranking-not-a-list"),
    pytest.param({"kind": "single"}, {"choice": {"$gt": ""}}, "choice", id="operator-for-option"),
    pytest.param({"kind": "single"}, {"choice": 0, "extra": 1}, "extra", id="unknown-field"),
]


def by_id(options: list[dict[str, Any]], value: Any) -> Any:
    ids = [o["id"] for o in options]
    if isinstance(value, int) and not isinstance(value, bool):
        return ids[value] if value >= 0 else value
    if isinstance(value, list):
        return [by_id(options, v) for v in value]
    if isinstance(value, dict):
        return {(ids[k] if isinstance(k, int) else k): v for k, v in value.items()}
    return value


class TestBadBallots:
    @pytest.mark.parametrize(("method", "ballot", "field"), BAD_BALLOTS)
    async def test_rejected_with_the_field_named(
        self, stack: Stack, method: dict[str, Any], ballot: dict[str, Any], field: str
    ) -> None:
        ministry = await stack.login()
        poll = await open_poll(ministry, method=method)
        member = await stack.login(HALLE)
        body = {k: by_id(poll["options"], v) for k, v in ballot.items()}
        response = await vote(member, poll["id"], **body)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == 422 and problem["title"] and "Traceback" not in response.text
        assert field in [e["field"] for e in problem["errors"]], problem
        assert all(e["message"] for e in problem["errors"])
        assert (await results(ministry, poll["id"]))["ballots"] == 0, "nothing stored"

    async def test_malformed_json_is_400(self, stack: Stack) -> None:
        ministry = await stack.login()
        poll = await open_poll(ministry)
        response = await ministry.put(
            f"/api/v1/polls/{poll['id']}/ballot",
            content=b'{"points": ',
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 400


class TestWrongState:
    async def test_not_eligible_is_403(self, stack: Stack) -> None:
        ministry = await stack.login()
        poll = await open_poll(ministry, group_id=TECHNIK, method={"kind": "single"})
        outsider = await stack.login(DESSAU)
        response = await vote(outsider, poll["id"], choice=poll["options"][0]["id"])
        assert response.status_code == 403 and "AG" in response.json()["detail"]
        view = (await outsider.get(f"/api/v1/polls/{poll['id']}")).json()
        assert view["can_vote"] is False and view["not_eligible_reason"]
        member = (await (await stack.login(MAGDEBURG)).get(f"/api/v1/polls/{poll['id']}")).json()
        assert member["can_vote"] is True and member["has_voted"] is False

    async def test_after_close_is_409(self, stack: Stack) -> None:
        ministry = await stack.login()
        poll = await open_poll(ministry, method={"kind": "single"})
        assert (await ministry.post(f"/api/v1/polls/{poll['id']}/close")).status_code == 200
        member = await stack.login(HALLE)
        response = await vote(member, poll["id"], choice=poll["options"][0]["id"])
        assert response.status_code == 409

    async def test_unknown_poll_is_404(self, stack: Stack) -> None:
        member = await stack.login(HALLE)
        assert (await member.get("/api/v1/polls/p-gibt-es-nicht")).status_code == 404
        assert (await vote(member, "p-gibt-es-nicht", choice="o1")).status_code == 404
        assert (await member.get("/api/v1/topics/t-gibt-es-nicht")).status_code == 404

    async def test_anonymous_is_401(self, stack: Stack) -> None:
        anonymous = stack.client()
        assert (await anonymous.get("/api/v1/polls")).status_code == 401


BAD_POLLS = [
    pytest.param({"closes_at": "2020-01-01T00:00:00+00:00"}, 422, "closes_at", id="closes-in-the-past"),
    pytest.param({"closes_at": later()[:19]}, 422, "closes_at", id="closes-without-offset"),
    pytest.param({"options": [{"label": "nur eine"}]}, 422, "options", id="one-option"),
    pytest.param(
        {"options": [{"label": "A"}, {"label": "a"}]}, 422, "options[1].label", id="duplicate-label"
    ),
    pytest.param({"options": [{"label": "A"}, {}]}, 422, "options[1]", id="option-without-label"),
    pytest.param(
        {"options": [{"label": "A"}, {"topic_id": "t1"}]},
        422,
        "options[1].topic_id",
        id="topic-without-group",
    ),
    pytest.param(
        {"method": {"kind": "dot", "max_choices": 2}}, 422, "method.max_choices", id="field-of-other-method"
    ),
    pytest.param(
        {"method": {"kind": "dot", "points": 2, "max_per_option": 3}},
        422,
        "method.max_per_option",
        id="cap-over-budget",
    ),
    pytest.param({"method": {"kind": "lottery"}}, 422, "method.kind", id="unknown-method"),
    pytest.param({"winners": 4}, 422, "winners", id="more-winners-than-options"),
    pytest.param({"voters": "everyone"}, 422, "voters", id="unknown-voters"),
    pytest.param({"group_id": "ag-gibt-es-nicht"}, 422, "group_id", id="unknown-group"),
    pytest.param({"title": ""}, 422, "title", id="empty-title"),
]


class TestBadPolls:
    @pytest.mark.parametrize(("changes", "status", "field"), BAD_POLLS)
    async def test_rejected(self, stack: Stack, changes: dict[str, Any], status: int, field: str) -> None:
        ministry = await stack.login()
        response = await ministry.post("/api/v1/polls", json=poll_body(**changes))
        assert response.status_code == status, response.text
        assert field in [e["field"] for e in response.json()["errors"]], response.json()
        assert (await ministry.get("/api/v1/polls")).json()["items"] == [], "nothing stored"

    async def test_members_cannot_open_polls(self, stack: Stack) -> None:
        member = await stack.login(HALLE)
        assert (await member.post("/api/v1/polls", json=poll_body())).status_code == 403

    async def test_a_topic_of_another_ag_or_state_is_refused(self, stack: Stack) -> None:
        halle = await stack.login(HALLE)
        topic = (await halle.post("/api/v1/groups/ag-umsetzung/topics", json={"title": "Umsetzen"})).json()
        ministry = await stack.login()
        response = await ministry.post(
            "/api/v1/polls",
            json=poll_body(group_id=TECHNIK, options=[{"label": "A"}, {"topic_id": topic["id"]}]),
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "options[1].topic_id"
