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
import time

import msgspec

from services.contracts.envelope import Principal


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


class TokenCache:
    def __init__(self, ttl: float = 30.0, max_entries: int = 20_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        # key: hash of the token, so the memory holds no usable token
        self._entries: dict[str, tuple[float, Principal]] = {}

    @staticmethod
    def _key(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def get(self, token: str) -> Principal | None:
        key = self._key(token)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if time.monotonic() >= entry[0]:
            self._entries.pop(key, None)
            return None
        return entry[1]

    def put(self, token: str, principal: Principal) -> None:
        if len(self._entries) >= self.max_entries:
            now = time.monotonic()
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
        self._entries[self._key(token)] = (time.monotonic() + self.ttl, principal)

    def forget_person(self, person_id: str) -> int:
        keys = [k for k, (_, p) in self._entries.items() if p.person_id == person_id]
        for key in keys:
            del self._entries[key]
        return len(keys)
