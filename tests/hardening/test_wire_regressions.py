"""Regressions for what the wire fuzzing found.

- Bytes that are not UTF-8 inside a JSON string make msgspec raise `UnicodeDecodeError`, not
  `DecodeError`: an endpoint answered 500 instead of 400, and the same bytes in an event's
  envelope ended a consumer's loop.
- Nesting deeper than msgspec recurses raises `RecursionError`: the same 500 and dead consumer.
- An event whose `data` is `null` or a list was retried twenty times with backoff by the
  notifications fan-out (AttributeError) instead of being parked at once.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from nats.micro.request import ERROR_CODE_HEADER

from services.contracts import directory as d
from tests.conftest import Stack
from tests.hardening.support import wire_client
from tests.support.wire import DEEP

pytestmark = pytest.mark.hardening

NOT_UTF8 = b"\xb4\xff"


async def test_request_with_bytes_that_are_not_utf8_is_a_bad_request(stack: Stack) -> None:
    async with wire_client(stack) as conn:
        await _bad_requests(stack, conn.nc)


async def _bad_requests(stack: Stack, nc: Any) -> None:
    # logging in needs no principal, so the data is decoded
    subject = stack.settings.names.rpc("directory", d.Endpoints.AUTHENTICATE)
    body = b'{"data":{"email":"a' + NOT_UTF8 + b'","password":"x"}}'
    reply = await nc.request(subject, body, timeout=20)
    assert (reply.headers or {}).get(ERROR_CODE_HEADER) == "400"
    # the same inside the envelope itself
    reply = await nc.request(subject, b'{"principal":{"person_id":"' + NOT_UTF8 + b'"}}', timeout=20)
    assert (reply.headers or {}).get(ERROR_CODE_HEADER) == "400"
    # nesting deeper than the decoder recurses, in the data and in the envelope
    for body in (b'{"data":' + DEEP + b"}", DEEP):
        reply = await nc.request(subject, body, timeout=20)
        assert (reply.headers or {}).get(ERROR_CODE_HEADER) == "400"


async def _parked(stack: Stack, key_part: str) -> list[dict[str, object]]:
    processed = stack.processes["notifications"].db["processed_events"]
    for _ in range(300):
        docs = [d async for d in processed.find({"parked": True})]
        hits = [d for d in docs if key_part in str(d["_id"])]
        if hits:
            return hits
        await asyncio.sleep(0.1)
    return []


async def test_event_with_bytes_that_are_not_utf8_is_parked_and_the_consumer_goes_on(stack: Stack) -> None:
    async with wire_client(stack) as conn:
        await _bad_event(stack, conn.nc.jetstream(timeout=10.0))


async def _bad_event(stack: Stack, js: Any) -> None:
    names = stack.settings.names
    subject = names.event_subject("need.supported")
    raw = (
        b'{"id":"x' + NOT_UTF8 + b'","source":"/fuzz","type":"need.supported","time":"2026-01-01T00:00:00Z"}'
    )
    ack = await js.publish(subject, raw, headers={"Nats-Msg-Id": uuid.uuid4().hex})
    assert await _parked(stack, f"seq:{ack.seq}")
    deep = await js.publish(subject, DEEP, headers={"Nats-Msg-Id": uuid.uuid4().hex})
    assert await _parked(stack, f"seq:{deep.seq}")
    consumers = stack.processes["notifications"].consumers
    assert all(c._task is not None and not c._task.done() for c in consumers)


@pytest.mark.parametrize("data", [b"null", b"[1, 2]"])
async def test_event_whose_data_is_not_an_object_is_parked_at_once(stack: Stack, data: bytes) -> None:
    event_id = uuid.uuid4().hex
    raw = (
        b'{"id":"'
        + event_id.encode()
        + b'","source":"/fuzz","type":"need.supported","time":"'
        + datetime.now(UTC).isoformat().encode()
        + b'","data":'
        + data
        + b"}"
    )
    async with wire_client(stack) as conn:
        await conn.nc.jetstream(timeout=10.0).publish(
            stack.settings.names.event_subject("need.supported"), raw, headers={"Nats-Msg-Id": event_id}
        )
    parked = await _parked(stack, event_id)
    assert parked and "unbrauchbare Daten" in str(parked[0]["reason"])
