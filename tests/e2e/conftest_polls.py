"""Helpers for the poll and topic tests (imported by tests/e2e/test_polls*.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from services.contracts.envelope import Event
from services.runtime.natsconn import connect
from tests.conftest import Stack

# demo members and their AGs (services/directory/seed.py spreads the Kommunen over the AGs)
DESSAU = "kommune-15001@gdst.example"  # ag-organisation, ag-umsetzung
HALLE = "kommune-15002@gdst.example"  # ag-umsetzung, ag-technik
MAGDEBURG = "kommune-15003@gdst.example"  # ag-technik, ag-strategie
TECHNIK = "ag-technik"


def later(seconds: float = 3600) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def poll_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Welche Themen nimmt die AG Technik auf?",
        "options": [{"label": "Digitale Akte"}, {"label": "Breitband"}, {"label": "Cloud"}],
        "method": {"kind": "dot"},
        "voters": "person",
        "results_visibility": "live",
        "closes_at": later(),
    }
    body.update(overrides)
    return body


async def open_poll(ministry: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await ministry.post("/api/v1/polls", json=poll_body(**overrides))
    assert response.status_code == 201, response.text
    poll: dict[str, Any] = response.json()
    return poll


async def propose(client: httpx.AsyncClient, title: str, group: str = TECHNIK) -> dict[str, Any]:
    response = await client.post(f"/api/v1/groups/{group}/topics", json={"title": title, "description": ""})
    assert response.status_code == 201, response.text
    topic: dict[str, Any] = response.json()
    return topic


async def vote(client: httpx.AsyncClient, poll_id: str, **ballot: Any) -> httpx.Response:
    return await client.put(f"/api/v1/polls/{poll_id}/ballot", json=ballot)


async def results(client: httpx.AsyncClient, poll_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/polls/{poll_id}/results")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def events(stack: Stack, wait_for: str | None = None, timeout: float = 5.0) -> list[Event]:
    """Every event in the test's stream (waiting until one of type `wait_for` is there)."""
    conn = await connect(stack.settings.nats_url, "test-events")
    try:
        js = conn.nc.jetstream()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            sub = await js.pull_subscribe(
                stack.settings.names.event_wildcard,
                stream=stack.settings.names.event_stream,
                config=ConsumerConfig(ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL),
            )
            found: list[Event] = []
            try:
                while True:
                    msgs = await sub.fetch(100, timeout=0.5)
                    found += [msgspec.json.decode(m.data, type=Event) for m in msgs]
            except TimeoutError:
                pass
            finally:
                await sub.unsubscribe()
            if wait_for is None or any(e.type == wait_for for e in found) or loop.time() > deadline:
                return found
            await asyncio.sleep(0.2)
    finally:
        await conn.close()
