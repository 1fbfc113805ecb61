"""Bearer tokens remembered for a short while, and looked up in the token bucket first.

Every API request with a bearer token used to ask the directory, which read the token and the
person from the database: two reads and a NATS round trip per request, the largest share of the
database's work when voters cast ballots (docs/performance.md, change #17). A token's principal
changes only when the token is revoked or the person deleted; both go through a gateway, which
forgets the person's entries at once and tells the other gateways on a core NATS subject. If that
message is lost (NATS away at that moment), an entry still expires after `ttl` seconds. A token
not remembered is read from the token bucket the directory keeps in NATS KV (#49), and only
when it is not there from the directory.
"""

from __future__ import annotations

import msgspec
from nats.js import JetStreamContext
from nats.js.kv import KeyValue

from services.contracts.directory import token_entry_decoder, token_key
from services.contracts.envelope import Principal
from services.runtime.recent import Recent


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


class TokenBucketReader:
    """The gateway's side of the token bucket (services/contracts/directory.py): a token this
    gateway has not seen is looked up there, one read from NATS, before the directory is asked.
    Anything but a clean hit (no bucket yet, no entry, NATS busy) leaves it to the directory."""

    def __init__(self, js: JetStreamContext, bucket: str) -> None:
        self.js = js
        self.bucket = bucket
        self._kv: KeyValue | None = None

    async def get(self, key: str) -> Principal | None:
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
