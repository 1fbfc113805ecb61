"""One production-shaped platform for the whole `tests/cluster` package, started once: a NATS
cluster of three nodes with JetStream (R3 stream and KV buckets), two processes of every service,
two gateways, the session's FerretDB and mailbox, in a namespace of its own.

The tests run in file order and may depend on it: the instance tests first, then a NATS node is
killed and restarted, then one service instance and one gateway get SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from services.directory.cli import seed_demo
from services.runtime import mongo
from services.runtime.natsconn import Connection, connect
from services.runtime.settings import Settings
from tests.support import servers
from tests.support.cluster import SERVICES, NatsCluster, Platform, instances
from tests.support.figures import Recorder

DEMO_PASSWORD = "gdst-demo"
MINISTRY = "ministerium@gdst.example"
START_TIMEOUT = 120.0


@dataclass
class Cluster:
    settings: Settings
    nats: NatsCluster
    platform: Platform
    conn: Connection
    mailbox: servers.Mailbox
    db: mongo.AsyncMongoClient[mongo.Document]

    @property
    def gateways(self) -> list[str]:
        return self.platform.gateway_urls

    def client(self, gateway: int = 0) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.gateways[gateway], timeout=30.0)

    async def login(self, email: str = MINISTRY, gateway: int = 0) -> httpx.AsyncClient:
        client = self.client(gateway)
        response = await client.post("/api/v1/session", json={"email": email, "password": DEMO_PASSWORD})
        assert response.status_code == 200, response.text
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        return client

    def database(self, service: str) -> mongo.AsyncDatabase[mongo.Document]:
        return self.db[self.settings.names.database(service)]


async def _ready(cluster: Cluster) -> None:
    """Every instance of every service registered, every gateway ready."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT
    names = cluster.settings.names
    async with httpx.AsyncClient(timeout=5.0) as http:
        while True:
            counts = {
                s: len(await instances(cluster.conn.nc, "PING", names.service_name(s), 0.3)) for s in SERVICES
            }
            ready = []
            for url in cluster.gateways:
                with contextlib.suppress(httpx.HTTPError):
                    ready.append((await http.get(f"{url}/readyz")).status_code == 200)
            if all(c >= cluster.platform.instances for c in counts.values()) and ready and all(ready):
                if len(ready) == len(cluster.gateways):
                    return
            dead = [n for n, p in cluster.platform.procs.items() if not p.running]
            if dead or loop.time() > deadline:
                raise AssertionError(
                    f"platform not ready (instances {counts}, exited {dead})\n{cluster.platform.logs()}"
                )
            await asyncio.sleep(0.5)


@pytest.fixture(scope="package")
async def cluster(
    tmp_path_factory: pytest.TempPathFactory,
    ferretdb: servers.Process,
    mailbox: tuple[servers.Mailbox, servers.SmtpServer],
) -> AsyncIterator[Cluster]:
    workdir: Path = tmp_path_factory.mktemp("cluster")
    nats = NatsCluster(workdir / "nats")
    settings = Settings(
        nats_url=nats.url,
        mongodb_url=f"mongodb://127.0.0.1:{ferretdb.port}/",
        namespace="c" + secrets.token_hex(5),
        smtp_port=mailbox[1].port,
        public_url="http://gdst.test",
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        nats_replicas=3,
    )
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "NATS_URL": settings.nats_url,
        "NATS_REPLICAS": "3",
        "MONGODB_URL": settings.mongodb_url,
        "GDST_NAMESPACE": settings.namespace,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(settings.smtp_port),
        "PUBLIC_URL": settings.public_url,
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "1024",
        "LOG_JSON": "0",
        "SHUTDOWN_TIMEOUT": "10",
    }
    platform = Platform(workdir / "platform", env)
    db: mongo.AsyncMongoClient[mongo.Document] = mongo.client(settings.mongodb_url)
    conn: Connection | None = None
    try:
        nats.start()
        conn = await connect(nats.url, "cluster-test")
        await seed_demo(settings)
        started = time.monotonic()
        platform.start()
        found = Cluster(settings, nats, platform, conn, mailbox[0], db)
        await _ready(found)
        Recorder("tests/cluster/conftest.py").record(
            "cluster",
            f"seconds until {len(platform.procs)} processes were ready",
            round(time.monotonic() - started, 1),
        )
        yield found
    finally:
        await platform.stop()
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 5)
        await nats.stop()
        for service in SERVICES:
            with contextlib.suppress(Exception):
                await db.drop_database(settings.names.database(service))
        await db.close()
