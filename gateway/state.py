"""What the gateway holds for its lifetime: settings, NATS connection, RPC client, sessions."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from gateway.principals import TokenBucketReader, TokenCache
from gateway.sessions import SessionStore
from services.runtime.natsconn import Connection
from services.runtime.rpc import RpcClient
from services.runtime.settings import Settings


@dataclass
class Gateway:
    settings: Settings
    conn: Connection
    rpc: RpcClient
    sessions: SessionStore
    required_services: tuple[str, ...]
    token_bucket: TokenBucketReader
    tokens: TokenCache = field(default_factory=TokenCache)
    # set on SIGTERM: long-lived responses (live result streams) end so the shutdown is quick
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def forget_person(self, person_id: str) -> None:
        """This gateway's memory of the person's tokens: the remembered ones and its copy of
        the token bucket (the bucket itself is the directory's)."""
        self.tokens.forget_person(person_id)
        self.token_bucket.forget_person(person_id)
