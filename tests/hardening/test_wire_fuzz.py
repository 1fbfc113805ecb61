"""Hostile messages on the wire, sent over real NATS to the running services.

Every endpoint every service process registers gets random bytes, random JSON and valid and
mutated requests of its own type (as member, as ministry, and without a principal): the answer
is a result or a 4xx error, never a 5xx or silence, and the service answers afterwards. Every
consumer gets undecodable events and events whose data does not fit their type: it parks or
terminates them and keeps consuming.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import hypothesis
import msgspec
import nats.js.errors
import pytest
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from nats.micro.request import ERROR_CODE_HEADER

from services.contracts.envelope import Event, Principal
from services.runtime.consumer import EventConsumer
from services.runtime.rpc import Endpoint
from tests.conftest import MINISTRY, Stack
from tests.hardening.support import MEMBER, seed, wire_client
from tests.support.wire import DEEP, hostile, json_values, mutated

pytestmark = pytest.mark.hardening

MESSAGES_PER_ENDPOINT = 12
EVENTS_PER_CONSUMER = 12
MUTATIONS_PER_EVENT = 6
_encoder = msgspec.json.Encoder()
_event_decoder = msgspec.json.Decoder(Event)


def _examples(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """Draw `count` examples with hypothesis's generator (not `.example()`, meant for shells)."""
    drawn: list[Any] = []

    @given(strategy)
    @hypothesis.settings(
        max_examples=count,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    def collect(value: Any) -> None:
        drawn.append(value)

    collect()
    return drawn


def _requests(endpoint: Endpoint[Any], principals: list[Principal | None]) -> st.SearchStrategy[bytes]:
    def envelope(principal: Principal | None, data: bytes) -> bytes:
        head = b'{"principal":' + _encoder.encode(principal) + b',"data":'
        return head + data + b"}"

    return st.one_of(
        st.binary(max_size=300),  # not even an envelope
        json_values().map(_encoder.encode),
        st.builds(envelope, st.sampled_from(principals), hostile(endpoint.request)),
    )


async def _principal(stack: Stack, email: str) -> Principal:
    client = await stack.login(email)
    me = (await client.get("/api/v1/me")).json()
    await client.aclose()
    return Principal(person_id=me["id"], organisation_id=me["organisation"]["id"], roles=tuple(me["roles"]))


async def test_every_endpoint_answers_hostile_requests_with_4xx_and_keeps_serving(
    stack: Stack, figures: Any
) -> None:
    principals: list[Principal | None] = [
        await _principal(stack, MEMBER),
        await _principal(stack, MINISTRY),
        None,
    ]
    async with wire_client(stack) as conn:
        await _send_hostile_requests(stack, conn.nc, principals, figures)


async def _send_hostile_requests(
    stack: Stack, nc: Any, principals: list[Principal | None], figures: Any
) -> None:
    names = stack.settings.names
    outcomes: Counter[str] = Counter()
    crashes: list[str] = []
    endpoints = 0
    started = time.monotonic()
    for service, proc in stack.processes.items():
        assert proc.rpc is not None
        for endpoint in proc.rpc.endpoints:
            endpoints += 1
            subject = names.rpc(service, endpoint.name)
            messages = await asyncio.to_thread(
                _examples, _requests(endpoint, principals), MESSAGES_PER_ENDPOINT
            )
            for message in messages:
                try:
                    reply = await nc.request(subject, message, timeout=20)
                except Exception as exc:  # no answer at all is a crash for the caller
                    crashes.append(f"{service}.{endpoint.name}: {exc!r} for {message[:120]!r}")
                    outcomes["no answer"] += 1
                    continue
                code = (reply.headers or {}).get(ERROR_CODE_HEADER)
                outcomes[code or "ok"] += 1
                if code and not ("400" <= code < "500"):
                    crashes.append(f"{service}.{endpoint.name}: {code} for {message[:160]!r}")
            # still serving: its health endpoint answers
            health = await nc.request(names.rpc(service, "health"), _encoder.encode({"data": {}}), timeout=20)
            assert not (health.headers or {}).get(ERROR_CODE_HEADER), f"{service} unhealthy"
    sent = sum(outcomes.values())
    figures.record("wire fuzzing", "endpoints covered", endpoints)
    figures.record("wire fuzzing", "requests sent over NATS", sent)
    figures.record("wire fuzzing", "5xx or no answer", len(crashes))
    figures.record("wire fuzzing", "request seconds", round(time.monotonic() - started, 1))
    print(dict(outcomes))
    assert endpoints > 40 and sent >= endpoints * MESSAGES_PER_ENDPOINT * 0.9
    assert not crashes, "\n".join(crashes[:40])


def _consumers(stack: Stack) -> list[tuple[str, EventConsumer]]:
    return [(service, c) for service, proc in stack.processes.items() for c in proc.consumers]


def _concrete(subject: str) -> str:
    # a consumer of every event (">") gets them on a subject no one else listens to
    return subject.replace(">", "fuzz.unknown").replace("*", "fuzz")


def _garbage_events(subject_type: str) -> st.SearchStrategy[bytes]:
    def event(data: bytes, dataversion: str) -> bytes:
        envelope = {
            "id": uuid.uuid4().hex,
            "source": "/fuzz",
            "type": subject_type,
            "time": datetime.now(UTC).isoformat(),
            "dataversion": dataversion,
        }
        raw = _encoder.encode(envelope)
        return raw[:-1] + b',"data":' + data + b"}"

    return st.one_of(
        st.binary(max_size=200),
        st.just(DEEP),
        json_values().map(_encoder.encode),
        st.builds(
            event,
            st.one_of(json_values().map(_encoder.encode), st.just(b"null"), st.just(b"[]"), st.just(DEEP)),
            st.sampled_from(["1", "2", "99"]),
        ),
    )


async def test_consumers_park_or_terminate_garbage_events_and_keep_consuming(
    stack: Stack, figures: Any
) -> None:
    async with wire_client(stack) as conn:
        await _publish_garbage_events(stack, conn.nc.jetstream(timeout=10.0), figures)


async def _publish_garbage_events(stack: Stack, js: Any, figures: Any) -> None:
    names = stack.settings.names
    # a subscription to everything, so the webhook consumer does real work on the garbage too
    await seed(stack, webhook=False)
    ministry = await stack.login(MINISTRY)
    hook = await ministry.post(
        "/api/v1/webhooks", json={"url": "https://hooks.example/all", "event_types": ["*"]}
    )
    assert hook.status_code == 201, hook.text
    await ministry.aclose()
    expected: dict[str, list[tuple[EventConsumer, str]]] = {}
    sent = 0

    async def publish(subject: str, raw: bytes) -> None:
        nonlocal sent
        ack = await js.publish(subject, raw, headers={"Nats-Msg-Id": uuid.uuid4().hex})
        sent += 1
        try:
            event: Event | None = _event_decoder.decode(raw)
        except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            event = None
        event_id = event.id if event else None
        # every consumer whose filter matches gets it, not only the one aimed at
        for service, consumer in _consumers(stack):
            if any(_matches(f, subject) for f in consumer.subjects):
                if event and consumer.wants is not None and not await consumer.wants(event):
                    continue  # acknowledged unread and unrecorded, by design (a ballot at webhooks)
                key = f"{consumer.durable}:{event_id}" if event_id else f"{consumer.durable}:seq:{ack.seq}"
                expected.setdefault(service, []).append((consumer, key))

    for _, consumer in _consumers(stack):
        for pattern in consumer.subjects:
            subject = _concrete(pattern)
            event_type = subject.removeprefix(f"{names.namespace}.events.")
            for raw in await asyncio.to_thread(_examples, _garbage_events(event_type), EVENTS_PER_CONSUMER):
                await publish(subject, raw)
    # real events of every type the platform emitted while the seed ran, with their data spoilt
    real = await _real_events(stack, js)
    for subject, event in real.items():
        data = msgspec.json.decode(event.data)
        for spoilt in await asyncio.to_thread(_examples, mutated(data), MUTATIONS_PER_EVENT):
            copy = msgspec.structs.replace(event, id=uuid.uuid4().hex, data=msgspec.Raw(spoilt))
            await publish(subject, _encoder.encode(copy))
    # each event ends recorded: parked (undecodable or unusable) or handled; none is retried
    # forever, none kills the consumer
    missing: list[str] = []
    for service, keys in expected.items():
        processed = stack.processes[service].db["processed_events"]
        wanted = {key for _, key in keys}
        for _ in range(600):
            found = {d["_id"] async for d in processed.find({"_id": {"$in": sorted(wanted)}}, {"_id": 1})}
            if wanted <= found:
                break
            await asyncio.sleep(0.1)
        missing += sorted(wanted - found)
    stopped = [c.durable for _, c in _consumers(stack) if c._task is None or c._task.done()]
    parked = 0
    for service in expected:
        parked += await stack.processes[service].db["processed_events"].count_documents({"parked": True})
    figures.record("wire fuzzing", "event types mutated from real events", len(real))
    figures.record("wire fuzzing", "garbage events published", sent)
    figures.record("wire fuzzing", "events parked", parked)
    figures.record("wire fuzzing", "garbage events neither parked nor handled", len(missing))
    figures.record("wire fuzzing", "consumers crashed", len(stopped))
    assert not stopped, f"consumers stopped: {stopped}"
    assert not missing, f"{len(missing)} events neither parked nor handled, e.g. {missing[:5]}"


async def _real_events(stack: Stack, js: Any) -> dict[str, Event]:
    """One event of each subject found in the stream (what the services really published)."""
    stream = stack.settings.names.event_stream
    info = await js.stream_info(stream)
    found: dict[str, Event] = {}
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            msg = await js.get_msg(stream, seq)
        except nats.js.errors.NotFoundError:  # a gap (deleted message)
            continue
        if msg.subject and msg.subject not in found and msg.data:
            try:
                found[msg.subject] = _event_decoder.decode(msg.data)
            except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError, RecursionError):
                continue  # (our own garbage from earlier in this test)
    return found


def _matches(pattern: str, subject: str) -> bool:
    p, s = pattern.split("."), subject.split(".")
    for i, token in enumerate(p):
        if token == ">":
            return len(s) > i
        if i >= len(s) or (token != "*" and token != s[i]):
            return False
    return len(p) == len(s)
