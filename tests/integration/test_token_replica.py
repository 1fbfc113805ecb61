"""The gateway's copy of the token bucket (gateway/principals.py, TokenReplica) on a real NATS
server: it holds what the bucket holds, loses a revoked token within moments, and stops
answering when it stops hearing from the bucket."""

from __future__ import annotations

import asyncio
import secrets
import time

from nats.js.api import KeyValueConfig
from nats.js.kv import KeyValue

from gateway.principals import TokenReplica
from services.contracts.directory import token_entry_encoder
from services.contracts.envelope import Principal
from services.runtime.natsconn import connect
from tests.support.servers import Process


def principal(person: str) -> Principal:
    return Principal(person_id=person, organisation_id="15003", roles=("member",))


async def until(check: object, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.02)
    return False


class Frozen(TokenReplica):
    """A replica whose watch, once frozen, delivers nothing more (as a stalled one would)."""

    frozen = False

    def _apply(self, entries: dict[str, Principal], entry: KeyValue.Entry) -> None:
        if not self.frozen:
            super()._apply(entries, entry)


async def test_the_copy_follows_the_bucket_and_stops_answering_when_it_falls_behind(
    nats_server: Process,
) -> None:
    conn = await connect(f"nats://127.0.0.1:{nats_server.port}", "replica-test")
    js = conn.nc.jetstream()
    name = "tokens" + secrets.token_hex(4)
    bucket = await js.create_key_value(KeyValueConfig(bucket=name, history=1))
    replica = Frozen(js, name, check_every=0.3)
    try:
        await bucket.put("a" * 64, token_entry_encoder.encode(principal("anna")))
        await bucket.put("b" * 64, token_entry_encoder.encode(principal("bert")))
        replica.start()
        assert await until(lambda: replica.get("a" * 64) is not None), "the tokens held before the start"
        assert replica.get("b" * 64) == principal("bert")

        await bucket.put("c" * 64, token_entry_encoder.encode(principal("cleo")))
        assert await until(lambda: replica.get("c" * 64) == principal("cleo")), "a token made afterwards"
        await bucket.delete("a" * 64)
        assert await until(lambda: replica.get("a" * 64) is None), "a revoked token is gone at once"

        replica.forget_person("bert")
        assert replica.get("b" * 64) is None, "a person's tokens are dropped when the gateways are told"

        # the watch stops delivering: while the bucket stays as it is, the copy is current
        replica.frozen = True
        await asyncio.sleep(3 * 0.3)
        assert replica.get("c" * 64) == principal("cleo")
        # once the bucket moves on without it, the copy answers nothing
        await bucket.delete("c" * 64)
        assert await until(lambda: replica.get("c" * 64) is None, seconds=3 * 0.3 + 1), (
            "a copy that falls behind the bucket is no longer believed"
        )
        assert not replica.current
    finally:
        await replica.stop()
        await js.delete_key_value(name)
        await conn.close()
