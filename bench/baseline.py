"""The machine's own limits, measured beside the platform in the same run.

    python -m bench.baseline server PORT NATS_URL     # bare Litestar app on the gateway's server
    python -m bench.baseline responder NATS_URL       # trivial nats.micro responder

`POST /bare` decodes a ~500-byte JSON body into a msgspec Struct and answers; `POST /forward`
does the same and then passes the Struct over NATS request/reply (the platform's own
`RpcClient` and `rpc.serve`, envelope included) to a responder that echoes it. The gateway's
figures are read as shares of these two.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec
from litestar import Litestar, Request, post

from gateway.__main__ import serve
from services.contracts.envelope import Principal
from services.contracts.names import Names
from services.runtime.natsconn import connect
from services.runtime.rpc import Endpoint, RpcClient
from services.runtime.rpc import serve as serve_rpc

NAMES = Names("benchbase")
SERVICE = "echo"
ENDPOINT = "echo"


class Ballot(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """About the size of a real request body (a dot-vote ballot with a comment)."""

    poll_id: str
    voter: str
    points: dict[str, int]
    comment: str
    tags: list[str]


class Ack(msgspec.Struct, kw_only=True):
    poll_id: str
    voter: str
    total: int


def body(i: int) -> str:
    ballot = Ballot(
        poll_id="p-2026-11-23-abcdef",
        voter=f"bench-person-{i:05d}",
        points={f"o{k}": k % 3 for k in range(10)},
        comment="Wir brauchen das Thema dringend in der AG, weil die Kommunen " * 4,
        tags=["digitalisierung", "verwaltung", "ozg"],
    )
    return msgspec.json.encode(ballot).decode()


def _credentials() -> tuple[str, str] | None:
    user, password = os.environ.get("NATS_USER", ""), os.environ.get("NATS_PASSWORD", "")
    return (user, password) if user else None


def app(nats_url: str) -> Litestar:
    holder: dict[str, RpcClient] = {}

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        conn = await connect(nats_url, "bench-baseline", _credentials())
        holder["rpc"] = RpcClient(conn.nc, NAMES, 10.0)
        try:
            yield
        finally:
            await conn.close()

    @post("/bare", status_code=200)
    async def bare(data: Ballot) -> Ack:
        return Ack(poll_id=data.poll_id, voter=data.voter, total=sum(data.points.values()))

    @post("/forward", status_code=200)
    async def forward(request: Request[None, None, None], data: Ballot) -> Ack:
        return await holder["rpc"].call(
            SERVICE, ENDPOINT, data, Ack, principal=Principal(person_id=data.voter, organisation_id="15")
        )

    return Litestar(route_handlers=[bare, forward], lifespan=[lifespan], debug=False)


async def responder(nats_url: str) -> None:
    conn = await connect(nats_url, "bench-responder", _credentials())

    async def echo(_: Principal | None, data: Ballot) -> Ack:
        return Ack(poll_id=data.poll_id, voter=data.voter, total=sum(data.points.values()))

    server = await serve_rpc(conn.nc, NAMES, SERVICE, [Endpoint(ENDPOINT, Ballot, echo, anonymous=True)])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()
    await conn.close()


def main() -> None:
    if sys.argv[1] == "server":
        serve(app(sys.argv[3]), "127.0.0.1", int(sys.argv[2]))
    else:
        asyncio.run(responder(sys.argv[2]))


if __name__ == "__main__":
    main()
