"""Request/reply over NATS with the nats.micro service API.

Server side: `Endpoint`s are registered on a micro service; each request is decoded into the
endpoint's msgspec type, handled in its own task (micro would otherwise serve one request at a
time per endpoint), and answered with the reply Struct or a micro error whose code is the HTTP
status. Unexpected exceptions are logged and answered with a bare 500; no traceback leaves.

Client side: `RpcClient.call` sends the envelope and turns error replies back into
`DomainError`s; no responders becomes 503 and a timeout 504.

Every endpoint listens on two subjects: the edge subject (`<ns>.rpc.…`, the gateway's, person
principals) and the internal one (`<ns>.svc.…`, other services'). NATS permissions decide who
may publish where (`services/runtime/natsauth.py`); the handler refuses a `service` principal
that arrives on the edge subject, so the gateway (or anyone holding its NATS user) can never act
as a service.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec
import nats.errors
import nats.micro
import pymongo.errors
from nats.aio.client import Client
from nats.micro.request import ERROR_CODE_HEADER
from nats.micro.request import Request as MicroRequest
from nats.micro.service import EndpointConfig, Service, ServiceConfig

from services.contracts.envelope import ROLE_SERVICE, ErrorBody, Principal, Request
from services.contracts.names import Names
from services.runtime import errors, metrics, telemetry
from services.runtime.validation import field_errors

log = logging.getLogger(__name__)

Req = TypeVar("Req", bound=msgspec.Struct)
Resp = TypeVar("Resp")

_encoder = msgspec.json.Encoder()
_envelope_decoder = msgspec.json.Decoder(Request)
_error_decoder = msgspec.json.Decoder(ErrorBody)


@dataclass(frozen=True, slots=True)
class Endpoint(Generic[Req]):
    name: str
    request: type[Req]
    handler: Callable[[Principal | None, Req], Awaitable[Any]]
    # most endpoints act for someone; the few that do not (login, accepting an invitation,
    # resolving a token) say so explicitly
    anonymous: bool = False


def required(principal: Principal | None) -> Principal:
    """The principal of an endpoint that is not anonymous: the wrapper refused the request
    already if there was none; this narrows the type for the handler."""
    if principal is None:
        raise errors.Unauthorized()
    return principal


# MongoDB's OutOfDiskSpace; FerretDB on SQLite reports SQLITE_FULL as an InternalError message
_OUT_OF_DISK_SPACE = 14031


def storage_full(exc: pymongo.errors.OperationFailure) -> bool:
    text = str(exc).lower()
    return exc.code == _OUT_OF_DISK_SPACE or "disk is full" in text or "no space left" in text


class _Handler(Generic[Req]):
    def __init__(
        self, endpoint: Endpoint[Req], tasks: set[asyncio.Task[None]], service: str = "", *, internal: bool
    ) -> None:
        self.endpoint = endpoint
        self.decoder = msgspec.json.Decoder(endpoint.request)
        self.tasks = tasks
        self.service = service
        self.internal = internal

    async def __call__(self, req: MicroRequest) -> None:
        task = asyncio.create_task(self._serve(req))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _serve(self, req: MicroRequest) -> None:
        # the caller's request id and trace context are current while the request is handled,
        # so every log line and any call onwards carries them
        name = self.endpoint.name
        with telemetry.incoming(f"rpc {self.service}.{name}", req.headers):
            started = time.monotonic()
            outcome = await self._answer(req)
            elapsed = time.monotonic() - started
            metrics.RPC_REQUESTS.labels(self.service, name, outcome).inc()
            metrics.RPC_SECONDS.labels(self.service, name).observe(elapsed)
            log.info(
                "rpc %s %s",
                name,
                outcome,
                extra={"endpoint": name, "outcome": outcome, "duration_ms": round(elapsed * 1000, 1)},
            )

    async def _answer(self, req: MicroRequest) -> str:
        try:
            reply = await self._handle(req.data)
            await req.respond(b"null" if reply is None else _encoder.encode(reply))
            return "ok"
        except errors.DomainError as exc:
            await _respond_error(req, exc.status, exc.body())
            return str(exc.status)
        except pymongo.errors.ConnectionFailure:
            log.warning("database unavailable in %s", self.endpoint.name)
            body = ErrorBody(
                title="Datenbank nicht erreichbar",
                detail="Bitte versuchen Sie es in wenigen Sekunden erneut.",
                retry_after=5,
            )
            await _respond_error(req, 503, body)
            return "503"
        except pymongo.errors.OperationFailure as exc:
            if not storage_full(exc):
                log.exception("endpoint %s failed", self.endpoint.name)
                await _respond_error(req, 500, ErrorBody(title="Interner Fehler"))
                return "500"
            # nothing was written (the database refuses the whole write); operations must act
            log.error("storage full in %s: %s", self.endpoint.name, exc)
            body = ErrorBody(
                title="Speicher voll",
                detail="Die Daten können gerade nicht gespeichert werden. Bitte versuchen Sie es später erneut.",
                retry_after=60,
            )
            await _respond_error(req, 503, body)
            return "503"
        except Exception:
            log.exception("endpoint %s failed", self.endpoint.name)
            await _respond_error(req, 500, ErrorBody(title="Interner Fehler"))
            return "500"

    async def _handle(self, data: bytes) -> Any:
        try:
            envelope = _envelope_decoder.decode(data)
        except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise errors.BadRequest("Die Anfrage ist kein gültiger Umschlag.") from exc
        if envelope.principal is None and not self.endpoint.anonymous:
            raise errors.Unauthorized("Für diese Aktion ist eine Anmeldung nötig.")
        if not self.internal and envelope.principal is not None and ROLE_SERVICE in envelope.principal.roles:
            log.warning("service principal refused on the edge subject of %s", self.endpoint.name)
            raise errors.Forbidden("Diese Kennung wird nur von Diensten angenommen.")
        try:
            payload = self.decoder.decode(envelope.data)
        except msgspec.ValidationError as exc:
            raise errors.Invalid("Die Eingaben sind ungültig.", field_errors(exc)) from exc
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
            # msgspec reports bytes that are not UTF-8 inside a string as UnicodeDecodeError,
            # and nesting deeper than it recurses as RecursionError
            raise errors.BadRequest("Die Anfrage ist kein gültiges JSON.") from exc
        return await self.endpoint.handler(envelope.principal, payload)


async def _respond_error(req: MicroRequest, status: int, body: ErrorBody) -> None:
    try:
        await req.respond_error(str(status), body.title, data=_encoder.encode(body))
    except Exception:  # the requester may be gone; nothing else to do
        log.debug("could not send error reply", exc_info=True)


class RpcServer:
    """A micro service with its endpoints; `stop()` waits for requests already running."""

    def __init__(
        self, service: Service, tasks: set[asyncio.Task[None]], endpoints: Sequence[Endpoint[Any]] = ()
    ) -> None:
        self.service = service
        self._tasks = tasks
        # what this process answers, with the request types it decodes (for tooling and the
        # wire fuzz tests, which iterate them instead of keeping a list of their own)
        self.endpoints = tuple(endpoints)

    async def stop(self, grace: float = 5.0) -> None:
        # Drain instead of micro's own stop, which only unsubscribes and so drops requests still
        # waiting in the client's queue: after the drain the server routes new requests to the
        # other instances of the queue group, and every request received here reaches its
        # handler. The `$SRV` subscriptions go the same way.
        subscriptions = [getattr(e, "_subscription", None) for e in getattr(self.service, "_endpoints", [])]
        subscriptions += list(getattr(self.service, "_subscriptions", {}).values())
        for subscription in subscriptions:
            if subscription is not None:
                try:
                    await asyncio.wait_for(subscription.drain(), timeout=grace)
                except Exception:
                    log.debug("subscription drain failed", exc_info=True)
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)


async def serve(
    nc: Client,
    names: Names,
    service: str,
    endpoints: Sequence[Endpoint[Any]],
    *,
    version: str = "0.1.0",
    description: str = "",
) -> RpcServer:
    micro = await nats.micro.add_service(
        nc,
        ServiceConfig(name=names.service_name(service), version=version, description=description),
    )
    tasks: set[asyncio.Task[None]] = set()
    for ep in endpoints:
        name = ep.name.replace(".", "_")
        await micro.add_endpoint(
            EndpointConfig(
                name=name,
                subject=names.rpc(service, ep.name),
                handler=_Handler(ep, tasks, service, internal=False),
            )
        )
        await micro.add_endpoint(
            EndpointConfig(
                name=f"{name}-internal",
                subject=names.internal_rpc(service, ep.name),
                handler=_Handler(ep, tasks, service, internal=True),
            )
        )
    return RpcServer(micro, tasks, endpoints)


class RpcClient:
    """Calls services; a service's client uses the internal subjects, the gateway's
    (`edge=True`) the edge subjects."""

    def __init__(self, nc: Client, names: Names, timeout: float = 5.0, *, edge: bool = False) -> None:
        self.nc = nc
        self.names = names
        self.timeout = timeout
        self._subject = names.rpc if edge else names.internal_rpc

    async def call(
        self,
        service: str,
        endpoint: str,
        data: msgspec.Struct | None,
        reply_type: type[Resp],
        *,
        principal: Principal | None = None,
        timeout: float | None = None,
    ) -> Resp:
        if not self.nc.is_connected:
            # nats-py would buffer the request and let it time out; say what is wrong at once
            raise errors.Unavailable("Die Verbindung zum Nachrichtenbus fehlt.", retry_after=2)
        raw = _encoder.encode(data) if data is not None else b"{}"
        payload = _encoder.encode(Request(principal=principal, data=msgspec.Raw(raw)))
        try:
            msg = await self.nc.request(
                self._subject(service, endpoint),
                payload,
                timeout=timeout or self.timeout,
                headers=telemetry.outgoing_headers() or None,
            )
        except nats.errors.NoRespondersError as exc:
            raise errors.Unavailable(
                f"Der Dienst „{service}“ ist gerade nicht erreichbar.", retry_after=2
            ) from exc
        except (TimeoutError, nats.errors.TimeoutError) as exc:
            raise errors.Timeout(f"Der Dienst „{service}“ hat nicht rechtzeitig geantwortet.") from exc
        except (nats.errors.ConnectionClosedError, nats.errors.ConnectionReconnectingError) as exc:
            raise errors.Unavailable("Die Verbindung zum Nachrichtenbus fehlt.", retry_after=2) from exc
        code = (msg.headers or {}).get(ERROR_CODE_HEADER)
        if code:
            try:
                body = _error_decoder.decode(msg.data)
            except (msgspec.ValidationError, msgspec.DecodeError):
                body = ErrorBody(title="Interner Fehler")
            status = int(code) if code.isdigit() else 500
            raise errors.from_status(status, body)
        return msgspec.json.decode(msg.data, type=reply_type)


async def ping(nc: Client, names: Names, service: str, timeout: float = 1.0) -> bool:
    """True when at least one instance of the service answers `$SRV.PING`."""
    try:
        await nc.request(f"$SRV.PING.{names.service_name(service)}", b"", timeout=timeout)
    except Exception:
        return False
    return True
