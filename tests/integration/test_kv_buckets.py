"""Buckets read on hot paths (sessions, tokens) are opened with direct gets, old ones switched
over without losing what they hold (services/runtime/kv.py)."""

from __future__ import annotations

import secrets

import pytest
from nats.js.api import KeyValueConfig
from nats.js.errors import KeyNotFoundError

from services.runtime.kv import open_direct, through_leader
from services.runtime.natsconn import connect
from tests.support.servers import Process


async def test_new_and_old_buckets_answer_direct_gets_and_keep_their_values(nats_server: Process) -> None:
    conn = await connect(f"nats://127.0.0.1:{nats_server.port}", "kv-test")
    js = conn.nc.jetstream()
    new, old = ("kv" + secrets.token_hex(4) for _ in range(2))
    try:
        made = await open_direct(js, KeyValueConfig(bucket=new, history=1))
        await made.put("a", b"1")
        assert (await js.stream_info(f"KV_{new}")).config.allow_direct
        assert (await made.get("a")).value == b"1"
        # the second opinion on a "missing" asks the leader, which has every acknowledged write
        leader = through_leader(js, new)
        assert (await leader.get("a")).value == b"1"
        with pytest.raises(KeyNotFoundError):
            await leader.get("never-written")

        # a session bucket as the gateway made it before: no direct gets, a session in it
        before = await js.create_key_value(KeyValueConfig(bucket=old, history=1, ttl=3600.0))
        await before.put("s", b"session")
        assert not (await js.stream_info(f"KV_{old}")).config.allow_direct
        switched = await open_direct(js, KeyValueConfig(bucket=old, history=1, ttl=3600.0))
        info = await js.stream_info(f"KV_{old}")
        assert info.config.allow_direct and info.config.max_age == 3600.0
        assert (await switched.get("s")).value == b"session", "still logged in after the switch"
    finally:
        for bucket in (new, old):
            await js.delete_key_value(bucket)
        await conn.close()
