"""Health probes: /healthz is about the process, /readyz about everything it depends on."""

from __future__ import annotations

import asyncio

from tests.conftest import Stack


class TestReadiness:
    async def test_ready_when_everything_answers(self, stack: Stack) -> None:
        async with stack.client() as client:
            assert (await client.get("/healthz")).status_code == 200
            ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {
            "nats": "ok",
            "directory": "ok",
            "needs": "ok",
            "surveys": "ok",
            "notifications": "ok",
            "meetings": "ok",
        }

    async def test_not_ready_while_a_service_is_down(self, stack: Stack) -> None:
        async with stack.client() as client:
            await stack.stop_service("directory")
            down = await client.get("/readyz")
            assert down.status_code == 503
            assert down.json()["checks"]["directory"] != "ok"
            assert down.json()["checks"]["notifications"] == "ok"
            # a request needing the service gets 503 with a retry hint, not a hang or a 500
            login = await client.post("/api/v1/session", json={"email": "a@b.de", "password": "x"})
            assert login.status_code == 503 and login.headers.get("retry-after")
            assert (await client.get("/healthz")).status_code == 200

            await stack.start_service("directory")
            # the restarted service's subscriptions reach the server a moment after start
            for _ in range(50):
                if (await client.get("/readyz")).status_code == 200:
                    break
                await asyncio.sleep(0.1)
            assert (await client.get("/readyz")).status_code == 200
