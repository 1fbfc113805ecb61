"""Request/reply over NATS with the nats.micro service API.

Server side: `Endpoint`s are registered on a micro service; each request is decoded into the
endpoint's msgspec type, handled in its own task (micro would otherwise serve one request at a
time per endpoint), and answered with the reply Struct or a micro error whose code is the HTTP
status. Unexpected exceptions are logged and answered with a bare 500; no traceback leaves.

Client side: `RpcClient.call` sends the envelope and turns error replies back into
`DomainError`s; no responders becomes 503 and a timeout 504.
"""

from __future__ import annotations

import asyncio
import logging
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

from services.contracts.envelope import ErrorBody, Principal, Request
from services.contracts.names import Names
from services.runtime import errors
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


class _Handler(Generic[Req]):
    def __init__(self, endpoint: Endpoint[Req], tasks: set[asyncio.Task[None]]) -> None:
        self.endpoint = endpoint
        self.decoder = msgspec.json.Decoder(endpoint.request)
        self.tasks = tasks

    async def __call__(self, req: MicroRequest) -> None:
        task = asyncio.create_task(self._serve(req))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _serve(self, req: MicroRequest) -> None:
        try:
            reply = await self._handle(req.data)
            await req.respond(b"null" if reply is None else _encoder.encode(reply))
        except errors.DomainError as exc:
            await _respond_error(req, exc.status, exc.body())
        except pymongo.errors.ConnectionFailure:
            log.warning("database unavailable in %s", self.endpoint.name)
            body = ErrorBody(
                title="Datenbank nicht erreichbar",
                detail="Bitte versuchen Sie es in wenigen Sekunden erneut.",
                retry_after=5,
            )
            await _respond_error(req, 503, body)
        except Exception:
            log.exception("endpoint %s failed", self.endpoint.name)
            await _respond_error(req, 500, ErrorBody(title="Interner Fehler"))

    async def _handle(self, data: bytes) -> Any:
        try:
            envelope = _envelope_decoder.decode(data)
        except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise errors.BadRequest("Die Anfrage ist kein gültiger Umschlag.") from exc
        if envelope.principal is None and not self.endpoint.anonymous:
            raise errors.Unauthorized("Für diese Aktion ist eine Anmeldung nötig.")
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
        await self.service.stop()
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
        await micro.add_endpoint(
            EndpointConfig(
                name=ep.name.replace(".", "_"),
                subject=names.rpc(service, ep.name),
                handler=_Handler(ep, tasks),
            )
        )
    return RpcServer(micro, tasks, endpoints)


class RpcClient:
    def __init__(self, nc: Client, names: Names, timeout: float = 5.0) -> None:
        self.nc = nc
        self.names = names
        self.timeout = timeout

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
                self.names.rpc(service, endpoint), payload, timeout=timeout or self.timeout
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
