"""Bearer tokens remembered for a short while.

Every API request with a bearer token used to ask the directory, which read the token and the
person from the database: two reads and a NATS round trip per request, the largest share of the
database's work when voters cast ballots (docs/performance.md, change #17). A token's principal
changes only when the token is revoked or the person deleted; both go through a gateway, which
forgets the person's entries at once and tells the other gateways on a core NATS subject. If that
message is lost (NATS away at that moment), an entry still expires after `ttl` seconds.
"""

from __future__ import annotations

import hashlib

import msgspec

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
    """Keyed by the token, held under its hash, so the memory holds no usable token."""

    def __init__(self, ttl: float = 30.0, max_entries: int = 20_000) -> None:
        super().__init__(ttl, max_entries)

    @staticmethod
    def _key(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def get(self, token: str) -> Principal | None:
        return super().get(self._key(token))

    def put(self, token: str, principal: Principal) -> None:
        super().put(self._key(token), principal)

    def forget_person(self, person_id: str) -> int:
        keys = [k for k, (_, p) in self._entries.items() if p.person_id == person_id]
        for key in keys:
            super().drop(key)
        return len(keys)
