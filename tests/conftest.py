"""Real servers, started once per session; each test gets its own namespace (database names,
subjects, stream and KV bucket) and its own service processes inside the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from gateway.app import create_app
from services.directory.app import start as start_directory
from services.directory.cli import seed_demo
from services.meetings.app import start as start_meetings
from services.needs.app import start as start_needs
from services.notifications.app import start as start_notifications
from services.runtime.natsconn import connect
from services.runtime.process import ServiceProcess
from services.runtime.settings import Settings
from services.surveys.app import start as start_surveys
from tests.support import servers
from tests.support.figures import FIGURES, Recorder
from tests.support.http import serve

DEMO_PASSWORD = "gdst-demo"
MINISTRY = "ministerium@gdst.example"
SERVICES = ("directory", "needs", "surveys", "notifications", "meetings")


def pytest_sessionstart(session: pytest.Session) -> None:
    missing = servers.have_binaries()
    if missing:
        raise pytest.UsageError(f"missing binaries (run `make setup test-deps`): {', '.join(missing)}")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES.items:
        return
    terminalreporter.section("figures")
    for line in FIGURES.lines():
        terminalreporter.write_line(line)
    FIGURES.write(Path("var/figures.json"))


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Recorder:
    """Record a measured figure (printed at the end of the run, see tests/support/figures.py)."""
    return Recorder(request.node.nodeid)


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("servers")


@pytest.fixture(scope="session")
def nats_server(workdir: Path) -> Iterator[servers.Process]:
    proc = servers.nats_server(workdir)
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def ferretdb(workdir: Path) -> Iterator[servers.Process]:
    proc = servers.ferretdb(workdir)
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def mailbox() -> Iterator[tuple[servers.Mailbox, servers.SmtpServer]]:
    box = servers.Mailbox()
    controller = servers.smtp_server(box)
    yield box, controller
    controller.stop()


@pytest.fixture
def settings(
    nats_server: servers.Process,
    ferretdb: servers.Process,
    mailbox: tuple[servers.Mailbox, servers.SmtpServer],
) -> Settings:
    return Settings(
        nats_url=f"nats://127.0.0.1:{nats_server.port}",
        mongodb_url=f"mongodb://127.0.0.1:{ferretdb.port}/",
        namespace="t" + secrets.token_hex(5),
        smtp_port=mailbox[1].port,
        public_url="http://gdst.test",
        log_json=False,
        # argon2id still, but cheap: a suite hashes hundreds of passwords
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        login_max_failures=5,
        # each process connects as its own NATS user (docs/hardening.md, "Authorisation")
        nats_users=servers.NATS_PASSWORDS,
    )


@dataclass
class Stack:
    settings: Settings
    mailbox: servers.Mailbox
    base_url: str
    processes: dict[str, ServiceProcess] = field(default_factory=dict)

    def client(self, **kw: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=30.0, **kw)

    async def login(self, email: str = MINISTRY, password: str = DEMO_PASSWORD) -> httpx.AsyncClient:
        """A client logged in with the session cookie, sending the CSRF header as api.md says."""
        client = self.client()
        response = await client.post("/api/v1/session", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        return client

    async def stop_service(self, name: str) -> None:
        await self.processes.pop(name).stop()

    async def start_service(self, name: str) -> None:
        starter = {
            "directory": start_directory,
            "needs": start_needs,
            "surveys": start_surveys,
            "notifications": start_notifications,
            "meetings": start_meetings,
        }[name]
        self.processes[name] = await starter(self.settings)


async def _cleanup(settings: Settings) -> None:
    # not the services' client: their 2 s to find the server is for reporting an outage quickly,
    # while the cleanup has to wait for a busy FerretDB. After the hostile-events test it took
    # 3.6-4 s to answer a new connection in about one run of four (its log showed it still
    # writing a large webhook-deliveries answer to a service that had already stopped)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_url, serverSelectionTimeoutMS=30_000
    )
    try:
        for service in ("directory", "notifications", "needs", "surveys", "meetings"):
            await client.drop_database(settings.names.database(service))
    finally:
        await client.close()
    with contextlib.suppress(Exception):
        conn = await asyncio.wait_for(connect(settings.nats_url, "cleanup"), 5)
        js = conn.nc.jetstream()
        buckets = [settings.names.session_bucket, *(settings.names.lock_bucket(s) for s in SERVICES)]
        for stream in (settings.names.event_stream, *(f"KV_{b}" for b in buckets)):
            with contextlib.suppress(Exception):
                await js.delete_stream(stream)
        await conn.close()


@pytest.fixture
async def stack(
    settings: Settings, mailbox: tuple[servers.Mailbox, servers.SmtpServer]
) -> AsyncIterator[Stack]:
    await seed_demo(settings)
    # demo addresses repeat from test to test; earlier stacks are stopped, so start empty
    mailbox[0].messages.clear()
    st = Stack(settings, mailbox[0], "")
    try:
        for service in SERVICES:
            await st.start_service(service)
        async with serve(create_app(settings)) as base_url:
            st.base_url = base_url
            yield st
    finally:
        for proc in st.processes.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.stop(), timeout=60)
        await asyncio.wait_for(_cleanup(settings), timeout=60)
