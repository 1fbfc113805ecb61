"""Live results: the server-sent event stream follows every ballot within about a second."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from services.surveys.polls.service import LIVE_IDLE_SECONDS, PollsService
from tests.conftest import Stack
from tests.e2e.conftest_polls import HALLE, MAGDEBURG, open_poll, vote


async def sse_results(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """The `result` events of a text/event-stream response, decoded."""
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


class TestLiveStream:
    async def test_stream_follows_ballots_and_ends_with_the_final_result(self, stack: Stack) -> None:
        ministry = await stack.login()
        poll = await open_poll(ministry, method={"kind": "dot"})
        first, second = poll["options"][0]["id"], poll["options"][1]["id"]
        viewer = await stack.login(HALLE)
        async with viewer.stream("GET", f"/api/v1/polls/{poll['id']}/results/stream") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            stream = sse_results(response)
            initial = await anext(stream)
            assert initial["ballots"] == 0 and not initial["final"]

            voter = await stack.login(MAGDEBURG)
            loop = asyncio.get_running_loop()
            cast_at = loop.time()
            assert (await vote(voter, poll["id"], points={first: 2})).status_code == 200
            update = await asyncio.wait_for(anext(stream), timeout=5)
            assert update["ballots"] == 1
            assert loop.time() - cast_at < 1.5, "updated within about a second"
            assert {s["option_id"]: s["score"] for s in update["ranking"]}[first] == 2

            assert (await vote(viewer, poll["id"], points={second: 1})).status_code == 200
            update = await asyncio.wait_for(anext(stream), timeout=5)
            assert update["ballots"] == 2

            assert (await ministry.post(f"/api/v1/polls/{poll['id']}/close")).status_code == 200
            final = await asyncio.wait_for(anext(stream), timeout=5)
            while not final["final"]:
                final = await asyncio.wait_for(anext(stream), timeout=5)
            assert final["state"] == "closed" and final["winners"] == [first]
            # the stream ends after the final result
            rest = [r async for r in stream]
            assert all(r["final"] for r in rest)

    async def test_a_quiet_poll_lets_go_of_its_ballots_and_still_counts_them_all(self, stack: Stack) -> None:
        """An open poll nobody votes in or watches does not keep its ballots in memory (each bench
        round left 2,000 behind); the next live count reads them again and misses none."""
        polls: PollsService = stack.processes["surveys"].parts["polls"]
        ministry = await stack.login()
        poll = await open_poll(ministry, method={"kind": "dot"})
        first, second = poll["options"][0]["id"], poll["options"][1]["id"]
        voter = await stack.login(MAGDEBURG)
        assert (await vote(voter, poll["id"], points={first: 2})).status_code == 200
        assert poll["id"] in polls.live_held
        assert poll["id"] not in polls.drop_idle_live(), "a poll just voted in keeps its ballots"

        dropped = polls.drop_idle_live(time.monotonic() + LIVE_IDLE_SECONDS + 1)
        assert poll["id"] in dropped and poll["id"] not in polls.live_held

        viewer = await stack.login(HALLE)
        async with viewer.stream("GET", f"/api/v1/polls/{poll['id']}/results/stream") as response:
            stream = sse_results(response)
            initial = await anext(stream)
            assert initial["ballots"] == 1
            assert (await vote(viewer, poll["id"], points={second: 1})).status_code == 200
            update = await asyncio.wait_for(anext(stream), timeout=5)
            while update["ballots"] < 2:
                update = await asyncio.wait_for(anext(stream), timeout=5)
            scores = {s["option_id"]: s["score"] for s in update["ranking"]}
            assert update["ballots"] == 2 and scores[first] == 2 and scores[second] == 1

    async def test_hidden_results_stream_only_the_turnout(self, stack: Stack) -> None:
        ministry = await stack.login()
        poll = await open_poll(ministry, method={"kind": "single"}, results_visibility="after_close")
        viewer = await stack.login(HALLE)
        async with viewer.stream("GET", f"/api/v1/polls/{poll['id']}/results/stream") as response:
            stream = sse_results(response)
            assert (await anext(stream))["hidden"]
            await vote(viewer, poll["id"], choice=poll["options"][0]["id"])
            update = await asyncio.wait_for(anext(stream), timeout=5)
            assert update["hidden"] and update["ballots"] == 1 and update["ranking"] == []

    async def test_unknown_poll_is_a_problem_not_a_stream(self, stack: Stack) -> None:
        viewer = await stack.login(HALLE)
        response = await viewer.get("/api/v1/polls/p-unbekannt/results/stream")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert (await stack.client().get("/api/v1/polls/p-unbekannt/results/stream")).status_code == 401
