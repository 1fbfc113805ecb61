"""Server-side sessions in a NATS KV bucket, so any gateway instance can serve any request."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
import time

import msgspec
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from services.contracts.envelope import Principal
from services.runtime.errors import Unavailable
from services.runtime.kv import open_direct, through_leader

COOKIE = "gdst_session"
# how long a failing session store is retried before the request is answered 503
BRIDGE_SECONDS = 2.5


class Session(msgspec.Struct, kw_only=True):
    principal: Principal
    name: str
    csrf: str
    created_at: float


_decoder = msgspec.json.Decoder(Session)
_encoder = msgspec.json.Encoder()


def _key(session_id: str) -> str:
    # the bucket never holds the cookie value itself
    return hashlib.sha256(session_id.encode()).hexdigest()


def _person_prefix(person_id: str) -> str:
    # an index entry per session, `person.<hash of the person>.<session key>`, so every session
    # of a person can be ended at once (after a deletion); KV keys allow no `:` as ids may hold
    return "person." + hashlib.sha256(person_id.encode()).hexdigest()[:40]


class SessionStore:
    def __init__(self, js: JetStreamContext, bucket: str, ttl_seconds: int, replicas: int = 1) -> None:
        self.js = js
        self.bucket = bucket
        self.ttl = ttl_seconds
        self.replicas = replicas
        self._kv: KeyValue | None = None
        self._leader = through_leader(js, bucket)

    async def open(self) -> None:
        self._kv = await open_direct(
            self.js,
            KeyValueConfig(bucket=self.bucket, ttl=float(self.ttl), history=1, replicas=self.replicas),
        )

    @property
    def kv(self) -> KeyValue:
        if self._kv is None:
            raise RuntimeError("session store not opened")
        return self._kv

    async def create(self, principal: Principal, name: str) -> tuple[str, Session]:
        session_id = secrets.token_urlsafe(32)
        session = Session(
            principal=principal, name=name, csrf=secrets.token_urlsafe(24), created_at=time.time()
        )
        try:
            await self.kv.put(_key(session_id), _encoder.encode(session))
            await self.kv.put(f"{_person_prefix(principal.person_id)}.{_key(session_id)}", b"1")
        except Exception as exc:  # NATS away or the bucket's leader being elected (cluster)
            raise _unavailable() from exc
        return session_id, session

    async def get(self, session_id: str) -> Session | None:
        if not session_id or len(session_id) > 100:
            return None
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            try:
                try:
                    entry = await self.kv.get(_key(session_id), validate_keys=False)  # hex, always valid
                except KeyNotFoundError:
                    # a replica behind may not have a session made a moment ago: the leader has
                    # it (only unknown, ended and expired sessions take this second read)
                    entry = await self._leader.get(_key(session_id), validate_keys=False)
                break
            except KeyNotFoundError:
                return None
            except Exception as exc:
                # not "logged out": the store cannot answer right now. A NATS node lost in a
                # cluster costs a leader election of a few seconds; wait part of it out
                if loop.time() - started > BRIDGE_SECONDS:
                    raise _unavailable() from exc
                await asyncio.sleep(0.25)
        if entry.value is None:
            return None
        try:
            return _decoder.decode(entry.value)
        except (msgspec.ValidationError, msgspec.DecodeError):
            return None

    async def delete(self, session_id: str) -> None:
        try:
            with contextlib.suppress(KeyNotFoundError):
                await self.kv.delete(_key(session_id))
        except Exception as exc:
            raise _unavailable() from exc

    async def end_all_of(self, person_id: str) -> int:
        """End every session of a person (their account was deleted); returns how many."""
        prefix = _person_prefix(person_id)
        watcher = await self.kv.watch(f"{prefix}.>", ignore_deletes=True, meta_only=True)
        keys: list[str] = []
        try:
            async for entry in watcher:
                if entry is None:  # no more entries stored right now
                    break
                keys.append(entry.key)
        finally:
            await watcher.stop()  # type: ignore[no-untyped-call]
        for key in keys:
            with contextlib.suppress(KeyNotFoundError):
                await self.kv.delete(key.rsplit(".", 1)[1])
            with contextlib.suppress(KeyNotFoundError):
                await self.kv.delete(key)
        return len(keys)


def _unavailable() -> Unavailable:
    return Unavailable("Die Sitzungen sind gerade nicht erreichbar.", retry_after=2)
