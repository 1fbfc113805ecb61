"""Bearer tokens remembered for a short while, and looked up in the token bucket first.

Every API request with a bearer token used to ask the directory, which read the token and the
person from the database: two reads and a NATS round trip per request, the largest share of the
database's work when voters cast ballots (docs/performance.md, change #17). A token's principal
changes only when the token is revoked or the person deleted; both go through a gateway, which
forgets the person's entries at once and tells the other gateways on a core NATS subject. If that
message is lost (NATS away at that moment), an entry still expires after `ttl` seconds. A token
not remembered is looked up in this gateway's copy of the token bucket the directory keeps in
NATS KV (#54), else read from the bucket (#49), and only when it is not there from the directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import msgspec
import nats.errors
from nats.js import JetStreamContext
from nats.js.kv import KeyValue

from services.contracts.directory import token_entry_decoder, token_key
from services.contracts.envelope import Principal
from services.runtime.lifecycle import cancel
from services.runtime.recent import Recent

log = logging.getLogger(__name__)


class Forget(msgspec.Struct, frozen=True):
    """Broadcast between gateways: drop what you remember of this person."""

    person_id: str


_forget_encoder = msgspec.json.Encoder()
_forget_decoder = msgspec.json.Decoder(Forget)


def encode_forget(person_id: str) -> bytes:
    return _forget_encoder.encode(Forget(person_id))


def decode_forget(data: bytes) -> str | None:
    try:
        return _forget_decoder.decode(data).person_id
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None


class TokenCache(Recent[str, Principal]):
    """Keyed by the token, held under its hash (`token_key`), so the memory holds no usable token."""

    def __init__(self, ttl: float = 30.0, max_entries: int = 20_000) -> None:
        super().__init__(ttl, max_entries)

    def get(self, token: str) -> Principal | None:
        return super().get(token_key(token))

    def put(self, token: str, principal: Principal) -> None:
        super().put(token_key(token), principal)

    def forget_person(self, person_id: str) -> int:
        keys = [k for k, (_, p) in self._entries.items() if p.person_id == person_id]
        for key in keys:
            super().drop(key)
        return len(keys)


class TokenReplica:
    """Every entry of the token bucket in memory, kept current by watching the bucket: a voter's
    first ballot needs no read from NATS for the token (a request and its answer through
    nats-server, ~7 % of a ballot's CPU on the bench machine).

    It answers only while it is known to be current. Every `check_every` seconds the bucket's
    last revision is read, and the copy must reach it within that time; otherwise it answers
    nothing (lookups go to the bucket and the directory, as without it) and the watch starts
    again. So a revoked token stays usable here no longer than the watch takes to deliver its
    removal, and at worst about two intervals, where the remembered tokens (`TokenCache`) allow
    their `ttl`. A miss is never an answer: a token made a moment ago may not be here yet."""

    def __init__(self, js: JetStreamContext, bucket: str, check_every: float = 5.0) -> None:
        self.js = js
        self.bucket = bucket
        self.check_every = check_every
        self._entries: dict[str, Principal] = {}
        self._revision = 0
        self._current_until = float("-inf")
        self._restart = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def current(self) -> bool:
        return time.monotonic() < self._current_until

    def get(self, key: str) -> Principal | None:
        return self._entries.get(key) if self.current else None

    def forget_person(self, person_id: str) -> None:
        for key in [k for k, p in self._entries.items() if p.person_id == person_id]:
            del self._entries[key]

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="token-replica")

    async def stop(self) -> None:
        await cancel(self._task)

    async def _run(self) -> None:
        while True:
            self._current_until = float("-inf")
            self._restart.clear()
            watch = asyncio.create_task(self._watch(), name="token-replica-watch")
            try:
                while not self._restart.is_set() and not watch.done():
                    await self._check()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._restart.wait(), self.check_every)
            except Exception as exc:  # NATS away or the bucket not there yet: try again
                log.debug("token replica not current: %r", exc)
            finally:
                await cancel(watch)
                if watch.done() and not watch.cancelled() and watch.exception() is not None:
                    log.debug("token replica's watch ended: %r", watch.exception())
            self._current_until = float("-inf")
            await asyncio.sleep(self.check_every / 5)

    async def _watch(self) -> None:
        kv = await self.js.key_value(self.bucket)
        watcher = await kv.watchall()
        entries: dict[str, Principal] = {}
        self._entries, self._revision = entries, 0
        try:
            while True:
                try:
                    entry = await watcher.updates(timeout=60.0)  # type: ignore[no-untyped-call]
                except nats.errors.TimeoutError:
                    continue
                if entry is not None:  # None: the values held when the watch began are all in
                    self._apply(entries, entry)
        finally:
            self._entries = {}
            with contextlib.suppress(Exception):
                await watcher.stop()  # type: ignore[no-untyped-call]

    def _apply(self, entries: dict[str, Principal], entry: KeyValue.Entry) -> None:
        self._revision = max(self._revision, entry.revision or 0)
        if entry.operation in ("DEL", "PURGE") or not entry.value:
            entries.pop(entry.key, None)
            return
        try:
            entries[entry.key] = token_entry_decoder.decode(entry.value)
        except (msgspec.ValidationError, msgspec.DecodeError):
            entries.pop(entry.key, None)

    async def _check(self) -> None:
        """Current when everything the bucket held at the start of the check has arrived."""
        started = time.monotonic()
        state = (await self.js.stream_info(f"KV_{self.bucket}")).state
        target = state.last_seq
        while state.messages and self._revision < target:
            if time.monotonic() - started > self.check_every:
                log.warning(
                    "token replica behind the bucket (%s of %s): watching again", self._revision, target
                )
                self._restart.set()
                return
            await asyncio.sleep(0.02)
        self._current_until = started + 2 * self.check_every


class TokenBucketReader:
    """The gateway's side of the token bucket (services/contracts/directory.py): a token this
    gateway has not seen is looked up in its copy of the bucket (`TokenReplica`), else read from
    the bucket, one request to NATS, before the directory is asked. Anything but a clean hit (no
    bucket yet, no entry, NATS busy) leaves it to the directory."""

    def __init__(self, js: JetStreamContext, bucket: str, replica: TokenReplica) -> None:
        self.js = js
        self.bucket = bucket
        self.replica = replica
        self._kv: KeyValue | None = None

    async def get(self, key: str) -> Principal | None:
        held = self.replica.get(key)
        if held is not None:
            return held
        try:
            if self._kv is None:
                self._kv = await self.js.key_value(self.bucket)
            # a SHA-256 in hex is always a valid key: the check's regular expression is skipped
            entry = await self._kv.get(key, validate_keys=False)
        except Exception:  # missing, deleted, or not answerable now: the directory decides
            return None
        if not entry.value:
            return None
        try:
            return token_entry_decoder.decode(entry.value)
        except (msgspec.ValidationError, msgspec.DecodeError):
            return None

    def forget_person(self, person_id: str) -> None:
        self.replica.forget_person(person_id)
