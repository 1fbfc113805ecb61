"""A consumer that lets its events settle (services/runtime/consumer.py, `settle`), as the
notification service's digest consumer does: the events of a burst are handled only once the
newest of a fetched batch is `settle` old, every one of them exactly once."""

from __future__ import annotations

import asyncio
import secrets
import time

from services.contracts.envelope import Event
from services.contracts.needs import EVENT_NEED_SUPPORTED, NeedSupported
from services.runtime import mongo, natsauth
from services.runtime.consumer import EventConsumer
from services.runtime.events import encode_event, ensure_stream, outbox_entry
from services.runtime.natsconn import connect
from services.runtime.settings import Settings

SETTLE = 0.5


async def test_a_burst_is_handled_after_it_has_settled_and_nothing_is_lost(settings: Settings) -> None:
    conn = await connect(settings.nats_url, "settle-test", settings.nats_credentials(natsauth.OPS))
    client = mongo.client(settings.mongodb_url)
    js = conn.nc.jetstream()
    names = settings.names
    consumer: EventConsumer | None = None
    try:
        await ensure_stream(js, names)
        handled: dict[str, float] = {}
        twice: list[str] = []
        all_in = asyncio.Event()

        async def handler(event: Event) -> None:
            if event.id in handled:
                twice.append(event.id)
            handled[event.id] = time.time()
            if len(handled) == 12:
                all_in.set()

        consumer = EventConsumer(
            js,
            names,
            durable="settle-" + secrets.token_hex(3),
            event_types=[EVENT_NEED_SUPPORTED],
            handler=handler,
            processed=client[names.database("notifications")]["processed_events"],
            batch=5,
            parallel=4,
            settle=SETTLE,
        )
        await consumer.start()
        stored: dict[str, float] = {}
        for i in range(12):  # a burst of supports, stored one after the other
            entry = outbox_entry(
                EVENT_NEED_SUPPORTED,
                NeedSupported(
                    need_id="n1", organisation_id=f"o{i}", reporting_organisation_id="o0", by=f"p{i}"
                ),
            )
            ack = await js.publish(names.event_subject(EVENT_NEED_SUPPORTED), encode_event(entry, "/test"))
            stored[entry["id"]] = time.time()
            assert ack.seq > 0
        await asyncio.wait_for(all_in.wait(), timeout=20)
        await asyncio.sleep(0.3)  # a second delivery of any of them would come now

        assert set(handled) == set(stored) and not twice
        # each waited for its batch's newest event to settle, so for itself too (a little slack
        # for the two clocks: the stored time comes from nats-server)
        assert all(handled[i] - stored[i] >= SETTLE - 0.05 for i in stored)
    finally:
        if consumer is not None:
            await consumer.stop()
        await client.close()
        await conn.close()
