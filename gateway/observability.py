"""Request ids, trace context, access log and metrics for every routed HTTP request, and `/metrics`.

The request id comes from `X-Request-ID` when the caller (or the reverse proxy) sent a sane one,
else it is made here; it is returned in the response's `X-Request-ID` and travels with every RPC
in the NATS headers, next to `traceparent`. Metrics are labelled by the route template (not the
raw path), so ids in paths do not multiply the series.
"""

from __future__ import annotations

import logging
import time

from litestar import Response, get
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from opentelemetry.trace import SpanKind

from services.runtime import metrics, telemetry

log = logging.getLogger("gateway.access")

_HEADER = telemetry.REQUEST_ID_HEADER.lower().encode()


_INCOMING = frozenset(
    {b"traceparent", b"tracestate", b"baggage", telemetry.REQUEST_ID_HEADER.lower().encode()}
)


class _Series:
    """The labelled children of the two request metrics for one route, method and status:
    looked up once (prometheus_client takes a lock and builds the label tuple per lookup)."""

    __slots__ = ("count", "seconds")

    def __init__(self, route: str, method: str, status: int) -> None:
        self.count = metrics.HTTP_REQUESTS.labels(route, method, str(status))
        self.seconds = metrics.HTTP_SECONDS.labels(route, method)

    def observe(self, elapsed: float) -> None:
        self.count.inc()
        self.seconds.observe(elapsed)


# route templates, methods and statuses are few: the key space is bounded by the app's routes
_known: dict[tuple[str, str, int], _Series] = {}


def _series(route: str, method: str, status: int) -> _Series:
    found = _known.get((route, method, status))
    if found is None:
        found = _known[(route, method, status)] = _Series(route, method, status)
    return found


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        # only what the trace context and the request id are made from (ASGI names are lower case)
        headers = {k.decode(): v.decode("latin-1") for k, v in scope.get("headers", ()) if k in _INCOMING}
        route = scope.get("path_template") or "unrouted"
        method = scope.get("method", "GET")
        status = 500
        started = time.monotonic()
        with telemetry.incoming(
            f"{method} {route}",
            headers,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "http.route": route},
            new_request_id=True,
        ) as span:
            rid = telemetry.request_id.get() or ""

            async def send_with_id(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                    message["headers"] = [*message.get("headers", []), (_HEADER, rid.encode("latin-1"))]
                await send(message)

            try:
                await self.app(scope, receive, send_with_id)
            finally:
                elapsed = time.monotonic() - started
                span.set_attribute("http.response.status_code", status)
                _series(route, method, status).observe(elapsed)
                # the route's template, never the raw path: paths carry secrets (an invitation
                # token, a calendar feed token) that must not reach the logs
                log.info(
                    "%s %s %s",
                    method,
                    route,
                    status,
                    extra={"route": route, "status": status, "duration_ms": round(elapsed * 1000, 1)},
                )


@get(
    "/metrics",
    summary="Prometheus metrics of this gateway process",
    description="Text format 0.0.4. Meant for the monitoring system inside the cluster; the reverse "
    "proxy does not pass it to the outside.",
    tags=["Betrieb"],
    media_type=metrics.exposition()[1],
    sync_to_thread=False,
)
def metrics_endpoint() -> Response[bytes]:
    body, media = metrics.exposition()
    return Response(content=body, media_type=media)
