"""Two instances of every service and two gateways side by side: requests spread over the
instances, consumers share the work without doing it twice, a session and a live result stream
work on either gateway."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.contracts import surveys as sc
from services.contracts.polls import Endpoints, results_subject
from services.directory.seed import demo_organisations
from tests.cluster.conftest import Cluster
from tests.e2e.conftest_polls import open_poll
from tests.support.cluster import SERVICES, instances

pytestmark = pytest.mark.cluster

MINISTRY = "ministerium@gdst.example"
HALLE = "kommune-15002@gdst.example"
MAGDEBURG = "kommune-15003@gdst.example"


async def requests_per_instance(cluster: Cluster, service: str) -> dict[str, int]:
    """How many requests each instance of the service has answered (`$SRV.STATS`)."""
    stats = await instances(cluster.conn.nc, "STATS", cluster.settings.names.service_name(service))
    return {s["id"]: sum(e.get("num_requests", 0) for e in s.get("endpoints") or []) for s in stats}


async def ballots_per_instance(cluster: Cluster) -> dict[str, int]:
    """How many ballots each surveys instance has been asked to store."""
    stats = await instances(cluster.conn.nc, "STATS", cluster.settings.names.service_name("surveys"))
    name = Endpoints.BALLOT_PUT.replace(".", "_")
    return {
        s["id"]: sum(e.get("num_requests", 0) for e in s.get("endpoints") or [] if e.get("name") == name)
        for s in stats
    }


async def sse_results(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    event, data = "", []
    async for line in response.aiter_lines():
        if line == "":
            if event == "result" and data:
                yield json.loads("\n".join(data))
            event, data = "", []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())


async def survey_writes_per_instance(cluster: Cluster) -> dict[str, int]:
    """How many response saves, submissions and reopenings each surveys instance has answered."""
    stats = await instances(cluster.conn.nc, "STATS", cluster.settings.names.service_name("surveys"))
    names = {
        e.replace(".", "_")
        for e in (sc.Endpoints.RESPONSE_SAVE, sc.Endpoints.RESPONSE_SUBMIT, sc.Endpoints.RESPONSE_REOPEN)
    }
    return {
        s["id"]: sum(e.get("num_requests", 0) for e in s.get("endpoints") or [] if e.get("name") in names)
        for s in stats
    }


async def stellen_survey(ministry: httpx.AsyncClient) -> str:
    """A published one-question survey (IT-Stellen) addressed to Magdeburg; its id."""
    created = await ministry.post(
        "/api/v1/surveys",
        json={
            "title": "Wie viele IT-Stellen?",
            "questions": [
                {"id": "stellen", "kind": "number", "label": "IT-Stellen", "required": True, "max": 500}
            ],
            "audience": {"kind": "organisations", "ids": ["15003"]},
            "closes_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
        },
    )
    assert created.status_code == 201, created.text
    sid = str(created.json()["id"])
    assert (await ministry.post(f"/api/v1/surveys/{sid}/publish")).status_code == 200
    return sid


class TestTwoInstances:
    async def test_requests_are_spread_over_the_instances_of_every_service(self, cluster: Cluster) -> None:
        before = {s: await requests_per_instance(cluster, s) for s in SERVICES}
        assert all(len(b) == 2 for b in before.values()), before
        # reads through either gateway reach the services (people, needs, polls, inbox), and the
        # readiness probe asks every service's health; the queue group gives each request to one
        # instance
        clients = [await cluster.login(gateway=g) for g in (0, 1)]
        try:
            for i in range(24):
                client = clients[i % 2]
                for path in (
                    "/api/v1/me",
                    "/api/v1/needs",
                    "/api/v1/polls",
                    "/api/v1/notifications",
                    "/readyz",
                ):
                    response = await client.get(path)
                    assert response.status_code == 200, (path, response.text)
        finally:
            for client in clients:
                await client.aclose()
        for service in SERVICES:
            after = await requests_per_instance(cluster, service)
            served = {i: after[i] - before[service].get(i, 0) for i in after}
            assert len(served) == 2 and all(n > 0 for n in served.values()), (service, served)

    async def test_each_invitation_is_mailed_once_with_two_notification_instances(
        self, cluster: Cluster
    ) -> None:
        addresses = [f"zwei-instanzen-{i}@salzwedel.example" for i in range(12)]
        ministries = [await cluster.login(gateway=g) for g in (0, 1)]
        try:
            for i, address in enumerate(addresses):
                response = await ministries[i % 2].post(
                    "/api/v1/invitations",
                    json={
                        "email": address,
                        "name": "Neu",
                        "organisation_id": "15081455",
                        "roles": ["member"],
                    },
                )
                assert response.status_code == 201, response.text
        finally:
            for client in ministries:
                await client.aclose()
        for address in addresses:
            await cluster.mailbox.wait_for(address, 1, timeout=60)
        # a little longer: a second instance doing the same work would show up now
        await asyncio.sleep(3)
        assert [len(cluster.mailbox.to(a)) for a in addresses] == [1] * len(addresses)

    async def test_session_made_on_one_gateway_works_on_the_other(self, cluster: Cluster) -> None:
        on_a = await cluster.login(HALLE, gateway=0)
        on_b = cluster.client(1)
        try:
            on_b.cookies = on_a.cookies
            on_b.headers["X-CSRF-Token"] = on_a.headers["X-CSRF-Token"]
            me = await on_b.get("/api/v1/me")
            assert me.status_code == 200 and me.json()["email"] == HALLE
            # a write on B with the CSRF token issued by A
            need = await on_b.post(
                "/api/v1/needs",
                json={
                    "title": "Gemeinsame Terminvergabe für Bürgerbüros",
                    "description": "Wir suchen eine Lösung, die beide Gateways gesehen haben.",
                    "category": "querschnitt",
                },
            )
            assert need.status_code == 201, need.text
            assert (await on_a.get(f"/api/v1/needs/{need.json()['id']}")).status_code == 200
            # logging out on B ends the session on A as well
            assert (await on_b.delete("/api/v1/session")).status_code in (200, 204)
            assert (await on_a.get("/api/v1/me")).status_code == 401
        finally:
            await on_a.aclose()
            await on_b.aclose()

    async def test_live_results_reach_a_watcher_on_the_other_gateway(self, cluster: Cluster) -> None:
        ministry = await cluster.login(gateway=0)
        voter = await cluster.login(MAGDEBURG, gateway=0)
        viewer = await cluster.login(HALLE, gateway=1)
        try:
            poll = await open_poll(
                ministry,
                title="Welches Thema zuerst?",
                options=[{"label": "Digitale Akte"}, {"label": "Breitband"}],
                method={"kind": "single"},
            )
            first = poll["options"][0]["id"]
            async with viewer.stream("GET", f"/api/v1/polls/{poll['id']}/results/stream") as stream:
                assert stream.status_code == 200
                results = sse_results(stream)
                assert (await asyncio.wait_for(anext(results), timeout=30))["ballots"] == 0
                ballot = await voter.put(f"/api/v1/polls/{poll['id']}/ballot", json={"choice": first})
                assert ballot.status_code == 200, ballot.text
                update = await asyncio.wait_for(anext(results), timeout=30)
                while update["ballots"] < 1:
                    update = await asyncio.wait_for(anext(results), timeout=30)
                assert update["ballots"] == 1
                assert {s["option_id"]: s["score"] for s in update["ranking"]}[first] == 1
        finally:
            for client in (ministry, voter, viewer):
                await client.aclose()

    async def test_each_surveys_instance_counts_the_ballots_the_other_stored(self, cluster: Cluster) -> None:
        """Each instance publishes the live count after a ballot it stored, from the ballots it
        holds: those stored by the other instance must be among them within moments (from the
        ballot.cast events), not only at the next full read a minute later."""
        clients = [
            await cluster.login(email, gateway=i % 2) for i, email in enumerate((MINISTRY, MAGDEBURG, HALLE))
        ]
        published: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        subscription = None
        try:
            poll = await open_poll(
                clients[0],
                title="Welche Plattform zuerst?",
                options=[{"label": "Bauantrag online"}, {"label": "Ratsinformation"}],
                method={"kind": "single"},
            )
            options = [o["id"] for o in poll["options"]]

            async def heard(msg: Any) -> None:
                await published.put(json.loads(msg.data))

            subject = results_subject(cluster.settings.names, poll["id"])
            subscription = await cluster.conn.nc.subscribe(subject, cb=heard)
            before = await ballots_per_instance(cluster)
            choices: dict[int, str] = {}
            stored: dict[str, int] = {}
            # ballots of three voters who change their minds: the queue groups spread them over
            # both instances, and some replace a ballot the other instance stored; at least 12,
            # more until each instance has stored some
            for k in range(40):
                voter = k % 3
                choices[voter] = options[(k // 3 + voter) % 2]
                ballot = await clients[voter].put(
                    f"/api/v1/polls/{poll['id']}/ballot", json={"choice": choices[voter]}
                )
                assert ballot.status_code == 200, ballot.text
                expected = {o: sum(1 for c in choices.values() if c == o) for o in options}
                deadline = asyncio.get_running_loop().time() + 10
                while True:
                    left = deadline - asyncio.get_running_loop().time()
                    try:
                        result = await asyncio.wait_for(published.get(), timeout=max(left, 0.01))
                    except TimeoutError:
                        pytest.fail(f"no live count with {expected} within 10 s of ballot {k + 1}")
                    counted = {s["option_id"]: s["score"] for s in result["ranking"]}
                    if counted == expected and result["ballots"] == len(choices):
                        break
                if k >= 11:
                    after = await ballots_per_instance(cluster)
                    stored = {i: after[i] - before.get(i, 0) for i in after}
                    if len(stored) == 2 and all(n > 0 for n in stored.values()):
                        break
            assert len(stored) == 2 and all(n > 0 for n in stored.values()), f"ballots per instance: {stored}"
        finally:
            if subscription is not None:
                await subscription.unsubscribe()
            for client in clients:
                await client.aclose()

    async def test_ten_kommunen_at_once_over_both_instances_are_each_told_their_real_place(
        self, cluster: Cluster
    ) -> None:
        # the seat order must hold across the two needs instances (services/runtime/locks.py):
        # each Kommune's answer is what the pilot shows afterwards
        kommunen = [o.ags for o in demo_organisations()][:10]
        ministry = await cluster.login()
        members = [
            (a, await cluster.login(f"kommune-{a}@gdst.example", gateway=i % 2))
            for i, a in enumerate(kommunen)
        ]
        try:
            need = await members[0][1].post(
                "/api/v1/needs",
                json={
                    "title": "E-Akte einführen",
                    "description": "Für alle Ämter.",
                    "category": "querschnitt",
                },
            )
            assert need.status_code == 201, need.text
            created = await ministry.post(
                "/api/v1/pilots",
                json={
                    "title": "Pilot E-Akte",
                    "description": "Erprobung in Kommunen",
                    "need_ids": [need.json()["id"]],
                    "capacity": 3,
                    "signup_closes_at": (datetime.now(UTC) + timedelta(days=14)).isoformat(),
                },
            )
            assert created.status_code == 201, created.text
            pilot = created.json()["id"]
            responses = await asyncio.gather(
                *[
                    c.put(
                        f"/api/v1/pilots/{pilot}/signup",
                        json={"contact_name": f"Kontakt {a}", "contact_email": f"it@{a}.example"},
                    )
                    for a, c in members
                ]
            )
            assert [r.status_code for r in responses] == [200] * 10, [r.text for r in responses]
            view = (await ministry.get(f"/api/v1/pilots/{pilot}")).json()
            statuses = [s["status"] for s in view["signups"]]
            assert statuses.count("confirmed") == 3 and statuses.count("waitlisted") == 7
            told = {a: r.json() for (a, _), r in zip(members, responses, strict=True)}
            shown = {
                s["organisation"]["id"]: {"status": s["status"], "position": s["position"]}
                for s in view["signups"]
            }
            assert told == shown
        finally:
            for client in (ministry, *(c for _, c in members)):
                await client.aclose()

    async def test_a_response_written_on_both_instances_always_submits_the_last_save(
        self, cluster: Cluster
    ) -> None:
        """An instance keeps a response's lock for a moment after writing it and then trusts its
        own copy instead of reading it again (services/runtime/locks.py, `linger`). Saves,
        submissions and reopenings spread over both instances: each submission without answers
        must carry the draft saved just before it, whichever instance saved it."""
        ministry = await cluster.login(MINISTRY)
        kommune = [await cluster.login(MAGDEBURG, gateway=i) for i in range(2)]
        try:
            path = f"/api/v1/surveys/{await stellen_survey(ministry)}/response"
            before = await survey_writes_per_instance(cluster)
            spread: dict[str, int] = {}
            for k in range(12):
                for i in range(2):  # two saves from either gateway, the later one counts
                    saved = await kommune[(k + i) % 2].put(path, json={"answers": {"stellen": 10 * k + i}})
                    assert saved.status_code == 200, saved.text
                submitted = await kommune[k % 2].post(f"{path}/submit")
                assert submitted.status_code == 200, submitted.text
                assert submitted.json()["answers"] == {"stellen": 10 * k + 1}, f"round {k + 1}"
                stored = await kommune[(k + 1) % 2].get(path)
                assert stored.json()["state"] == "submitted" and stored.json()["answers"] == {
                    "stellen": 10 * k + 1
                }
                reopened = await kommune[(k + 1) % 2].post(f"{path}/reopen")
                assert reopened.status_code == 200 and reopened.json()["answers"] == {"stellen": 10 * k + 1}
                after = await survey_writes_per_instance(cluster)
                spread = {i: after[i] - before.get(i, 0) for i in after}
                if k >= 3 and len(spread) == 2 and all(n >= 3 for n in spread.values()):
                    break
            assert len(spread) == 2 and all(n >= 3 for n in spread.values()), f"writes per instance: {spread}"
        finally:
            for client in (ministry, *kommune):
                await client.aclose()

    async def test_a_survey_closed_on_one_instance_takes_no_answer_on_the_other(
        self, cluster: Cluster
    ) -> None:
        """Each instance keeps the survey it answers for a while; the one that closes it tells the
        other (survey.closed on core NATS), so from the close on no save is taken on either."""
        ministry = await cluster.login(MINISTRY)
        kommune = [await cluster.login(MAGDEBURG, gateway=i) for i in range(2)]
        try:
            sid = await stellen_survey(ministry)
            path = f"/api/v1/surveys/{sid}/response"
            # both instances hold the survey: each has taken a save
            before = await survey_writes_per_instance(cluster)
            for k in range(40):
                saved = await kommune[k % 2].put(path, json={"answers": {"stellen": k}})
                assert saved.status_code == 200, saved.text
                spread = {
                    i: n - before.get(i, 0) for i, n in (await survey_writes_per_instance(cluster)).items()
                }
                if len(spread) == 2 and all(n >= 1 for n in spread.values()):
                    break
            assert len(spread) == 2 and all(n >= 1 for n in spread.values()), f"saves per instance: {spread}"
            # fresh copies on both just before the close (each is kept for a while after its read)
            await asyncio.gather(*(kommune[i % 2].get(path) for i in range(8)))
            before = await survey_writes_per_instance(cluster)
            assert (await ministry.post(f"/api/v1/surveys/{sid}/close")).status_code == 200
            statuses: list[int] = []
            for k in range(40):
                refused = await kommune[k % 2].put(path, json={"answers": {"stellen": 100 + k}})
                statuses.append(refused.status_code)
                if k % 8 == 7:
                    after = await survey_writes_per_instance(cluster)
                    spread = {i: n - before.get(i, 0) for i, n in after.items()}
                    if len(spread) == 2 and all(n >= 1 for n in spread.values()):
                        break
            assert statuses == [409] * len(statuses), f"saves after the close answered {statuses}"
            assert len(spread) == 2 and all(n >= 1 for n in spread.values()), (
                f"refusals per instance: {spread}"
            )
            stored = (await kommune[0].get(path)).json()
            assert stored["answers"]["stellen"] < 100 and stored["can_edit"] is False
        finally:
            for client in (ministry, *kommune):
                await client.aclose()
