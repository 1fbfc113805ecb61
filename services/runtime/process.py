"""What every service process holds: one NATS connection, one Mongo client, its RPC server,
its outbox relay and its consumers, started in order and stopped in reverse."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from services.contracts.common import Empty, Health
from services.contracts.envelope import Principal
from services.runtime import mongo
from services.runtime.consumer import EventConsumer, Handler
from services.runtime.events import OutboxRelay, ensure_stream
from services.runtime.lifecycle import retry
from services.runtime.natsconn import Connection, connect
from services.runtime.rpc import Endpoint, RpcServer, serve
from services.runtime.settings import Settings

log = logging.getLogger(__name__)


class ServiceProcess:
    def __init__(self, settings: Settings, service: str, conn: Connection) -> None:
        self.settings = settings
        self.service = service
        self.names = settings.names
        self.conn = conn
        self.js = conn.nc.jetstream(timeout=5.0)
        self.mongo = mongo.client(settings.mongodb_url)
        self.db = self.mongo[self.names.database(service)]
        self.rpc: RpcServer | None = None
        self.relay: OutboxRelay | None = None
        self.consumers: list[EventConsumer] = []
        # the composition root's parts by name, for operations tooling and fault tests
        self.parts: dict[str, Any] = {}
        self._on_stop: list[Callable[[], Awaitable[None]]] = []

    @classmethod
    async def start(cls, settings: Settings, service: str) -> ServiceProcess:
        holder: list[Connection] = []

        async def attempt() -> None:
            holder.append(
                await connect(
                    settings.nats_url, f"{settings.namespace}-{service}", settings.nats_credentials(service)
                )
            )

        await retry("nats", attempt)
        proc = cls(settings, service, holder[-1])
        await retry("jetstream", lambda: ensure_stream(proc.js, proc.names))
        await retry("database", lambda: proc.db.command("ping"))
        return proc

    def outbox(self, collections: Sequence[Any]) -> OutboxRelay:
        """The process's one outbox relay; each part of a service adds its collections to it."""
        if self.relay is None:
            self.relay = OutboxRelay(
                self.js, self.names, f"/gdst/{self.service}", list(collections), self.db["outbox_published"]
            )
            self.relay.start()
        else:
            self.relay.collections.extend(c for c in collections if c not in self.relay.collections)
        return self.relay

    async def serve(self, endpoints: Sequence[Endpoint[Any]]) -> None:
        """Serve the endpoints plus `health`, which answers only while the database does."""

        async def health(principal: Principal | None, request: Empty) -> Health:
            await asyncio.wait_for(self.db.command("ping"), timeout=2.0)
            return Health(service=self.service, database="ok")

        all_endpoints = [*endpoints, Endpoint("health", Empty, health, anonymous=True)]
        self.rpc = await serve(self.conn.nc, self.names, self.service, all_endpoints)

    async def consume(self, durable: str, event_types: Sequence[str], handler: Handler, **kw: Any) -> None:
        consumer = EventConsumer(
            self.js,
            self.names,
            durable=durable,
            event_types=event_types,
            handler=handler,
            processed=self.db["processed_events"],
            **kw,
        )
        await retry("consumer", consumer.start)
        self.consumers.append(consumer)

    def on_stop(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Background work of the composition root, stopped before the connections close."""
        self._on_stop.append(callback)

    async def stop(self) -> None:
        # stop taking requests, finish those running, then the background work; every step is
        # bounded, so a stuck peer never keeps the process from ending
        if self.rpc:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.rpc.stop(), timeout=10)
        for callback in reversed(self._on_stop):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(callback(), timeout=10)
        for consumer in self.consumers:
            await consumer.stop()
        if self.relay:
            await self.relay.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.conn.close(), timeout=5)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.mongo.close(), timeout=5)
