"""The token bucket (services/contracts/directory.py): bearer tokens' principals in NATS KV,
so a gateway resolves a token it has not seen with one read from NATS. Before, each such token
cost a call to the directory and a database read, a quarter of the platform's CPU for a ballot
of a voter whose token was new to the gateway (docs/performance.md #49).

The database stays the record. A token goes into the bucket after it is stored; a failed put
only costs the gateways the call to the directory. It leaves the bucket before it leaves the
database, and a failed removal stops the revocation (503), so the bucket never holds a token
the database no longer has.
"""

from __future__ import annotations

import contextlib
import logging

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from services.contracts.directory import token_entry_encoder
from services.contracts.envelope import Principal
from services.runtime.errors import Unavailable
from services.runtime.kv import open_direct

log = logging.getLogger(__name__)


class TokenIndex:
    def __init__(self, js: JetStreamContext, bucket: str, replicas: int = 1) -> None:
        self.js = js
        self.bucket = bucket
        self.replicas = replicas
        self._kv: KeyValue | None = None

    async def open(self) -> None:
        self._kv = await open_direct(
            self.js, KeyValueConfig(bucket=self.bucket, history=1, replicas=self.replicas)
        )

    @property
    def kv(self) -> KeyValue:
        if self._kv is None:
            raise RuntimeError("token index not opened")
        return self._kv

    async def put(self, key: str, principal: Principal) -> None:
        try:
            await self.kv.put(key, token_entry_encoder.encode(principal))
        except Exception as exc:  # the token works all the same, through the directory
            log.warning("token not put into the token bucket: %r", exc)

    async def remove(self, keys: list[str]) -> None:
        """Take tokens out; raises `Unavailable` if that failed, before anything else changed."""
        try:
            for key in keys:
                with contextlib.suppress(KeyNotFoundError):
                    await self.kv.delete(key)
        except Exception as exc:
            raise Unavailable("Der Zugangsschlüssel kann gerade nicht entzogen werden.") from exc
