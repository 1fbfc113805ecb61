"""Spotlights end to end: from a topic and a need, through every status, telling exactly the
AG's members and the supporting Kommunen; bad input refused with nothing stored."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from services.directory.seed import demo_organisations
from tests.conftest import Stack
from tests.e2e.conftest_polls import open_poll, propose, vote
from tests.e2e.needs_support import kommune, report

MAGDEBURG, HALLE, DESSAU, BARLEBEN = "15003", "15002", "15001", "15083040"
LOTSE = "lotse@land.example"
RESSORT_STAFF = "referat@mi.example"


async def person(ministry: httpx.AsyncClient, email: str, org: str, roles: list[str]) -> None:
    body = {"email": email, "name": email.split("@")[0], "organisation_id": org, "roles": roles}
    created = await ministry.post("/api/v1/people", json={**body, "password": "gdst-demo-lotse"})
    assert created.status_code == 201, created.text


async def lineage(
    stack: Stack,
) -> tuple[httpx.AsyncClient, httpx.AsyncClient, dict[str, Any], dict[str, Any]]:
    """A topic of AG Technik proposed by Magdeburg, voted for by Halle (and against by another
    member), and a need of Dessau that Barleben supports. Returns ministry, lotse, topic, need."""
    ministry = await stack.login()
    await person(ministry, LOTSE, "15", ["lotse"])
    lotse = await stack.login(LOTSE, "gdst-demo-lotse")
    magdeburg, halle = await stack.login(kommune(MAGDEBURG)), await stack.login(kommune(HALLE))
    topic = await propose(magdeburg, "Offene Schnittstellen für Fachverfahren")
    poll = await open_poll(
        ministry,
        group_id="ag-technik",
        options=[{"topic_id": topic["id"]}, {"label": "Anderes"}],
        method={"kind": "single"},
    )
    options = {o.get("topic_id") or o["label"]: o["id"] for o in poll["options"]}
    assert (await vote(halle, poll["id"], choice=options[topic["id"]])).status_code == 200
    assert (await vote(magdeburg, poll["id"], choice=options["Anderes"])).status_code == 200
    dessau = await stack.login(kommune(DESSAU))
    need = await report(dessau, "Schnittstelle zum Meldewesen fehlt")
    barleben = await stack.login(kommune(BARLEBEN))
    assert (await barleben.put(f"/api/v1/needs/{need['id']}/support", json={})).status_code == 200
    return ministry, lotse, topic, need


def draft(topic: dict[str, Any] | None, need: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "XÖV-Schnittstellen verpflichtend machen",
        "proposal": "Das Land schreibt offene XÖV-Schnittstellen in Ausschreibungen vor.",
        "reasoning": "Vier Kommunen scheitern an geschlossenen Fachverfahren.",
        "ressort_ids": ["ressort-mid"],
        "kind": "spotlight",
    }
    if topic:
        body["topic_id"] = topic["id"]
    if need:
        body["need_id"] = need["id"]
    body.update(extra)
    return body


async def spotlight_mails(stack: Stack, address: str) -> list[str]:
    return [m["Subject"] for m in stack.mailbox.to(address) if "Spotlight" in m["Subject"]]


class TestSpotlightLifecycle:
    async def test_status_changes_reach_exactly_the_ag_and_the_supporting_kommunen(
        self, stack: Stack
    ) -> None:
        ministry, lotse, topic, need = await lineage(stack)
        created = await lotse.post("/api/v1/spotlights", json=draft(topic, need))
        assert created.status_code == 201, created.text
        spot = created.json()
        assert spot["status"] == "entwurf" and spot["next_statuses"] == ["eingereicht"]
        # proposer and voter-for of the topic, reporter and supporter of the need; not the
        # Kommune that voted for the other option only (Magdeburg proposed, so it is in anyway)
        assert {s["id"] for s in spot["supporters"]} == {MAGDEBURG, HALLE, DESSAU, BARLEBEN}
        assert spot["topic"]["id"] == topic["id"] and spot["need"]["id"] == need["id"]

        submitted = await lotse.patch(
            f"/api/v1/spotlights/{spot['id']}", json={"status": "eingereicht", "comment": "Beschluss der AG"}
        )
        assert submitted.status_code == 200, submitted.text

        directory = stack.processes["directory"].parts["repository"]
        members = set(await directory.members_of("ag-technik"))
        # demo people are "demo-<AGS>" with the address kommune-<AGS>@gdst.example
        expected = {kommune(p.removeprefix("demo-")) for p in members if p.startswith("demo-")}
        expected |= {kommune(ags) for ags in (MAGDEBURG, HALLE, DESSAU, BARLEBEN)}
        for address in expected:
            await stack.mailbox.wait_for(address, 1, timeout=30)
        await asyncio.sleep(1.0)
        everyone = {kommune(o.ags) for o in demo_organisations()} | {"ministerium@gdst.example", LOTSE}
        told = {a for a in everyone if await spotlight_mails(stack, a)}
        assert told == expected, f"told too many: {told - expected}, missing: {expected - told}"
        assert await spotlight_mails(stack, kommune(DESSAU)) == [
            "Spotlight „XÖV-Schnittstellen verpflichtend machen“ ist jetzt: Eingereicht"
        ]
        [mail] = [m for m in stack.mailbox.to(kommune(DESSAU)) if "Spotlight" in m["Subject"]]
        text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert f"http://gdst.test/spotlights/{spot['id']}" in text and "Beschluss der AG" in text

        review = await ministry.patch(
            f"/api/v1/spotlights/{spot['id']}", json={"status": "in_pruefung", "comment": "Liegt im Referat"}
        )
        assert review.status_code == 200, review.text
        done = await ministry.patch(
            f"/api/v1/spotlights/{spot['id']}",
            json={"status": "umgesetzt", "comment": "Erlass", "answer": "Seit 1. März in allen Vergaben."},
        )
        assert done.status_code == 200, done.text
        final = done.json()
        assert [h["status"] for h in final["history"]] == [
            "entwurf",
            "eingereicht",
            "in_pruefung",
            "umgesetzt",
        ]
        assert final["answer"] == "Seit 1. März in allen Vergaben." and final["next_statuses"] == []

        await stack.mailbox.wait_for(kommune(BARLEBEN), 3, timeout=30)
        barleben = await stack.login(kommune(BARLEBEN))
        for _ in range(60):
            inbox = (await barleben.get("/api/v1/notifications")).json()["items"]
            mine = [n for n in inbox if n["event_type"] == "spotlight.status_changed"]
            if len(mine) == 3:
                break
            await asyncio.sleep(0.5)
        assert mine[0]["link"] == f"/spotlights/{spot['id']}"
        assert any("Umgesetzt" in n["title"] for n in mine)

        # the lineage is visible from both ends: the need and the topic list the Spotlight
        need_page = await barleben.get(f"/bedarfe/{need['id']}")
        assert f"/spotlights/{spot['id']}" in need_page.text
        topic_page = await barleben.get(f"/themen/{topic['id']}")
        assert f"/spotlights/{spot['id']}" in topic_page.text
        page = await barleben.get(f"/spotlights/{spot['id']}")
        assert f"/bedarfe/{need['id']}" in page.text and f"/themen/{topic['id']}" in page.text
        for found, params in (
            ([spot["id"]], {"status": "umgesetzt"}),
            ([spot["id"]], {"group_id": "ag-technik", "kind": "spotlight", "ressort_id": "ressort-mid"}),
            ([spot["id"]], {"topic_id": topic["id"]}),
            ([], {"kind": "quick_win"}),
            ([], {"group_id": "ag-strategie"}),
            ([], {"status": "eingereicht"}),
        ):
            listed = (await barleben.get("/api/v1/spotlights", params=params)).json()["items"]
            assert [s["id"] for s in listed] == found, params
        filtered = await barleben.get("/spotlights", params={"status": "umgesetzt", "group_id": "ag-technik"})
        assert filtered.status_code == 200 and f"/spotlights/{spot['id']}" in filtered.text
        assert (await barleben.get("/api/v1/spotlights", params={"ressort_id": "ressort-mi"})).json()[
            "items"
        ] == []


class TestSpotlightBadInput:
    async def test_refusals_are_specific_and_store_nothing(self, stack: Stack) -> None:
        ministry = await stack.login()
        await person(ministry, LOTSE, "15", ["lotse"])
        await person(ministry, RESSORT_STAFF, "ressort-mi", ["ministry"])
        lotse = await stack.login(LOTSE, "gdst-demo-lotse")
        magdeburg = await stack.login(kommune(MAGDEBURG))
        topic = await propose(magdeburg, "Cloud-Arbeitsplatz")

        unknown_topic = await lotse.post("/api/v1/spotlights", json=draft({"id": "t-gibt-es-nicht"}, None))
        assert unknown_topic.status_code == 422
        assert [e["field"] for e in unknown_topic.json()["errors"]] == ["topic_id"]
        unknown_ressort = await lotse.post(
            "/api/v1/spotlights", json=draft(topic, None, ressort_ids=["ressort-mid", "15003"])
        )
        assert unknown_ressort.status_code == 422
        assert [e["field"] for e in unknown_ressort.json()["errors"]] == ["ressort_ids[1]"]
        by_member = await magdeburg.post("/api/v1/spotlights", json=draft(topic, None))
        assert by_member.status_code == 403
        assert (await ministry.get("/api/v1/spotlights")).json()["items"] == [], "nothing stored"

        spot = (await lotse.post("/api/v1/spotlights", json=draft(topic, None))).json()
        url = f"/api/v1/spotlights/{spot['id']}"
        skip = await ministry.patch(url, json={"status": "umgesetzt", "comment": "x", "answer": "y"})
        assert skip.status_code == 409 and "Entwurf" in skip.json()["detail"]
        member_submits = await magdeburg.patch(url, json={"status": "eingereicht", "comment": "x"})
        assert member_submits.status_code == 403
        no_comment = await lotse.patch(url, json={"status": "eingereicht"})
        assert no_comment.status_code == 422 and no_comment.json()["errors"][0]["field"] == "comment"
        assert (await lotse.patch(url, json={"status": "eingereicht", "comment": "ok"})).status_code == 200
        lotse_decides = await lotse.patch(url, json={"status": "in_pruefung", "comment": "x"})
        assert lotse_decides.status_code == 403
        other_ressort = await stack.login(RESSORT_STAFF, "gdst-demo-lotse")
        not_addressed = await other_ressort.patch(url, json={"status": "in_pruefung", "comment": "x"})
        assert not_addressed.status_code == 403
        assert (await ministry.patch(url, json={"status": "in_pruefung", "comment": "ok"})).status_code == 200
        no_answer = await ministry.patch(url, json={"status": "abgelehnt", "comment": "nein"})
        assert no_answer.status_code == 422
        assert [e["field"] for e in no_answer.json()["errors"]] == ["answer"]
        stored = (await ministry.get(url)).json()
        assert stored["status"] == "in_pruefung" and len(stored["history"]) == 3 and stored["answer"] == ""
