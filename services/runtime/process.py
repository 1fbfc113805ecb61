"""What every service process holds: one NATS connection, one Mongo client, its RPC server,
its outbox relay and its consumers, started in order and stopped in reverse."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar

from services.contracts.common import Empty, Health
from services.contracts.envelope import Principal
from services.runtime import metrics, mongo, telemetry
from services.runtime.consumer import EventConsumer, Handler
from services.runtime.events import OutboxRelay, ensure_stream
from services.runtime.lifecycle import retry
from services.runtime.locks import Locks
from services.runtime.natsconn import Connection, connect
from services.runtime.rpc import Endpoint, RpcServer, serve
from services.runtime.settings import Settings

log = logging.getLogger(__name__)


class ServiceProcess:
    # whether what this process publishes reaches its own subscriptions (see natsconn.connect)
    echo: ClassVar[bool] = True

    def __init__(self, settings: Settings, service: str, conn: Connection) -> None:
        self.settings = settings
        self.service = service
        self.names = settings.names
        self.conn = conn
        self.js = conn.nc.jetstream(timeout=5.0)
        self.mongo = mongo.client(settings.mongodb_url, f"gdst-{service}")
        self.db = self.mongo[self.names.database(service)]
        self.rpc: RpcServer | None = None
        self.relay: OutboxRelay | None = None
        self.consumers: list[EventConsumer] = []
        self._locks: Locks | None = None
        # the composition root's parts by name, for operations tooling and fault tests
        self.parts: dict[str, Any] = {}
        self._on_stop: list[Callable[[], Awaitable[None]]] = []
        self.ops: metrics.OpsServer | None = None

    @classmethod
    async def start(cls, settings: Settings, service: str) -> ServiceProcess:
        holder: list[Connection] = []
        telemetry.configure(service)

        async def attempt() -> None:
            holder.append(
                await connect(
                    settings.nats_url,
                    f"{settings.namespace}-{service}",
                    settings.nats_credentials(service),
                    echo=cls.echo,
                )
            )

        await retry("nats", attempt)
        proc = cls(settings, service, holder[-1])
        await retry("jetstream", lambda: ensure_stream(proc.js, proc.names, settings.nats_replicas))
        await retry("database", lambda: proc.db.command("ping"))
        if settings.metrics_port:
            await proc.start_ops()
        return proc

    async def start_ops(self) -> None:
        """The HTTP listener for probes and scrapes (see services.runtime.metrics)."""
        ops = metrics.OpsServer(
            self.settings.metrics_host, self.settings.metrics_port, self.readiness, self.refresh_metrics
        )
        await ops.start()
        self.ops = ops
        self.on_stop(ops.stop)

    async def readiness(self) -> dict[str, str]:
        checks = {
            "nats": "ok" if self.conn.nc.is_connected else "nicht verbunden",
            "endpoints": "ok" if self.rpc is not None else "noch nicht gestartet",
        }
        try:
            await asyncio.wait_for(self.db.command("ping"), timeout=2.0)
            checks["database"] = "ok"
        except Exception:
            checks["database"] = "nicht erreichbar"
        return checks

    async def refresh_metrics(self) -> None:
        """Consumer lag and outbox backlog, read when metrics are scraped."""
        for consumer in self.consumers:
            try:
                info = await self.js.consumer_info(self.names.event_stream, consumer.durable, timeout=2.0)
            except Exception as exc:
                log.debug("consumer info of %s failed: %r", consumer.durable, exc)
                continue
            metrics.CONSUMER_PENDING.labels(consumer.durable).set(info.num_pending or 0)
            metrics.CONSUMER_ACK_PENDING.labels(consumer.durable).set(info.num_ack_pending or 0)
        # a service without outbox reports 0, so one alert rule fits every service
        relay = self.relay
        with contextlib.suppress(Exception):
            waiting = await asyncio.wait_for(relay.pending(), timeout=3.0) if relay else []
            metrics.OUTBOX_BACKLOG.labels(self.service).set(len(waiting))

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

    async def locks(self) -> Locks:
        """The service's locks that hold across all its instances (one KV bucket)."""
        if self._locks is None:
            # short JetStream timeouts: a failed attempt is retried within the lock's bridge time
            locks = Locks(
                self.conn.nc.jetstream(timeout=1.0),
                self.names.lock_bucket(self.service),
                replicas=self.settings.nats_replicas,
            )
            await retry("lock bucket", locks.open)
            self.on_stop(locks.close)
            self._locks = locks
        return self._locks

    async def serve(self, endpoints: Sequence[Endpoint[Any]]) -> None:
        """Serve the endpoints plus `health`, which answers only while the database does."""

        async def health(principal: Principal | None, request: Empty) -> Health:
            await asyncio.wait_for(self.db.command("ping"), timeout=2.0)
            return Health(service=self.service, database="ok")

        all_endpoints = [*endpoints, Endpoint("health", Empty, health, anonymous=True)]
        self.rpc = await serve(self.conn.nc, self.names, self.service, all_endpoints)

    async def consume(
        self, durable: str, event_types: Sequence[str], handler: Handler, **kw: Any
    ) -> EventConsumer:
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
        return consumer

    def on_stop(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Background work of the composition root, stopped before the connections close."""
        self._on_stop.append(callback)

    async def stop(self) -> None:
        """Graceful stop (SIGTERM): stop taking requests and let those running finish, stop the
        background work and the consumers after the event in hand, flush the outbox, close.

        Every step is bounded, so a stuck peer never keeps the process from ending; the whole
        stop is bounded again by `lifecycle.main` (SHUTDOWN_TIMEOUT)."""
        grace = max(1.0, self.settings.shutdown_timeout / 2)
        if self.rpc:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.rpc.stop(grace), timeout=grace + 1)
        for callback in reversed(self._on_stop):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(callback(), timeout=grace)
        await asyncio.gather(*(consumer.stop() for consumer in self.consumers), return_exceptions=True)
        if self.relay:
            await self.relay.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.conn.close(), timeout=5)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.mongo.close(), timeout=5)
