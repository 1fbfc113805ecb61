"""Cross-instance locks (services/runtime/locks.py): two processes' lock objects on one bucket
never let their critical sections overlap; a holder that died is overtaken after the lease."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from services.runtime.errors import Unavailable
from services.runtime.locks import Locks
from services.runtime.natsconn import connect
from tests.support.servers import Process


async def test_two_instances_never_overlap_and_a_dead_holder_expires(nats_server: Process) -> None:
    conn = await connect(f"nats://127.0.0.1:{nats_server.port}", "locks-test")
    bucket = "l" + secrets.token_hex(5)
    js = conn.nc.jetstream()
    try:
        # two instances: separate objects, so only the KV bucket keeps them apart
        first, second = (Locks(js, bucket, lease=2.0, wait=10.0) for _ in range(2))
        await first.open()
        await second.open()
        inside: list[str] = []
        overlaps = 0

        async def work(locks: Locks, who: str) -> None:
            nonlocal overlaps
            async with locks.hold("pilot:p1"):
                inside.append(who)
                overlaps += len(inside) > 1
                await asyncio.sleep(0.01)
                inside.remove(who)

        await asyncio.gather(*(work(first if i % 2 else second, f"w{i}") for i in range(20)))
        assert overlaps == 0
        # a holder that never releases (a crashed instance): the other waits for the lease only
        kv = await js.key_value(bucket)
        stuck = Locks(js, bucket, lease=2.0, wait=0.3)
        await stuck.open()
        async with first.hold("pilot:p2"):
            with pytest.raises(Unavailable):
                async with stuck.hold("pilot:p2"):
                    pass
        await kv.put(Locks.key("pilot:p2"), b"")  # taken and never given back
        later = Locks(js, bucket, lease=2.0, wait=10.0)
        await later.open()
        async with later.hold("pilot:p2"):
            pass
    finally:
        await js.delete_stream(f"KV_{bucket}")
        await conn.close()


async def test_a_lingering_lock_is_kept_for_its_holder_and_given_up_for_others(nats_server: Process) -> None:
    """A lock held with `linger` stays with its instance: the next section there is the same
    holding (same `since`, which the surveys service trusts to skip a read), another instance
    gets it only after the linger, and then the first one's next holding is a new one."""
    conn = await connect(f"nats://127.0.0.1:{nats_server.port}", "locks-test")
    bucket = "l" + secrets.token_hex(5)
    js = conn.nc.jetstream()
    try:
        first, second = (Locks(js, bucket, lease=30.0, wait=10.0) for _ in range(2))
        impatient = Locks(js, bucket, lease=30.0, wait=0.3)
        for locks in (first, second, impatient):
            await locks.open()
        async with first.hold("response:r1", linger=0.5) as one:
            pass
        async with first.hold("response:r1", linger=3.0) as again:
            pass
        assert again.since == one.since
        # kept by the first instance: one that waits only briefly does not get it
        with pytest.raises(Unavailable):
            async with impatient.hold("response:r1"):
                pass
        async with second.hold("response:r1", linger=30.0) as other:
            assert other.since != one.since
        # the second keeps it now (30 s); a graceful stop gives it up at once
        await second.close()
        async with first.hold("response:r1", linger=0.5) as later:
            pass
        assert later.since not in (one.since, other.since)

        # a section that fails keeps nothing: the next holder gets the lock at once
        with pytest.raises(RuntimeError):
            async with first.hold("response:r2", linger=30.0):
                raise RuntimeError("write failed")
        async with impatient.hold("response:r2"):
            pass

        # never kept beyond a third of the lease from the acquisition: then taken anew
        short = Locks(js, bucket, lease=0.6, wait=10.0)
        await short.open()
        async with short.hold("response:r3", linger=5.0) as taken:
            pass
        await asyncio.sleep(0.3)
        async with short.hold("response:r3", linger=5.0) as renewed:
            pass
        assert renewed.since != taken.since
        await short.close()
        await first.close()
    finally:
        await js.delete_stream(f"KV_{bucket}")
        await conn.close()
