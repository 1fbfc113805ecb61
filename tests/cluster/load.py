"""Ballots and survey answers submitted continuously through the gateways while the tests break
something, and the checks afterwards: every write answered 2xx is stored, every stored write's
event is in the stream exactly once and has reached its consumer."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from services.contracts.envelope import Event
from tests.cluster.conftest import DEMO_PASSWORD, Cluster

# Kommunen that vote and answer (demo logins), one worker each
KOMMUNEN = ("15001", "15002", "15003", "15081", "15082", "15083")
QUESTION = {
    "id": "stand",
    "kind": "single",
    "label": "Stand?",
    "options": ["gut", "mittel"],
    "required": True,
}
# Kommunen outside the load that vote once the fault is over
PROBES = ("15084", "15085")
# a request that takes longer than this counts as hanging (the platform answers 503/504 by then)
HANG_SECONDS = 25.0


@dataclass
class Outcome:
    kind: str  # "ballot" | "answer"
    target: str  # poll or survey id
    who: str  # person id (ballot) or organisation id (answer)
    status: int | str  # HTTP status or the exception's name
    at: float
    took: float
    detail: str = ""  # the problem's detail of a refusal

    @property
    def accepted(self) -> bool:
        return isinstance(self.status, int) and 200 <= self.status < 300


@dataclass
class Targets:
    polls: list[dict[str, Any]]
    surveys: list[str]


async def prepare(cluster: Cluster, polls: int, surveys: int) -> Targets:
    ministry = await cluster.login()
    try:
        made_polls: list[dict[str, Any]] = []
        for i in range(polls):
            response = await ministry.post(
                "/api/v1/polls",
                json={
                    "title": f"Lastprobe {i}",
                    "options": [{"label": "Ja"}, {"label": "Nein"}],
                    "method": {"kind": "single"},
                    "voters": "person",
                    "results_visibility": "live",
                    "closes_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat(),
                },
            )
            assert response.status_code == 201, response.text
            made_polls.append(response.json())
        made_surveys: list[str] = []
        for i in range(surveys):
            created = await ministry.post(
                "/api/v1/surveys",
                json={
                    "title": f"Lastprobe {i}",
                    "description": "",
                    "questions": [QUESTION],
                    "audience": {"kind": "organisations", "ids": list(KOMMUNEN)},
                    "respond_as": "organisation",
                    "closes_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
                },
            )
            assert created.status_code == 201, created.text
            published = await ministry.post(f"/api/v1/surveys/{created.json()['id']}/publish")
            assert published.status_code == 200, published.text
            made_surveys.append(created.json()["id"])
        return Targets(made_polls, made_surveys)
    finally:
        await ministry.aclose()


@dataclass
class Load:
    """One worker per Kommune; each votes once in every poll and answers every survey, in turn,
    through gateway A or B. A worker whose gateway refuses the connection moves to the other one
    with the same session cookie, as a load balancer would send it there."""

    cluster: Cluster
    targets: Targets
    pause: float = 0.15
    outcomes: list[Outcome] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        for i, ags in enumerate(KOMMUNEN):
            self._tasks.append(asyncio.create_task(self._worker(i, ags)))

    async def wait(self) -> None:
        await asyncio.gather(*self._tasks)

    async def until_accepted(self, count: int, timeout: float = 60.0) -> None:
        """Wait until `count` writes were accepted (the load is under way)."""
        for _ in range(int(timeout * 10)):
            if len(self.accepted()) >= count:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"fewer than {count} writes accepted: {self.summary()}")

    def accepted(self, since: float = 0.0) -> list[Outcome]:
        return [o for o in self.outcomes if o.accepted and o.at >= since]

    def summary(self) -> Counter[str]:
        return Counter(str(o.status) for o in self.outcomes)

    def described(self) -> str:
        """For the figures, e.g. `78 requests: 200 × 72, 503 × 6`."""
        counts = sorted(self.summary().items())
        return f"{len(self.outcomes)} requests: " + ", ".join(f"{k} × {v}" for k, v in counts)

    def refusals(self) -> Counter[str]:
        """What the refused requests were told, by kind of write (for failure messages)."""
        return Counter(f"{o.kind} {o.status} {o.detail}" for o in self.outcomes if not o.accepted)

    async def _worker(self, index: int, ags: str) -> None:
        gateway = index % 2
        client = await self.cluster.login(f"kommune-{ags}@gdst.example", gateway=gateway)
        client.timeout = httpx.Timeout(HANG_SECONDS)
        me = (await client.get("/api/v1/me")).json()
        person = me["id"]
        items: list[tuple[str, str]] = []
        for k in range(max(len(self.targets.polls), len(self.targets.surveys))):
            if k < len(self.targets.polls):
                items.append(("ballot", self.targets.polls[k]["id"]))
            if k < len(self.targets.surveys):
                items.append(("answer", self.targets.surveys[k]))
        choices = {p["id"]: p["options"][index % 2]["id"] for p in self.targets.polls}
        try:
            for kind, target in items:
                started = time.monotonic()
                try:
                    if kind == "ballot":
                        response = await client.put(
                            f"/api/v1/polls/{target}/ballot", json={"choice": choices[target]}
                        )
                    else:
                        response = await client.post(
                            f"/api/v1/surveys/{target}/response/submit",
                            json={"answers": {"stand": "gut" if index % 2 else "mittel"}},
                        )
                    status: int | str = response.status_code
                    detail = "" if response.is_success else response.text[:200]
                except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                    status, detail = type(exc).__name__, ""
                    gateway = 1 - gateway
                    client.base_url = httpx.URL(self.cluster.gateways[gateway])
                except httpx.TimeoutException as exc:
                    status, detail = type(exc).__name__, ""
                who = person if kind == "ballot" else ags
                self.outcomes.append(
                    Outcome(kind, target, who, status, started, time.monotonic() - started, detail)
                )
                await asyncio.sleep(self.pause)
        finally:
            await client.aclose()


async def stream_events(cluster: Cluster, types: tuple[str, ...]) -> list[Event]:
    """Every event of these types in the platform's stream, read with a throwaway consumer."""
    names = cluster.settings.names
    js = cluster.conn.nc.jetstream(timeout=10.0)
    sub = await js.pull_subscribe(
        "",
        stream=names.event_stream,
        config=ConsumerConfig(
            ack_policy=AckPolicy.NONE,
            deliver_policy=DeliverPolicy.ALL,
            filter_subjects=[names.event_subject(t) for t in types],
            num_replicas=1,
            mem_storage=True,
        ),
    )
    found: list[Event] = []
    try:
        while True:
            try:
                msgs = await sub.fetch(200, timeout=2.0)
            except TimeoutError:
                break
            found.extend(msgspec.json.decode(m.data, type=Event) for m in msgs)
    finally:
        await sub.unsubscribe()
    return found


async def check_persisted(cluster: Cluster, load: Load) -> tuple[int, int]:
    """Every accepted ballot and answer is stored. Returns how many are stored in all."""
    surveys_db = cluster.database("surveys")
    poll_ids = [p["id"] for p in load.targets.polls]
    ballots = {
        (b["poll_id"], b["cast_by"]) async for b in surveys_db["ballots"].find({"poll_id": {"$in": poll_ids}})
    }
    answers = {
        (r["survey_id"], r["organisation"]["id"])
        async for r in surveys_db["survey_responses"].find(
            {"survey_id": {"$in": load.targets.surveys}, "state": "submitted"}
        )
    }
    lost = [
        o for o in load.accepted() if (o.target, o.who) not in (ballots if o.kind == "ballot" else answers)
    ]
    assert lost == [], f"accepted but not stored: {lost}"
    return len(ballots), len(answers)


async def check_events(cluster: Cluster, load: Load, timeout: float = 90.0) -> int:
    """Each stored ballot and answer has exactly one event in the stream, and every one of those
    events has been processed by the notifications service's consumer of all events."""
    poll_ids = {p["id"] for p in load.targets.polls}
    surveys = set(load.targets.surveys)
    stored_ballots, stored_answers = await check_persisted(cluster, load)
    durable = cluster.settings.names.durable("notifications-webhooks")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        # outboxes left behind by a failed publish are swept up within seconds
        try:
            events = await stream_events(cluster, ("ballot.cast", "response.submitted"))
        except Exception:  # JetStream still settling after the node loss: ask again
            assert loop.time() < deadline, "the stream could not be read"
            await asyncio.sleep(1.0)
            continue
        ids = Counter(e.id for e in events)
        assert [i for i, n in ids.items() if n > 1] == [], "an event id twice in the stream"
        facts: Counter[tuple[str, str, str]] = Counter()
        mine: list[str] = []
        for e in events:
            data = msgspec.json.decode(e.data)
            if e.type == "ballot.cast" and data["poll_id"] in poll_ids:
                facts[("ballot", data["poll_id"], data["cast_by"])] += 1
                mine.append(e.id)
            elif e.type == "response.submitted" and data["survey_id"] in surveys:
                facts[("answer", data["survey_id"], data["organisation_id"])] += 1
                mine.append(e.id)
        # the webhook consumer receives every event; it acks those no subscription wants without
        # recording them, so "reached its consumer" is: nothing left pending or unacknowledged
        try:
            info = await cluster.conn.nc.jetstream(timeout=10.0).consumer_info(
                cluster.settings.names.event_stream, durable
            )
            drained = info.num_pending == 0 and info.num_ack_pending == 0
        except Exception:  # JetStream still settling after the node loss: ask again
            drained = False
        complete = len(facts) == stored_ballots + stored_answers and drained
        if complete or loop.time() > deadline:
            break
        await asyncio.sleep(1.0)
    assert [f for f, n in facts.items() if n > 1] == [], "a ballot or answer published twice"
    assert len(facts) == stored_ballots + stored_answers, (
        f"{stored_ballots + stored_answers} stored, {len(facts)} with an event"
    )
    assert drained, f"events still pending or unacknowledged at {durable}: {len(mine)} of ours in the stream"
    return len(facts)


async def until_accepted(
    attempt: Callable[[], Awaitable[httpx.Response]], timeout: float = 60.0
) -> httpx.Response:
    """Repeat a request, as a user would, until it is answered 2xx (no manual action between)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            response = await attempt()
            if response.is_success:
                return response
            last = f"{response.status_code} {response.text[:200]}"
        except httpx.TransportError as exc:
            last = repr(exc)
        assert loop.time() < deadline, f"not accepted within {timeout:.0f} s: {last}"
        await asyncio.sleep(0.5)


async def probe(cluster: Cluster, targets: Targets, gateways: list[int]) -> None:
    """After the fault: Kommunen outside the load log in and vote through each gateway still up."""
    for gateway, ags in zip(gateways, PROBES, strict=False):
        client = cluster.client(gateway)
        try:
            login = await until_accepted(
                lambda c=client, a=ags: c.post(
                    "/api/v1/session",
                    json={"email": f"kommune-{a}@gdst.example", "password": DEMO_PASSWORD},
                )
            )
            client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
            poll = targets.polls[0]
            await until_accepted(
                lambda c=client, p=poll: c.put(
                    f"/api/v1/polls/{p['id']}/ballot", json={"choice": p["options"][0]["id"]}
                )
            )
        finally:
            await client.aclose()
