"""Short critical sections that hold across every instance of a service.

FerretDB has no transactions and its updates are read-modify-write, so a few steps must not
interleave: placing pilot sign-ups in order, a draft save racing the submission of the same
survey response. An asyncio lock orders the requests of one process only; `Locks` also holds a
key in a NATS KV bucket, which JetStream lets only one holder create (`create` fails while the
key exists). A holder that dies leaves its key behind until the bucket's TTL, the lease,
removes it; a critical section must be much shorter than the lease.

A caller may let a lock linger: the instance keeps the key for `linger` seconds after the
critical section, so the next section on the same name here (a draft saved, then submitted)
needs no KV write at all, while another instance waits that long at most. `Held.since` tells a
caller whether the lock was kept without a gap since it last held it: if so, nobody else can
have held it meanwhile, and what the caller wrote under it then is still what is stored.

Without a JetStream context (`Locks.local()`) only the in-process lock is taken.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import BucketNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from services.runtime.errors import Unavailable

log = logging.getLogger(__name__)

STRIPES = 256


@dataclass(frozen=True)
class Held:
    """The same `since` for every section of one unbroken holding of a lock by this instance;
    without KV (one instance only) it is always 0, as nobody else ever holds the lock."""

    since: int


@dataclass
class _Kept:
    revision: int
    taken: float  # loop time of the acquisition: the lease counts from there
    until: float  # released after this loop time unless taken up again


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
        # lingering locks by key, released by `_reaper`; taken up again only within a third of
        # the lease from their acquisition, so a section begun on them ends well before the lease
        self._kept: dict[str, _Kept] = {}
        self._reaper: asyncio.Task[None] | None = None

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
    @functools.lru_cache(maxsize=4096)  # a response's lock is asked for by each of its writes
    def key(name: str) -> str:
        """The KV key of a lock (names may hold characters KV keys may not)."""
        return hashlib.sha256(name.encode()).hexdigest()[:40]

    def _stripe(self, key: str) -> asyncio.Lock:
        return self._local[int(key[:8], 16) % STRIPES]

    @contextlib.asynccontextmanager
    async def hold(self, name: str, *, linger: float = 0.0) -> AsyncIterator[Held]:
        key = self.key(name)
        async with self._stripe(key):
            if self._kv is None:
                yield Held(0)
                return
            loop = asyncio.get_running_loop()
            kept = self._kept.pop(key, None)
            if kept is not None and loop.time() - kept.taken > self.lease / 3:
                await self._release(key, kept.revision)
                kept = None
            if kept is None:
                kept = _Kept(await self._acquire(self._kv, key), loop.time(), 0.0)
            done = False
            try:
                yield Held(kept.revision)
                done = True
            finally:
                if done and linger > 0:
                    kept.until = loop.time() + linger
                    self._kept[key] = kept
                    if self._reaper is None or self._reaper.done():
                        self._reaper = asyncio.create_task(self._reap())
                else:  # a failed section leaves nothing behind that a later one could trust
                    await self._release(key, kept.revision)

    async def _release(self, key: str, revision: int) -> None:
        assert self._kv is not None
        try:
            await self._kv.delete(key, last=revision)
        except Exception as exc:  # the lease ends it in any case
            log.warning("lock %s not released: %r", key, exc)

    async def _reap(self) -> None:
        """Release the lingering locks whose time is up, each under its stripe: a section that
        took one up meanwhile has set a new time (or released it)."""
        loop = asyncio.get_running_loop()
        while self._kept:
            await asyncio.sleep(max(0.01, min(k.until for k in self._kept.values()) - loop.time()))
            due = [(key, kept) for key, kept in self._kept.items() if kept.until <= loop.time()]
            await asyncio.gather(*(self._release_kept(key, kept) for key, kept in due))

    async def _release_kept(self, key: str, kept: _Kept) -> None:
        async with self._stripe(key):
            if self._kept.get(key) is kept and kept.until <= asyncio.get_running_loop().time():
                del self._kept[key]
                await self._release(key, kept.revision)

    async def close(self) -> None:
        """Release the lingering locks now (a graceful stop), so other instances need not wait."""
        if self._reaper is not None:
            self._reaper.cancel()
        kept, self._kept = self._kept, {}
        await asyncio.gather(*(self._release(key, k.revision) for key, k in kept.items()))

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
