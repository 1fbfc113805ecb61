"""AG topics and polls through the gateway: propose, vote, follow the result, close, recount."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from services.contracts import polls as pc
from services.surveys.polls import counting
from tests.conftest import Stack
from tests.e2e.conftest_polls import (
    DESSAU,
    HALLE,
    MAGDEBURG,
    TECHNIK,
    events,
    open_poll,
    propose,
    results,
    vote,
)
from tests.e2e.surveys_support import announce_as_another_instance


class TestTopics:
    async def test_members_propose_and_moderators_move_topics_on(self, stack: Stack) -> None:
        member = await stack.login(MAGDEBURG)
        topic = await propose(member, "Digitale Bauakte")
        assert topic["status"] == "proposed" and topic["group_id"] == TECHNIK
        assert [h["status"] for h in topic["history"]] == ["proposed"]

        listed = (await member.get(f"/api/v1/groups/{TECHNIK}/topics?status=proposed")).json()
        assert [t["id"] for t in listed["items"]] == [topic["id"]]
        assert (await member.get(f"/api/v1/groups/{TECHNIK}/topics?status=done")).json()["items"] == []

        forbidden = await member.patch(f"/api/v1/topics/{topic['id']}", json={"status": "dropped"})
        assert forbidden.status_code == 403

        ministry = await stack.login()
        moved = await ministry.patch(
            f"/api/v1/topics/{topic['id']}", json={"status": "dropped", "reason": "doppelt"}
        )
        assert moved.status_code == 200, moved.text
        assert [h["status"] for h in moved.json()["history"]] == ["proposed", "dropped"]
        again = await ministry.patch(f"/api/v1/topics/{topic['id']}", json={"status": "in_work"})
        assert again.status_code == 409 and again.json()["errors"][0]["field"] == "status"

    async def test_only_members_of_the_ag_propose(self, stack: Stack) -> None:
        outsider = await stack.login(DESSAU)
        response = await outsider.post(f"/api/v1/groups/{TECHNIK}/topics", json={"title": "Fremd"})
        assert response.status_code == 403
        unknown = await outsider.post("/api/v1/groups/ag-gibt-es-nicht/topics", json={"title": "X"})
        assert unknown.status_code == 404
        empty = await outsider.post("/api/v1/groups/ag-umsetzung/topics", json={"title": ""})
        assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "title"


class TestTopicPoll:
    async def test_dot_vote_on_topics_selects_the_winners(self, stack: Stack) -> None:
        magdeburg = await stack.login(MAGDEBURG)
        halle = await stack.login(HALLE)
        akte = await propose(magdeburg, "Digitale Akte")
        cloud = await propose(halle, "Cloud-Arbeitsplatz")
        funk = await propose(halle, "Funknetz")
        ministry = await stack.login()
        poll = await open_poll(
            ministry,
            group_id=TECHNIK,
            options=[{"topic_id": akte["id"]}, {"topic_id": cloud["id"]}, {"topic_id": funk["id"]}],
            method={"kind": "dot", "max_per_option": 2},
            winners=2,
        )
        assert poll["method"] == {"kind": "dot", "points": 2, "max_per_option": 2, "cumulative": True}
        assert poll["eligible"] == 12 and poll["state"] == "open" and poll["tie_rule"]
        o_akte, o_cloud, o_funk = (o["id"] for o in poll["options"])
        assert [o["label"] for o in poll["options"]] == ["Digitale Akte", "Cloud-Arbeitsplatz", "Funknetz"]

        assert (await vote(magdeburg, poll["id"], points={o_akte: 2})).status_code == 200
        first = await vote(halle, poll["id"], points={o_funk: 2})
        assert first.status_code == 200, first.text
        # Halle changes its mind: the ballot is replaced, not added
        replaced = await vote(halle, poll["id"], points={o_cloud: 1, o_akte: 1})
        assert replaced.status_code == 200 and replaced.json()["ballot"] == {
            "points": {o_akte: 1, o_cloud: 1}
        }
        mine = (await halle.get(f"/api/v1/polls/{poll['id']}/ballot")).json()
        assert mine["ballot"] == {"points": {o_akte: 1, o_cloud: 1}}

        live = await results(halle, poll["id"])
        assert (live["ballots"], live["eligible"], live["hidden"]) == (2, 12, False)
        assert [(s["option_id"], s["score"], s["rank"]) for s in live["ranking"]] == [
            (o_akte, 3, 1),
            (o_cloud, 1, 2),
            (o_funk, 0, 3),
        ]
        assert live["winners"] == [o_akte, o_cloud] and live["ties"] == [] and not live["final"]

        closed = await ministry.post(f"/api/v1/polls/{poll['id']}/close")
        assert closed.status_code == 200, closed.text
        assert closed.json()["final"] and closed.json()["winners"] == [o_akte, o_cloud]
        assert (await ministry.post(f"/api/v1/polls/{poll['id']}/close")).status_code == 409
        late = await vote(magdeburg, poll["id"], points={o_funk: 1})
        assert late.status_code == 409

        selected = (await magdeburg.get(f"/api/v1/groups/{TECHNIK}/topics?status=selected")).json()["items"]
        assert {t["id"] for t in selected} == {akte["id"], cloud["id"]}
        for topic in selected:
            assert topic["selected_by_poll"] == poll["id"] and poll["id"] in topic["polls"]
            assert topic["history"][-1]["status"] == "selected"
            assert topic["history"][-1]["poll_id"] == poll["id"]
        still = (await magdeburg.get(f"/api/v1/topics/{funk['id']}")).json()
        assert still["status"] == "proposed" and still["polls"] == [poll["id"]]

        found = await events(stack, wait_for="topic.selected")
        types = [e.type for e in found]
        for expected in ("topic.proposed", "poll.opened", "ballot.cast", "poll.closed", "topic.selected"):
            assert expected in types
        for cast in (e for e in found if e.type == "ballot.cast"):
            data = msgspec.json.decode(cast.data)
            assert "points" not in data and set(data) >= {"poll_id", "voter", "replaced"}
        assert sum(1 for e in found if e.type == "topic.selected") == 2

    async def test_a_tie_at_the_cut_off_selects_nobody_silently(self, stack: Stack) -> None:
        magdeburg = await stack.login(MAGDEBURG)
        halle = await stack.login(HALLE)
        a = await propose(magdeburg, "A")
        b = await propose(halle, "B")
        ministry = await stack.login()
        poll = await open_poll(
            ministry,
            group_id=TECHNIK,
            options=[{"topic_id": a["id"]}, {"topic_id": b["id"]}],
            method={"kind": "single"},
        )
        o_a, o_b = (o["id"] for o in poll["options"])
        await vote(magdeburg, poll["id"], choice=o_a)
        await vote(halle, poll["id"], choice=o_b)
        final = (await ministry.post(f"/api/v1/polls/{poll['id']}/close")).json()
        assert final["winners"] == [] and final["undecided"] == [o_a, o_b] and final["ties"] == [[o_a, o_b]]
        topics = (await ministry.get(f"/api/v1/groups/{TECHNIK}/topics?status=proposed")).json()["items"]
        assert {t["id"] for t in topics} == {a["id"], b["id"]}

    async def test_an_interrupted_close_is_finished_by_the_service(self, stack: Stack) -> None:
        member = await stack.login(MAGDEBURG)
        topic = await propose(member, "Wiederaufnahme")
        other = await propose(member, "Anderes")
        ministry = await stack.login()
        poll = await open_poll(
            ministry,
            group_id=TECHNIK,
            options=[{"topic_id": topic["id"]}, {"topic_id": other["id"]}],
            method={"kind": "single"},
        )
        await vote(member, poll["id"], choice=poll["options"][0]["id"])
        # as if the service had died right after marking the poll closed, a minute ago, and
        # started again
        repo = stack.processes["surveys"].parts["polls_repository"]
        assert await repo.mark_closed(poll["id"], datetime.now(UTC) - timedelta(minutes=1), None)
        await stack.stop_service("surveys")
        await stack.start_service("surveys")
        for _ in range(40):
            if (await results(member, poll["id"]))["final"]:
                break
            await asyncio.sleep(0.25)
        final = await results(member, poll["id"])
        assert final["final"] and final["winners"] == [poll["options"][0]["id"]]
        assert (await member.get(f"/api/v1/topics/{topic['id']}")).json()["status"] == "selected"
        found = await events(stack, wait_for="poll.closed")
        assert sum(1 for e in found if e.type == "poll.closed") == 1

    async def test_closing_twice_at_once_closes_once(self, stack: Stack) -> None:
        ministry = await stack.login()
        other = await stack.login()
        poll = await open_poll(ministry, method={"kind": "single"})
        first, second = await asyncio.gather(
            ministry.post(f"/api/v1/polls/{poll['id']}/close"),
            other.post(f"/api/v1/polls/{poll['id']}/close"),
        )
        assert sorted([first.status_code, second.status_code]) == [200, 409]
        found = await events(stack, wait_for="poll.closed")
        assert sum(1 for e in found if e.type == "poll.closed") == 1


class TestMethods:
    async def test_schulze_reports_both_matrices_and_recounts_from_the_export(self, stack: Stack) -> None:
        ministry = await stack.login()
        poll = await open_poll(ministry, method={"kind": "schulze"})
        assert poll["eligible"] == 25, "every active person: the ministry and 24 demo Kommunen"
        x, y, z = (o["id"] for o in poll["options"])
        voters = [(DESSAU, [y, x, z]), (HALLE, [x, y]), (MAGDEBURG, [x, z, y])]
        for email, ranking in voters:
            client = await stack.login(email)
            response = await vote(client, poll["id"], ranking=ranking)
            assert response.status_code == 200, response.text
        live = await results(ministry, poll["id"])
        assert live["winners"] == [x] and live["matrix_options"] == [x, y, z]
        assert live["pairwise"] == [[0, 2, 3], [1, 0, 2], [0, 1, 0]]
        assert live["strongest_paths"] == [[0, 2, 3], [0, 0, 2], [0, 0, 0]]

        export = await ministry.get(f"/api/v1/polls/{poll['id']}/ballots.csv")
        assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(export.text)))
        assert len(rows) == 3 and all(len(r["ballot"]) == 16 for r in rows)
        assert "demo-" not in export.text and "1500" not in export.text, "pseudonymised"
        index = {x: 0, y: 1, z: 2}
        recount = counting.schulze(3, [[index[o] for o in r["ranking"].split(">")] for r in rows])
        assert [[x, y, z][i] for i in recount.order] == [s["option_id"] for s in live["ranking"]]

    @pytest.mark.parametrize(
        ("method", "ballots", "scores"),
        [
            ("single", [{"choice": 1}, {"choice": 1}, {"choice": 0}], [1, 2, 0]),
            ("approval", [{"choices": [0, 1]}, {"choices": [1]}, {"choices": [1, 2]}], [1, 3, 1]),
            (
                "score",
                [{"scores": {0: 5, 1: 3}}, {"scores": {0: 1, 1: 3, 2: 4}}, {"scores": {0: 3, 2: 2}}],
                [3, 2, 2],
            ),
            ("borda", [{"ranking": [0]}, {"ranking": [2, 0, 1]}, {"ranking": [0, 1, 2]}], [5, 1.5, 2.5]),
        ],
    )
    async def test_each_method_counts_through_the_api(
        self, stack: Stack, method: str, ballots: list[dict[str, object]], scores: list[float]
    ) -> None:
        ministry = await stack.login()
        poll = await open_poll(ministry, method={"kind": method})
        ids = [o["id"] for o in poll["options"]]

        def by_id(value: object) -> object:
            if isinstance(value, int):
                return ids[value]
            if isinstance(value, list):
                return [ids[i] for i in value]
            if isinstance(value, dict):
                return {ids[k]: v for k, v in value.items()}
            return value

        for email, ballot in zip((DESSAU, HALLE, MAGDEBURG), ballots, strict=True):
            client = await stack.login(email)
            response = await vote(client, poll["id"], **{k: by_id(v) for k, v in ballot.items()})
            assert response.status_code == 200, response.text
        result = await results(ministry, poll["id"])
        got = {s["option_id"]: s["score"] for s in result["ranking"]}
        assert [got[i] for i in ids] == scores
        assert result["method"] == method and result["ballots"] == 3


class TestVisibilityAndVoters:
    async def test_hidden_until_close(self, stack: Stack) -> None:
        ministry = await stack.login()
        poll = await open_poll(ministry, results_visibility="after_close", method={"kind": "single"})
        member = await stack.login(HALLE)
        await vote(member, poll["id"], choice=poll["options"][2]["id"])
        hidden = await results(member, poll["id"])
        assert (
            hidden["hidden"]
            and hidden["ranking"] == []
            and hidden["winners"] == []
            and hidden["ballots"] == 1
        )
        assert (await member.get(f"/api/v1/polls/{poll['id']}/ballots.csv")).status_code == 409
        forbidden = await member.post(f"/api/v1/polls/{poll['id']}/close")
        assert forbidden.status_code == 403
        await ministry.post(f"/api/v1/polls/{poll['id']}/close")
        shown = await results(member, poll["id"])
        assert not shown["hidden"] and shown["winners"] == [poll["options"][2]["id"]] and shown["final"]

    async def test_one_ballot_per_kommune(self, stack: Stack) -> None:
        ministry = await stack.login()
        created = await ministry.post(
            "/api/v1/people",
            json={
                "email": "kollegin@magdeburg.example",
                "name": "Kollegin",
                "organisation_id": "15003",
                "roles": ["member"],
                "password": "lange-genug-123",
            },
        )
        assert created.status_code == 201, created.text
        poll = await open_poll(ministry, voters="organisation", method={"kind": "single"})
        assert poll["eligible"] == 24, "every demo Kommune, not the Land"
        first, second = poll["options"][0]["id"], poll["options"][1]["id"]
        team = await stack.login(MAGDEBURG)
        colleague = await stack.login("kollegin@magdeburg.example", "lange-genug-123")
        assert (await vote(team, poll["id"], choice=first)).status_code == 200
        response = await vote(colleague, poll["id"], choice=second)
        assert response.status_code == 200 and response.json()["voter"] == "15003"
        result = await results(ministry, poll["id"])
        assert result["ballots"] == 1 and result["winners"] == [second]
        assert (await vote(ministry, poll["id"], choice=first)).status_code == 403, "the Land is no Kommune"

    async def test_an_ags_kommunen_vote_once_each_by_any_colleague(self, stack: Stack) -> None:
        ministry = await stack.login()
        created = await ministry.post(
            "/api/v1/people",
            json={
                "email": "kollege@magdeburg.example",
                "name": "Kollege",
                "organisation_id": "15003",
                "roles": ["member"],
                "password": "lange-genug-123",
            },
        )
        assert created.status_code == 201, created.text
        poll = await open_poll(ministry, voters="organisation", group_id=TECHNIK, method={"kind": "single"})
        assert poll["eligible"] == 12, "the Kommunen of the AG's twelve members"
        colleague = await stack.login("kollege@magdeburg.example", "lange-genug-123")
        response = await vote(colleague, poll["id"], choice=poll["options"][0]["id"])
        assert response.status_code == 200, "Magdeburg's team is in the AG, so any colleague votes for it"
        assert response.json()["voter"] == "15003"
        outsider = await stack.login(DESSAU)
        assert (await vote(outsider, poll["id"], choice=poll["options"][0]["id"])).status_code == 403

    async def test_a_poll_closes_by_itself_when_its_time_is_up(self, stack: Stack) -> None:
        ministry = await stack.login()
        closes = (datetime.now(UTC) + timedelta(seconds=1.5)).isoformat()
        poll = await open_poll(ministry, closes_at=closes, method={"kind": "single"})
        member = await stack.login(HALLE)
        await vote(member, poll["id"], choice=poll["options"][0]["id"])
        for _ in range(40):
            await asyncio.sleep(0.25)
            if (await results(member, poll["id"]))["final"]:
                break
        final = await results(member, poll["id"])
        assert (
            final["final"] and final["state"] == "closed" and final["winners"] == [poll["options"][0]["id"]]
        )
        late = await vote(member, poll["id"], choice=poll["options"][1]["id"])
        assert late.status_code == 409

    async def test_a_poll_opened_by_another_instance_is_closed_at_its_time(self, stack: Stack) -> None:
        """The closer keeps its list of the polls without a result for minutes (reading it
        scans every poll ever made); a poll another instance opened after the list was read is
        closed at its time all the same, once that instance's poll.opened arrives."""
        ministry = await stack.login()
        template = await open_poll(ministry, method={"kind": "single"})
        parts = stack.processes["surveys"].parts
        await parts["polls_part"].stop_closer()  # its rounds are run here, one at a time
        svc, repo = parts["polls"], parts["polls_repository"]
        assert await svc.close_due(recent=True) == 0  # the closer has its list now
        # another instance opens a poll: its write, then (later) its event
        doc = await repo.poll(template["id"])
        closes = datetime.now(UTC) + timedelta(seconds=1)
        doc.update(_id="p-anderswo", closes_at=closes, created_at=datetime.now(UTC), outbox=[])
        await repo.insert_poll(doc)
        await asyncio.sleep(1.2)
        assert await svc.close_due(recent=True) == 0
        assert (await repo.poll("p-anderswo"))["state"] == "open", "not on the list before its event"
        opened = pc.PollOpened(
            poll_id="p-anderswo",
            title=doc["title"],
            method="single",
            voters=doc["voters"],
            group_id=None,
            options=msgspec.convert(doc["options"], list[pc.Option]),
            winners=doc["winners"],
            results_visibility=doc["results_visibility"],
            closes_at=closes,
            created_by=doc["created_by"],
        )
        await announce_as_another_instance(stack, pc.EVENT_POLL_OPENED, opened, "polls/p-anderswo")
        for _ in range(40):
            if await svc.close_due(recent=True):
                break
            await asyncio.sleep(0.1)
        closed = await repo.poll("p-anderswo")
        assert closed["state"] == "closed" and closed["result"] is not None
        assert (await results(ministry, template["id"]))["final"] is False, "the first one's time is not up"


class TestOpenApi:
    async def test_every_poll_and_topic_endpoint_is_documented(self, stack: Stack) -> None:
        schema = (await stack.client().get("/api/schema/openapi.json")).json()
        expected = {
            "/api/v1/groups/{group_id}/topics": {"get", "post"},
            "/api/v1/topics/{topic_id}": {"get", "patch"},
            "/api/v1/polls": {"get", "post"},
            "/api/v1/polls/{poll_id}": {"get"},
            "/api/v1/polls/{poll_id}/ballot": {"get", "put"},
            "/api/v1/polls/{poll_id}/results": {"get"},
            "/api/v1/polls/{poll_id}/results/stream": {"get"},
            "/api/v1/polls/{poll_id}/close": {"post"},
            "/api/v1/polls/{poll_id}/ballots.csv": {"get"},
        }
        for path, methods in expected.items():
            assert path in schema["paths"], path
            assert set(schema["paths"][path]) >= methods, path
            for method in methods:
                assert schema["paths"][path][method]["summary"], (path, method)


class TestReplacing:
    async def test_a_voter_changing_often_keeps_one_ballot_and_a_short_history(self, stack: Stack) -> None:
        ministry = await stack.login()
        poll = await open_poll(ministry, method={"kind": "single"})
        member = await stack.login(HALLE)
        for i in range(14):
            response = await vote(member, poll["id"], choice=poll["options"][i % 3]["id"])
            assert response.status_code == 200
        result = await results(member, poll["id"])
        assert result["ballots"] == 1 and result["winners"] == [poll["options"][13 % 3]["id"]]
        repo = stack.processes["surveys"].parts["polls_repository"]
        stored = await repo.ballots.find_one({"poll_id": poll["id"]})
        assert len(stored["outbox"]) == 10
        casts: list[dict[str, object]] = []
        for _ in range(20):
            found = await events(stack, wait_for="ballot.cast")
            casts = [msgspec.json.decode(e.data) for e in found if e.type == "ballot.cast"]
            if len(casts) >= 14:
                break
            await asyncio.sleep(0.25)
        assert len(casts) == 14, "every ballot, replaced or not, was announced once"
        assert [c["replaced"] for c in casts].count(False) == 1
