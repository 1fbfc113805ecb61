"""Short critical sections that hold across every instance of a service.

FerretDB has no transactions and its updates are read-modify-write, so a few steps must not
interleave: placing pilot sign-ups in order, a draft save racing the submission of the same
survey response. An asyncio lock orders the requests of one process only; `Locks` also holds a
key in a NATS KV bucket, which JetStream lets only one holder create (`create` fails while the
key exists). A holder that dies leaves its key behind until the bucket's TTL, the lease,
removes it; a critical section must be much shorter than the lease.

Without a JetStream context (`Locks.local()`) only the in-process lock is taken.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import BucketNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from services.runtime.errors import Unavailable

log = logging.getLogger(__name__)

STRIPES = 256


class Locks:
    def __init__(
        self,
        js: JetStreamContext | None,
        bucket: str,
        *,
        lease: float = 15.0,
        wait: float = 10.0,
        replicas: int = 1,
        bridge: float = 3.0,
    ) -> None:
        self.js = js
        self.bucket = bucket
        self.lease = lease
        self.wait = wait
        self.replicas = replicas
        # how long a NATS failure (a node lost, the bucket's leader being elected) is waited out
        # before the request is answered 503; the JetStream context should time out well below it
        self.bridge = bridge
        self._kv: KeyValue | None = None
        # one process waits in line locally first, so the KV sees one contender per instance
        self._local = [asyncio.Lock() for _ in range(STRIPES)]

    @classmethod
    def local(cls) -> Locks:
        return cls(None, "")

    async def open(self) -> None:
        if self.js is None:
            return
        try:
            self._kv = await self.js.key_value(self.bucket)
        except BucketNotFoundError:
            self._kv = await self.js.create_key_value(
                KeyValueConfig(bucket=self.bucket, ttl=self.lease, history=1, replicas=self.replicas)
            )

    @staticmethod
    def key(name: str) -> str:
        """The KV key of a lock (names may hold characters KV keys may not)."""
        return hashlib.sha256(name.encode()).hexdigest()[:40]

    @contextlib.asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[None]:
        key = self.key(name)
        async with self._local[int(key[:8], 16) % STRIPES]:
            if self._kv is None:
                yield
                return
            revision = await self._acquire(self._kv, key)
            try:
                yield
            finally:
                try:
                    await self._kv.delete(key, last=revision)
                except Exception as exc:  # the lease ends it in any case
                    log.warning("lock %s not released: %r", name, exc)

    async def _acquire(self, kv: KeyValue, key: str) -> int:
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + self.wait
        pause = 0.005
        while True:
            try:
                return int(await kv.create(key, b""))
            except KeyWrongLastSequenceError:
                pass  # held by another instance
            except Exception as exc:  # NATS away, or the bucket's leader being elected
                if loop.time() - started > self.bridge:
                    log.warning("lock %s not available: %r", key, exc)
                    raise Unavailable(
                        "Bitte versuchen Sie es in wenigen Sekunden erneut.", retry_after=2
                    ) from exc
                log.info("lock %s not yet available: %r", key, exc)
                await asyncio.sleep(0.25)
                continue
            if loop.time() > deadline:
                raise Unavailable("Viele gleichzeitige Änderungen; bitte erneut versuchen.", retry_after=1)
            await asyncio.sleep(pause)
            pause = min(0.1, pause * 2)
