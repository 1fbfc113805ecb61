"""A durable JetStream pull consumer with explicit acks and idempotency by event id.

Outcome policy:
- undecodable message -> parked with the reason, `term()` (it can never succeed);
- event already processed by this consumer -> `ack()`;
- handler raises `Permanent` -> parked with the reason, `ack()`;
- any other exception -> `nak(delay)` with exponential backoff; on the last allowed delivery the
  event is parked with the reason and acknowledged, so it never blocks the stream and an admin
  can see (and later replay) it.

Parked events are documents with `parked: true` in the consumer's `processed_events`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

import msgspec
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from opentelemetry.trace import SpanKind
from pymongo.errors import DuplicateKeyError

from services.contracts.envelope import Event
from services.contracts.names import Names
from services.runtime import metrics, telemetry
from services.runtime.lifecycle import cancel
from services.runtime.mongo import AsyncCollection, Document

log = logging.getLogger(__name__)

_decoder = msgspec.json.Decoder(Event)

Handler = Callable[[Event], Awaitable[None]]
# "does this event concern the handler at all?" — asked before anything is read or written
Wants = Callable[[Event], Awaitable[bool]]


class Permanent(Exception):
    """The event can never be handled; retrying would not help."""


def backoff(attempt: int, base: float = 0.5, cap: float = 60.0) -> float:
    return float(min(cap, base * (2 ** max(0, attempt - 1))))


class EventConsumer:
    def __init__(
        self,
        js: JetStreamContext,
        names: Names,
        *,
        durable: str,
        event_types: Sequence[str],
        handler: Handler,
        processed: AsyncCollection[Document],
        max_deliver: int = 20,
        ack_wait: float = 30.0,
        batch: int = 20,
        wants: Wants | None = None,
        parallel: int = 1,
        settle: float = 0.0,
    ) -> None:
        self.js = js
        self.names = names
        self.durable = names.durable(durable)
        self.subjects = [names.event_subject(t) for t in event_types]
        self.handler = handler
        self.processed = processed
        self.max_deliver = max_deliver
        self.ack_wait = ack_wait
        self.batch = batch
        self.wants = wants
        # events of one fetched batch handled at the same time; 1 keeps the stream's order
        self.parallel = max(1, parallel)
        # a fetched batch whose newest event is younger than this waits until it is that old:
        # work that may come a moment later (notices, digest material) then stays out of the way
        # of a burst of requests still being answered, and the burst's events are handled together
        self.settle = settle
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._fetching = False

    async def start(self) -> None:
        await self._configure()
        sub = await self.js.pull_subscribe_bind(durable=self.durable, stream=self.names.event_stream)
        self._task = asyncio.create_task(self._run(sub), name=f"consumer-{self.durable}")

    async def _configure(self) -> None:
        # create or update: an existing durable would otherwise keep its old configuration
        await self.js.add_consumer(
            self.names.event_stream,
            ConsumerConfig(
                name=self.durable,
                durable_name=self.durable,
                filter_subjects=self.subjects,
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                max_deliver=self.max_deliver,
                ack_wait=self.ack_wait,
                max_ack_pending=1000,
            ),
        )

    async def filtered_types(self) -> set[str]:
        """The event types the durable takes now, as the server has it (every instance shares
        it, so another may have changed it); `>` stands for all."""
        info = await self.js.consumer_info(self.names.event_stream, self.durable, timeout=2.0)
        subjects = info.config.filter_subjects or [info.config.filter_subject or self.names.event_wildcard]
        prefix = self.names.event_subject("")
        return {s.removeprefix(prefix) for s in subjects}

    async def take_types(self, event_types: set[str]) -> None:
        """From now on the durable takes events of these types (`>` for all), on every
        instance. Events it passed over before are not delivered again."""
        self.subjects = [self.names.event_subject(t) for t in sorted(event_types)]
        await self._configure()

    async def stop(self, grace: float = 5.0) -> None:
        """Finish the event in hand, hand the rest of the batch back (another instance takes it
        at once), then end; cancelled after `grace` seconds if a handler hangs."""
        self._stopping = True
        # waiting for events holds nothing: end at once instead of after the fetch's timeout
        # (a batch arriving just then is redelivered after `ack_wait`, to this or another instance)
        if self._task is not None and not self._task.done() and not self._fetching:
            await asyncio.wait({self._task}, timeout=grace)
        await cancel(self._task)

    async def _run(self, sub: JetStreamContext.PullSubscription) -> None:
        while not self._stopping:
            self._fetching = True
            try:
                msgs = await sub.fetch(self.batch, timeout=1.0)
            except asyncio.CancelledError:
                raise
            except TimeoutError:
                continue
            except Exception as exc:  # disconnected, server restarting, ...
                log.debug("fetch failed: %r", exc)
                await asyncio.sleep(0.5)
                continue
            finally:
                self._fetching = False
            if self.settle > 0:
                await asyncio.sleep(self._unsettled(msgs))
            if self.parallel == 1:
                for i, msg in enumerate(msgs):
                    if self._stopping:
                        for rest in msgs[i:]:
                            await _settle(rest.nak())
                        break
                    await self._traced(msg)
                continue
            gate = asyncio.Semaphore(self.parallel)

            async def one(msg: Msg, gate: asyncio.Semaphore = gate) -> None:
                async with gate:
                    if self._stopping:  # another instance takes it at once
                        await _settle(msg.nak())
                        return
                    await self._traced(msg)

            for outcome in await asyncio.gather(*(one(m) for m in msgs), return_exceptions=True):
                if isinstance(outcome, Exception):
                    log.warning("event handling failed: %r", outcome)

    def _unsettled(self, msgs: Sequence[Msg]) -> float:
        """How much longer the newest of `msgs` has to settle (at most `settle`; the stored time
        comes from nats-server, whose clock may differ a little from this one)."""
        stored = [m.metadata.timestamp for m in msgs if m.metadata is not None]
        if not stored:
            return 0.0
        age = (datetime.now(UTC) - max(stored)).total_seconds()
        return min(self.settle, max(0.0, self.settle - age))

    async def _traced(self, msg: Msg) -> None:
        # the request that caused the event (its id and trace) is current while handling it
        with telemetry.incoming(f"event {self.durable}", msg.headers, kind=SpanKind.CONSUMER):
            await self.process(msg)

    async def process(self, msg: Msg) -> None:
        try:
            event = _decoder.decode(msg.data)
        except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
            # (msgspec reports bytes that are not UTF-8 inside a string as UnicodeDecodeError and
            # too deep nesting as RecursionError; uncaught, either would end the consumer's loop)
            log.error("undecodable event on %s: %s", msg.subject, exc)
            sequence = msg.metadata.sequence.stream if msg.metadata else 0
            await self._park(
                f"{self.durable}:seq:{sequence}", msg.subject, None, f"nicht lesbar: {exc}", msg.data
            )
            await _settle(msg.term())
            metrics.EVENTS_HANDLED.labels(self.durable, "parked").inc()
            return
        key = f"{self.durable}:{event.id}"
        try:
            # an event the handler would ignore needs no idempotency record: two database round
            # trips (look up, record) saved per event, e.g. every ballot at the webhook consumer
            if self.wants is not None and not await self.wants(event):
                await _settle(msg.ack())
                return
            if await self.processed.find_one({"_id": key}, {"_id": 1}):
                await _settle(msg.ack())
                metrics.EVENTS_HANDLED.labels(self.durable, "duplicate").inc()
                return
            await self.handler(event)
        except (Permanent, msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
            # data that cannot be read now cannot be read on the next delivery either, whichever
            # handler found out (msgspec reports bytes that are not UTF-8 as UnicodeDecodeError)
            log.error("event %s (%s) failed for good: %s", event.id, event.type, exc)
            await self._park(key, msg.subject, event, str(exc), msg.data)
            await _settle(msg.ack())
            metrics.EVENTS_HANDLED.labels(self.durable, "parked").inc()
            return
        except Exception as exc:
            attempt = msg.metadata.num_delivered if msg.metadata else 1
            if attempt >= self.max_deliver:
                log.error("event %s (%s) parked after %s attempts: %r", event.id, event.type, attempt, exc)
                await self._park(key, msg.subject, event, f"nach {attempt} Versuchen: {exc!r}", msg.data)
                await _settle(msg.ack())
                metrics.EVENTS_HANDLED.labels(self.durable, "parked").inc()
                return
            delay = backoff(attempt)
            log.warning(
                "event %s (%s) attempt %s failed, retry in %.1fs: %r",
                event.id,
                event.type,
                attempt,
                delay,
                exc,
            )
            await _settle(msg.nak(delay=delay))
            metrics.EVENTS_HANDLED.labels(self.durable, "retry").inc()
            return
        await self._record(key, event)
        await _settle(msg.ack())
        metrics.EVENTS_HANDLED.labels(self.durable, "ok").inc()
        log.info("event %s handled", event.type, extra={"event_id": event.id, "consumer": self.durable})

    async def _record(self, key: str, event: Event) -> None:
        with contextlib.suppress(DuplicateKeyError):
            await self.processed.insert_one({"_id": key, "type": event.type, "at": datetime.now(UTC)})

    async def _park(self, key: str, subject: str, event: Event | None, reason: str, raw: bytes) -> None:
        doc: Document = {
            "_id": key,
            "parked": True,
            "consumer": self.durable,
            "subject": subject,
            "type": event.type if event else None,
            "event_id": event.id if event else None,
            "reason": reason[:1000],
            "at": datetime.now(UTC),
            "raw": raw[:65536],
        }
        try:
            with contextlib.suppress(DuplicateKeyError):
                await self.processed.insert_one(doc)
        except Exception as exc:  # the database is away too: the log line is all that is left
            log.error("could not park %s: %r", key, exc)


async def _settle(aw: Awaitable[None]) -> None:
    # an ack lost to a disconnect is redelivered later; idempotency absorbs it
    try:
        await aw
    except Exception as exc:
        log.debug("ack/nak failed: %r", exc)
