"""200 voters vote at the same moment through the gateway, a quarter of them changing an earlier
ballot: the result counts exactly 200 ballots, each voter's last."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from services.runtime.settings import Settings
from tests.conftest import Stack
from tests.e2e.conftest_polls import open_poll, results

VOTERS = 200


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Here the 200 clients, the gateway and every service share one Python process and event
    loop on a small shared machine, so the last of 200 simultaneous requests may wait longer
    than the gateway's usual 5 s for its turn; this test is about exact counts, not speed."""
    return settings.with_(rpc_timeout=30.0)


async def people(stack: Stack, ministry: httpx.AsyncClient, count: int) -> list[httpx.AsyncClient]:
    """`count` new people of Magdeburg, each logged in with its own session."""
    limit = asyncio.Semaphore(16)

    async def one(i: int) -> httpx.AsyncClient:
        async with limit:
            email = f"person{i}@magdeburg.example"
            created = await ministry.post(
                "/api/v1/people",
                json={
                    "email": email,
                    "name": f"Person {i}",
                    "organisation_id": "15003",
                    "roles": ["member"],
                    "password": "lange-genug-123",
                },
            )
            assert created.status_code == 201, created.text
            return await stack.login(email, "lange-genug-123")

    return list(await asyncio.gather(*(one(i) for i in range(count))))


class TestConcurrentVoters:
    async def test_200_voters_at_once_are_counted_exactly(self, stack: Stack) -> None:
        ministry = await stack.login()
        clients = await people(stack, ministry, VOTERS)
        poll = await open_poll(
            ministry,
            options=[{"label": f"Thema {i}"} for i in range(6)],
            method={"kind": "dot", "points": 5, "max_per_option": 3},
        )
        ids = [o["id"] for o in poll["options"]]
        ballots = [{ids[i % 6]: 3, ids[(i + 1) % 6]: 2} for i in range(VOTERS)]
        # a quarter has voted before: in the burst their ballots replace stored ones while the
        # others' first ballots are inserted together (services/runtime/mongo.py GroupInsert)
        earlier = VOTERS // 4
        for client in clients[:earlier]:
            response = await client.put(f"/api/v1/polls/{poll['id']}/ballot", json={"points": {ids[5]: 3}})
            assert response.status_code == 200, response.text

        # fresh connections (the logins' may have been closed by the server while idle), made
        # before the burst: creating an httpx client costs milliseconds of CPU for its TLS context
        voting = [stack.client(cookies=c.cookies, headers=c.headers) for c in clients]
        start = asyncio.Event()

        async def at_once(client: httpx.AsyncClient, points: dict[str, int]) -> int:
            await start.wait()
            response = await client.put(f"/api/v1/polls/{poll['id']}/ballot", json={"points": points})
            return response.status_code

        tasks = [asyncio.create_task(at_once(c, b)) for c, b in zip(voting, ballots, strict=True)]
        start.set()
        statuses = await asyncio.gather(*tasks)
        assert statuses == [200] * VOTERS

        result = await results(ministry, poll["id"])
        assert result["ballots"] == VOTERS
        expected = {option: 0 for option in ids}
        for ballot in ballots:
            for option, points in ballot.items():
                expected[option] += points
        assert {s["option_id"]: s["score"] for s in result["ranking"]} == expected
        assert sum(s["score"] for s in result["ranking"]) == 5 * VOTERS
        for client in [*clients, *voting]:
            await client.aclose()
