"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get
from litestar.openapi import ResponseSpec

from gateway.api.schemas import Readiness
from gateway.auth import gateway_of
from services.contracts.common import Empty, Health


@get("/healthz", summary="Liveness: the process is up", tags=["Betrieb"], sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get(
    "/readyz",
    summary="Readiness: NATS, the databases and every service answer",
    tags=["Betrieb"],
    responses={503: ResponseSpec(Readiness, description="Nicht bereit; `checks` nennt, was fehlt")},
)
async def readyz(request: Request[Any, Any, Any]) -> Response[Readiness]:
    gw = gateway_of(request)
    checks: dict[str, str] = {"nats": "ok" if gw.conn.nc.is_connected else "nicht verbunden"}

    async def check(service: str) -> None:
        try:
            health = await gw.rpc.call(service, "health", Empty(), Health, timeout=2.0)
            checks[service] = "ok" if health.database == "ok" else "Datenbank antwortet nicht"
        except Exception as exc:
            checks[service] = getattr(exc, "detail", "") or type(exc).__name__

    if gw.conn.nc.is_connected:
        await asyncio.gather(*(check(s) for s in gw.required_services))
    ready = all(v == "ok" for v in checks.values())
    body = Readiness(status="ok" if ready else "nicht bereit", checks=checks)
    return Response(body, status_code=200 if ready else 503)
