"""Prometheus metrics of every process, and the small HTTP listener of a service process.

Metrics live in prometheus_client's default registry, one per process. Gauges that need a round
trip (consumer lag from JetStream, the outbox backlog from the database) are refreshed when
`/metrics` is scraped, so nothing polls while nobody looks.

A service process answers on its own port (METRICS_PORT, off when 0) with:
- `/healthz`: the process's event loop answers (liveness);
- `/readyz`: NATS connected, database answers, endpoints served (readiness), 503 otherwise;
- `/metrics`: the Prometheus text format.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from prometheus_client import exposition as _exposition

# the classic text format 0.0.4, which every Prometheus version reads (the names here are ASCII,
# so the output is the same as 1.0.0's)
CONTENT_TYPE = str(getattr(_exposition, "CONTENT_TYPE_PLAIN_0_0_4", CONTENT_TYPE_LATEST))

log = logging.getLogger(__name__)

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "gdst_http_requests_total", "HTTP requests answered by the gateway", ["route", "method", "status"]
)
HTTP_SECONDS = Histogram(
    "gdst_http_request_duration_seconds",
    "Time the gateway took to answer, by route",
    ["route", "method"],
    buckets=_BUCKETS,
)
RPC_REQUESTS = Counter(
    "gdst_rpc_requests_total",
    "RPC requests handled by a service, by endpoint and outcome (ok or the error status)",
    ["service", "endpoint", "outcome"],
)
RPC_SECONDS = Histogram(
    "gdst_rpc_request_duration_seconds",
    "Time a service took to handle an RPC request",
    ["service", "endpoint"],
    buckets=_BUCKETS,
)
EVENTS_HANDLED = Counter(
    "gdst_events_handled_total",
    "Events taken from JetStream by a durable consumer, by outcome",
    ["consumer", "outcome"],
)
CONSUMER_PENDING = Gauge(
    "gdst_consumer_pending_messages",
    "Messages of the stream not yet delivered to the durable consumer (its lag)",
    ["consumer"],
)
CONSUMER_ACK_PENDING = Gauge(
    "gdst_consumer_ack_pending_messages",
    "Messages delivered to the durable consumer and not yet acknowledged",
    ["consumer"],
)
OUTBOX_BACKLOG = Gauge(
    "gdst_outbox_backlog_events", "Events waiting in a service's outboxes to be published", ["service"]
)
MAILS = Counter("gdst_mails_total", "Mail send attempts by outcome (sent, failed)", ["outcome"])
WEBHOOKS = Counter(
    "gdst_webhook_deliveries_total", "Webhook delivery attempts by outcome (delivered, failed)", ["outcome"]
)


def exposition() -> tuple[bytes, str]:
    """The current metrics in the Prometheus text format, with its content type."""
    return generate_latest(), CONTENT_TYPE


ReadyCheck = Callable[[], Awaitable[dict[str, str]]]
Refresh = Callable[[], Awaitable[None]]

_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


class OpsServer:
    """A minimal HTTP/1.1 listener for probes and scrapes: GET only, one response per connection.

    It is deliberately not a web framework: it must keep answering while the service is busy and
    must not share anything with the request path it reports on.
    """

    def __init__(self, host: str, port: int, ready: ReadyCheck, refresh: Refresh) -> None:
        self.host = host
        self.port = port
        self.ready = ready
        self.refresh = refresh
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        sockets = self._server.sockets
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        log.info("health and metrics on http://%s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), timeout=2)
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
            method, _, rest = head.decode("latin-1").partition(" ")
            path = rest.partition(" ")[0].split("?", 1)[0]
            status, body, media = await self._answer(method, path)
            writer.write(
                f"HTTP/1.1 {status} {_REASONS.get(status, '')}\r\n"
                f"Content-Type: {media}\r\nContent-Length: {len(body)}\r\n"
                "Cache-Control: no-store\r\nConnection: close\r\n\r\n".encode("latin-1")
                + (b"" if method == "HEAD" else body)
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(self, method: str, path: str) -> tuple[int, bytes, str]:
        if method not in ("GET", "HEAD"):
            return 405, b"", "text/plain"
        if path == "/healthz":
            return 200, b'{"status":"ok"}', "application/json"
        if path == "/readyz":
            try:
                checks = await asyncio.wait_for(self.ready(), timeout=3)
            except Exception as exc:
                checks = {"check": type(exc).__name__}
            ok = all(v == "ok" for v in checks.values())
            answer = {"status": "ok" if ok else "nicht bereit", "checks": checks}
            return (200 if ok else 503), json.dumps(answer).encode(), "application/json"
        if path == "/metrics":
            try:
                await asyncio.wait_for(self.refresh(), timeout=5)
            except Exception as exc:  # stale gauges are better than no counters
                log.debug("metrics refresh failed: %r", exc)
            text, media = exposition()
            return 200, text, media
        return 404, b"", "text/plain"
