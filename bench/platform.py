"""The load scenarios against a running platform, shared by `make bench` and its smoke test.

A `Target` is a running gateway with its databases and mailbox; `prepare()` fills the
directory (people with API tokens, written straight into the database: the figures are about
the platform under load, not about argon2) and the needs (for the similarity lookup);
`run_round()` runs every scenario once and returns figures and failed correctness checks.
The load itself comes from `bench.load`, a separate process.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import httpx
from nats.js.api import KeyValueConfig, StorageType, StreamConfig

from bench.load import machine_cpu_s, process_cpu_s
from services.contracts.directory import token_entry_encoder, token_key
from services.contracts.envelope import Principal
from services.directory.passwords import Passwords
from services.directory.tokens import TokenIndex
from services.runtime import mongo
from services.runtime.natsconn import connect
from services.runtime.settings import Settings

HERE = Path(__file__).parent
MUNICIPAL = ("kreisfreie_stadt", "stadt", "gemeinde")
PASSWORD = "bench-passwort-1"
TOKEN_PREFIX = "gdst_bench"  # the directory accepts tokens starting with "gdst_"


def stack_env(smtp_port: int) -> dict[str, str]:
    """The environment of a bench stack: its own servers (none taken from the caller's
    NATS_URL, MONGODB_URL or namespace), mail to the bench's SMTP counter, no demo data, quiet
    logs, cheap password hashes for the seeded people."""
    env = {
        **os.environ,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "GDST_DEMO": "0",
        "LOG_LEVEL": "WARNING",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "1024",
        "PUBLIC_URL": "http://bench.gdst.test",
    }
    for key in ("NATS_URL", "MONGODB_URL", "GDST_NAMESPACE"):
        env.pop(key, None)
    return env


class Mails(Protocol):
    @property
    def messages(self) -> list[Any]: ...


@dataclass
class Sizes:
    voters: int = 2000
    vote_concurrency: int = 64
    people_per_kommune: int = 5
    kommunen: int | None = None  # None: every municipal Kommune in the directory
    survey_concurrency: int = 64
    questions: int = 20
    pages: int = 1000
    page_concurrency: int = 64
    needs: int = 5000
    lookups: int = 300
    lookup_concurrency: int = 4
    baseline_requests: int = 3000
    renders: int = 200
    mail_timeout: float = 75.0
    # each load phase stops starting new work after this long, so a slow machine still
    # finishes within 10 minutes; the figures say how much was sent, the checks use that
    phase_seconds: float = 30.0

    @classmethod
    def smoke(cls) -> Sizes:
        return cls(
            voters=20,
            vote_concurrency=8,
            people_per_kommune=2,
            kommunen=6,
            survey_concurrency=6,
            questions=20,
            pages=10,
            page_concurrency=4,
            needs=60,
            lookups=5,
            lookup_concurrency=2,
            baseline_requests=20,
            renders=3,
            mail_timeout=60.0,
        )


@dataclass
class Target:
    base_url: str
    port: int
    settings: Settings
    mailbox: Mails
    pids: dict[str, int] = field(default_factory=dict)
    # NATS user and password for looking at the consumers (the stack admits known users only)
    nats_credentials: tuple[str, str] | None = None


@dataclass
class Person:
    id: str
    email: str
    organisation_id: str
    token: str


@dataclass
class Population:
    ministry: Person
    members: list[Person]  # the first person of every Kommune, in Kommune order
    voters: list[Person]
    addressed_people: int  # active people of the Kommunen a survey to all Kommunen reaches
    kommunen: list[str]
    cookies: list[tuple[str, str]] = field(default_factory=list)  # (session cookie, csrf) per page user


@dataclass
class RoundResult:
    figures: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def check(self, ok: bool, message: str) -> None:
        if not ok:
            self.failures.append(message)


# --- the load generator, as its own process ---------------------------------------------------


def call(
    method: str, path: str, token: str | None = None, body: Any = None, **headers: str
) -> dict[str, Any]:
    h = dict(headers)
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    if body is not None:
        h["Content-Type"] = "application/json"
    return {"method": method, "path": path, "headers": h, "body": None if body is None else json.dumps(body)}


async def generate(
    port: int,
    jobs: list[list[dict[str, Any]]],
    concurrency: int,
    max_seconds: float | None = None,
    pids: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Run `bench.load` in its own process and return its report; with `pids`, also the CPU
    seconds each of those processes used meanwhile (`process_cpu_s` in the report)."""
    before = process_cpu_s(pids or {})
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as spec:
        json.dump({"port": port, "jobs": jobs, "concurrency": concurrency, "max_seconds": max_seconds}, spec)
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.load", spec.name, stdout=subprocess.PIPE, cwd=HERE.parent
        )
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=300)
    finally:
        os.unlink(spec.name)
    if proc.returncode != 0:
        raise RuntimeError(f"load generator failed (exit code {proc.returncode})")
    report: dict[str, Any] = json.loads(out)
    after = process_cpu_s(pids or {})
    report["process_cpu_s"] = {name: after[name] - before[name] for name in after if name in before}
    return report


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary(report: dict[str, Any], unit_per_job: bool = False) -> dict[str, Any]:
    lat = report["latencies_ms"]
    wall = report["wall_s"] or float("nan")
    return {
        "requests": report["requests"],
        "ok": report["ok"],
        "statuses": report["statuses"],
        "per_s": (report["jobs"] if unit_per_job else report["requests"]) / wall,
        "requests_per_s": report["requests"] / wall,
        "mean_ms": statistics.fmean(lat) if lat else float("nan"),
        "p50_ms": percentile(lat, 50),
        "p99_ms": percentile(lat, 99),
        "max_ms": max(lat) if lat else float("nan"),
        "wall_s": report["wall_s"],
        "generator_cpu_s": report["cpu_s"],
        "generator_cpu_share": report["cpu_s"] / wall,
        # CPU the platform (every process but the generator) spent per request, both cores together
        "cpu_ms_per_request": 1000 * (report["machine_cpu_s"] - report["cpu_s"]) / max(1, report["requests"]),
        # the same by process (servers and services; the phase's start of the generator included)
        "cpu_ms_by_process": {
            name: 1000 * seconds / max(1, report["requests"])
            for name, seconds in (report.get("process_cpu_s") or {}).items()
        },
        "errors": report["errors"],
    }


# --- preparation ------------------------------------------------------------------------------


def _token(person_id: str) -> str:
    return f"{TOKEN_PREFIX}_{hashlib.sha256(person_id.encode()).hexdigest()[:32]}"


async def _bucket_tokens(target: Target, people: list[dict[str, Any]]) -> None:
    """The seeded tokens into the token bucket, as the directory puts a token it creates."""
    conn = await connect(target.settings.nats_url, "bench-tokens", target.nats_credentials)
    try:
        index = TokenIndex(conn.nc.jetstream(timeout=5.0), target.settings.names.token_bucket)
        await index.open()
        for i in range(0, len(people), 200):
            await asyncio.gather(
                *(
                    index.kv.put(
                        token_key(_token(d["_id"])),
                        token_entry_encoder.encode(
                            Principal(
                                person_id=d["_id"],
                                organisation_id=d["organisation_id"],
                                roles=tuple(d["roles"]),
                            )
                        ),
                    )
                    for d in people[i : i + 200]
                )
            )
    finally:
        await conn.close()


async def prepare(target: Target, sizes: Sizes, log: Any = print) -> Population:
    """People with tokens straight into the directory's database, needs into the needs one."""
    settings = target.settings
    client = mongo.client(settings.mongodb_url)
    try:
        db = client[settings.names.database("directory")]
        orgs = [d async for d in db["organisations"].find({"kind": {"$in": list(MUNICIPAL)}}, {"_id": 1})]
        kommunen = sorted(d["_id"] for d in orgs)
        if sizes.kommunen is not None:
            kommunen = kommunen[: sizes.kommunen]
        others = sorted(
            [d["_id"] async for d in db["organisations"].find({"kind": "landkreis"}, {"_id": 1})]
        ) or ["15"]
        password_hash = await Passwords(1, 1024).hash(PASSWORD)
        now = datetime.now(UTC)

        def person(pid: str, email: str, org: str, roles: list[str]) -> dict[str, Any]:
            return {
                "_id": pid,
                "name": f"Bench {pid}",
                "email": email,
                "organisation_id": org,
                "roles": roles,
                "password_hash": password_hash,
                "active": True,
                "created_at": now,
                "outbox": [],
            }

        docs = [person("bench-ministry", "bench@gdst.example", "15", ["ministry"])]
        for ags in kommunen:
            for i in range(sizes.people_per_kommune):
                docs.append(person(f"bench-{ags}-{i}", f"p{i}.{ags}@bench.example", ags, ["member"]))
        # voters beyond the Kommunen's people work for the Landkreise: a survey to the
        # municipal Kommunen does not reach them, so the fan-out count stays exact
        extra = max(0, sizes.voters - (len(docs) - 1))
        for i in range(extra):
            org = others[i % len(others)]
            docs.append(person(f"bench-v{i}", f"v{i}@bench.example", org, ["member"]))
        await db["people"].insert_many(docs)
        await db["emails"].insert_many([{"_id": d["email"], "person_id": d["_id"]} for d in docs])
        await db["tokens"].insert_many(
            [
                {
                    "_id": token_key(_token(d["_id"])),
                    "token_id": f"bench-{d['_id']}",
                    "person_id": d["_id"],
                    "name": "bench",
                    "created_at": now,
                    # as the directory writes a token (services/directory/service.py)
                    "principal": {"organisation_id": d["organisation_id"], "roles": d["roles"]},
                }
                for d in docs
            ]
        )
        await _bucket_tokens(target, docs)
        people = [Person(d["_id"], d["email"], d["organisation_id"], _token(d["_id"])) for d in docs]
        addressed = await db["people"].count_documents({"organisation_id": {"$in": kommunen}, "active": True})
        log(f"seeded {len(docs)} people in {len(kommunen)} Kommunen")
    finally:
        await client.close()
    population = Population(
        ministry=people[0],
        members=[p for p in people[1:] if p.id.endswith("-0") and p.organisation_id in kommunen],
        voters=people[1 : 1 + sizes.voters],
        addressed_people=addressed,
        kommunen=kommunen,
    )
    async with httpx.AsyncClient(base_url=target.base_url, timeout=60) as http:
        for member in population.members[: sizes.page_concurrency]:
            login = await http.post("/api/v1/session", json={"email": member.email, "password": PASSWORD})
            login.raise_for_status()
            population.cookies.append((login.cookies["gdst_session"], login.json()["csrf_token"]))
            http.cookies.clear()
    await _seed_needs(target, population, sizes, log)
    return population


def needs_texts(count: int, seed: int = 11) -> list[tuple[str, str]]:
    """`count` German needs: the labelled corpus first, then recombinations of its sentences."""
    with (HERE / "data" / "needs_corpus.csv").open(encoding="utf-8") as handle:
        corpus = [(r["title"], r["description"]) for r in csv.DictReader(handle)]
    rnd = random.Random(seed)  # noqa: S311 - test data
    places = [
        "im Bürgeramt",
        "in der Kämmerei",
        "im Bauamt",
        "für die Schulen",
        "im Ordnungsamt",
        "im Standesamt",
    ]
    out = list(corpus[:count])
    while len(out) < count:
        title, _ = rnd.choice(corpus)
        _, description = rnd.choice(corpus)
        out.append((f"{title} {rnd.choice(places)} ({len(out)})", description))
    return out


async def _seed_needs(target: Target, population: Population, sizes: Sizes, log: Any) -> None:
    reporter = population.members[0]
    async with httpx.AsyncClient(base_url=target.base_url, timeout=60) as http:
        created = await http.post(
            "/api/v1/needs",
            json={
                "title": "Bench: Vorlage",
                "description": "Vorlage für die Bench-Bedarfe.",
                "category": "querschnitt",
            },
            headers={"Authorization": f"Bearer {reporter.token}"},
        )
        created.raise_for_status()
        template_id = created.json()["id"]
    client = mongo.client(target.settings.mongodb_url)
    try:
        db = client[target.settings.names.database("needs")]
        template = await db["needs"].find_one({"_id": template_id})
        assert template is not None
        now = datetime.now(UTC)
        needs, supports = [], []
        for i, (title, description) in enumerate(needs_texts(sizes.needs - 1)):
            need_id = f"bench-need-{i:05d}"
            needs.append(
                {
                    **{k: v for k, v in template.items() if k not in ("_id", "outbox")},
                    "_id": need_id,
                    "title": title,
                    "description": description,
                    "created_at": now,
                    "outbox": [],
                }
            )
            supports.append(
                {
                    "_id": f"{need_id}:{template['organisation']['id']}",
                    "need_id": need_id,
                    "organisation": template["organisation"],
                    "comment": None,
                    "by": reporter.id,
                    "at": now,
                    "reporter": True,
                    "outbox": [],
                }
            )
        for start in range(0, len(needs), 1000):
            await db["supports"].insert_many(supports[start : start + 1000])
            await db["needs"].insert_many(needs[start : start + 1000])
        log(f"seeded {len(needs) + 1} needs")
    finally:
        await client.close()


# --- scenarios --------------------------------------------------------------------------------


def closes_in(days: int = 7) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def api(http: httpx.AsyncClient, method: str, path: str, token: str, body: Any = None) -> Any:
    response = await http.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})
    if response.status_code >= 300:
        raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
    return response.json() if response.content else None


async def settle_mail(target: Target, expected: int, timeout: float) -> dict[str, float]:
    """Wait until `expected` more mails have arrived (or `timeout`); how many came and when the
    last one did."""
    start = time.perf_counter()
    before = len(target.mailbox.messages)
    seen, last = before, start
    while seen - before < expected and time.perf_counter() - start < timeout:
        await asyncio.sleep(0.1)
        now = len(target.mailbox.messages)
        if now != seen:
            seen, last = now, time.perf_counter()
    return {"mails": seen - before, "expected": expected, "seconds": last - start}


class Watcher:
    """Follows a poll's result stream and notes when each result arrived."""

    def __init__(self, base_url: str, token: str, poll_id: str) -> None:
        self.url = f"{base_url}/api/v1/polls/{poll_id}/results/stream"
        self.token = token
        self.events: list[tuple[float, int]] = []
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def _follow(self) -> None:
        async with (
            httpx.AsyncClient(timeout=httpx.Timeout(60, read=None)) as http,
            http.stream("GET", self.url, headers={"Authorization": f"Bearer {self.token}"}) as response,
        ):
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    self.events.append((time.monotonic(), int(json.loads(line[5:])["ballots"])))
                    self.ready.set()

    def start(self) -> None:
        self.task = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task

    def delays_ms(self, accepted: list[float]) -> list[float]:
        """For each accepted ballot (by acceptance time), the wait until a result that counts at
        least as many ballots as had been accepted by then arrived at the watcher."""
        delays = []
        for rank, at in enumerate(sorted(accepted), start=1):
            seen = next((t for t, n in self.events if t >= at and n >= rank), None)
            if seen is not None:
                delays.append((seen - at) * 1000)
        return delays


async def scenario_votes(target: Target, pop: Population, sizes: Sizes, result: RoundResult) -> None:
    async with httpx.AsyncClient(base_url=target.base_url, timeout=60) as http:
        options = [{"label": f"Thema {i + 1}"} for i in range(6)]
        poll = await api(
            http,
            "POST",
            "/api/v1/polls",
            pop.ministry.token,
            {
                "title": "Bench: Punktabfrage",
                "options": options,
                "method": {"kind": "dot", "points": 4, "max_per_option": 2},
                "voters": "person",
                "results_visibility": "live",
                "closes_at": closes_in(),
            },
        )
        ids = [o["id"] for o in poll["options"]]
        # opening the poll tells every voter by mail; that fan-out is timed on its own and
        # finishes before the ballots, so the two do not measure each other
        # every eligible voter but the one who opened it (the ministry's person) is told
        opened = await settle_mail(target, int(poll.get("eligible") or 1) - 1, sizes.mail_timeout)
        result.figures["poll_opened_mails"] = opened
        result.check(
            opened["mails"] == opened["expected"],
            f"poll opened: {opened['mails']} of {opened['expected']} mails at the SMTP server",
        )
        watcher = Watcher(target.base_url, pop.ministry.token, poll["id"])
        watcher.start()
        await asyncio.wait_for(watcher.ready.wait(), 30)
        rnd = random.Random(3)  # noqa: S311 - test data
        jobs, chosen = [], []
        for voter in pop.voters:
            a, b = rnd.sample(ids, 2)
            chosen.append({a: 2, b: 2})
            jobs.append(
                [call("PUT", f"/api/v1/polls/{poll['id']}/ballot", voter.token, {"points": chosen[-1]})]
            )
        report = await generate(target.port, jobs, sizes.vote_concurrency, sizes.phase_seconds, target.pids)
        # the generator takes jobs in order: the first `jobs` of them were sent
        sent: dict[str, int] = dict.fromkeys(ids, 0)
        for points in chosen[: report["jobs"]]:
            for k, v in points.items():
                sent[k] += v
        # the last live result comes at most a coalescing interval after the last change
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (  # noqa: ASYNC110 - polls another task's list
            not watcher.events or watcher.events[-1][1] < report["ok"]
        ):
            await asyncio.sleep(0.1)
        await watcher.stop()
        final = await api(http, "GET", f"/api/v1/polls/{poll['id']}/results", pop.ministry.token)
    figures = summary(report)
    result.figures["votes"] = figures
    delays = watcher.delays_ms(report["done_at"])
    result.figures["live_delay"] = {
        "p50_ms": percentile(delays, 50),
        "p99_ms": percentile(delays, 99),
        "events": len(watcher.events),
        "ballots_matched": len(delays),
    }
    n = report["jobs"]
    result.check(report["ok"] == n, f"votes: {n - report['ok']} ballots not accepted {report['errors']}")
    result.check(final["ballots"] == n, f"votes: result counts {final['ballots']} ballots, sent {n}")
    got = {s["option_id"]: round(s["score"]) for s in final["ranking"]}
    result.check(got == sent, f"votes: points per option {got}, sent {sent}")
    result.check(len(delays) == n, f"votes: live results saw {len(delays)} of {n} ballots")


def survey_questions(count: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """`count` questions of every kind, and a complete answer to them."""
    questions: list[dict[str, Any]] = []
    answers: dict[str, Any] = {}
    for i in range(count):
        qid = f"q{i + 1}"
        kind = ("single", "multiple", "number", "scale", "text", "date", "matrix")[i % 7]
        q: dict[str, Any] = {
            "id": qid,
            "kind": kind,
            "label": f"Frage {i + 1}: Wie ist der Stand?",
            "required": True,
        }
        if kind == "single":
            q["options"] = ["Ja", "Nein", "In Planung"]
            answers[qid] = "Ja"
        elif kind == "multiple":
            q["options"] = ["Bauamt", "Standesamt", "Kasse", "Personal"]
            answers[qid] = ["Bauamt", "Kasse"]
        elif kind == "number":
            q.update(min=0, max=500)
            answers[qid] = 12
        elif kind == "scale":
            q.update(min=1, max=5)
            answers[qid] = 4
        elif kind == "text":
            q["max"] = 200
            answers[qid] = "Die E-Akte ist eingeführt, die Scanstelle fehlt noch."
        elif kind == "date":
            answers[qid] = "2026-01-15"
        else:
            q["rows"] = ["E-Akte", "E-Rechnung"]
            q["options"] = ["geplant", "begonnen", "fertig"]
            answers[qid] = {"E-Akte": "begonnen", "E-Rechnung": "fertig"}
        questions.append(q)
    return questions, answers


async def scenario_surveys(target: Target, pop: Population, sizes: Sizes, result: RoundResult) -> str:
    """Publish a 20-question survey to every Kommune (the mail fan-out), then every Kommune saves
    a draft and submits; returns the survey id for the page scenario."""
    questions, answers = survey_questions(sizes.questions)
    async with httpx.AsyncClient(base_url=target.base_url, timeout=60) as http:
        survey = await api(
            http,
            "POST",
            "/api/v1/surveys",
            pop.ministry.token,
            {
                "title": "Bench: Stand der Digitalisierung",
                "description": "Benchmark",
                "questions": questions,
                "audience": {"kind": "organisations", "ids": pop.kommunen},
                "respond_as": "organisation",
                "closes_at": closes_in(),
            },
        )
        before = len(target.mailbox.messages)
        expected = pop.addressed_people
        start = time.perf_counter()
        await api(http, "POST", f"/api/v1/surveys/{survey['id']}/publish", pop.ministry.token)
        first: float | None = None
        deadline = start + sizes.mail_timeout
        while len(target.mailbox.messages) - before < expected and time.perf_counter() < deadline:
            if first is None and len(target.mailbox.messages) > before:
                first = time.perf_counter() - start
            await asyncio.sleep(0.05)
        seconds = time.perf_counter() - start
        received = len(target.mailbox.messages) - before
        result.figures["fanout"] = {
            "mails": expected,
            "received": received,
            "seconds": seconds,
            "first_mail_s": first if first is not None else seconds,
        }
        result.check(received == expected, f"fan-out: {received} of {expected} mails at the SMTP server")

        path = f"/api/v1/surveys/{survey['id']}/response"
        jobs = [
            [call("PUT", path, m.token, {"answers": answers}), call("POST", f"{path}/submit", m.token)]
            for m in pop.members
        ]
        report = await generate(target.port, jobs, sizes.survey_concurrency, sizes.phase_seconds, target.pids)
        progress = await api(http, "GET", f"/api/v1/surveys/{survey['id']}/progress", pop.ministry.token)
        results = await api(http, "GET", f"/api/v1/surveys/{survey['id']}/results", pop.ministry.token)
    result.figures["surveys"] = summary(report, unit_per_job=True)
    n = report["jobs"]
    result.check(report["ok"] == 2 * n, f"surveys: {2 * n - report['ok']} requests failed {report['errors']}")
    result.check(
        progress["submitted"] == n, f"surveys: progress shows {progress['submitted']} of {n} submitted"
    )
    first_q = results["questions"][0]
    yes = next((o["count"] for o in first_q["options"] if o["label"] == "Ja"), 0)
    result.check(yes == n, f"surveys: result counts {yes} 'Ja' for {n} submissions")
    return str(survey["id"])


async def scenario_page(
    target: Target, pop: Population, sizes: Sizes, survey_id: str, result: RoundResult
) -> None:
    jobs = [
        [call("GET", f"/umfragen/{survey_id}", Cookie=f"gdst_session={pop.cookies[i % len(pop.cookies)][0]}")]
        for i in range(sizes.pages)
    ]
    report = await generate(target.port, jobs, sizes.page_concurrency, sizes.phase_seconds / 2, target.pids)
    result.figures["page"] = summary(report)
    result.check(
        report["ok"] == report["requests"],
        f"survey page: {report['requests'] - report['ok']} not 200 {report['errors']}",
    )


async def scenario_support(target: Target, pop: Population, sizes: Sizes, result: RoundResult) -> None:
    reporter = pop.members[0]
    async with httpx.AsyncClient(base_url=target.base_url, timeout=60) as http:
        need = await api(
            http,
            "POST",
            "/api/v1/needs",
            reporter.token,
            {
                "title": "Bench: Serverraum ohne Klimaanlage",
                "description": "Betrifft viele.",
                "category": "querschnitt",
            },
        )
        jobs = [[call("PUT", f"/api/v1/needs/{need['id']}/support", m.token, {})] for m in pop.members]
        report = await generate(target.port, jobs, len(jobs), None, target.pids)
        result.figures["support"] = summary(report)
        n = len(pop.members)
        result.check(report["ok"] == n, f"support: {n - report['ok']} requests failed {report['errors']}")
        # the count is read after the load has drained: what is checked is the count, not the
        # speed of this one read (which the need page's scans make slow under load)
        for _ in range(10):
            response = await http.get(
                f"/api/v1/needs/{need['id']}", headers={"Authorization": f"Bearer {reporter.token}"}
            )
            if response.status_code != 504:
                break
        counted = (
            response.json().get("supporter_count") if response.status_code == 200 else response.status_code
        )
    result.check(counted == n, f"support: {counted} Kommunen counted, expected {n}")


async def scenario_similar(target: Target, pop: Population, sizes: Sizes, result: RoundResult) -> None:
    with (HERE / "data" / "needs_pairs.csv").open(encoding="utf-8") as handle:
        queries = sorted({r["query"] for r in csv.DictReader(handle)})
    token = pop.members[0].token
    async with httpx.AsyncClient(base_url=target.base_url, timeout=60) as http:
        # the service's first lookup builds the index over all needs (seconds, and longer than
        # the gateway waits on a loaded machine); that is not what is measured
        deadline = time.monotonic() + 90
        while True:
            warm = await http.get(
                "/api/v1/needs/similar",
                params={"text": queries[0]},
                headers={"Authorization": f"Bearer {token}"},
            )
            if warm.status_code != 504 or time.monotonic() > deadline:
                break
        result.check(warm.status_code == 200, f"similar: warm-up answered {warm.status_code}")
    jobs = [
        [
            call(
                "GET",
                "/api/v1/needs/similar?" + httpx.QueryParams({"text": queries[i % len(queries)]}).__str__(),
                token,
            )
        ]
        for i in range(sizes.lookups)
    ]
    report = await generate(target.port, jobs, sizes.lookup_concurrency, sizes.phase_seconds / 2, target.pids)
    result.figures["similar"] = summary(report)
    result.check(
        report["ok"] == report["requests"],
        f"similar: {report['requests'] - report['ok']} lookups failed {report['errors']}",
    )


async def scenario_baselines(port: int, sizes: Sizes, result: RoundResult) -> None:
    from bench.baseline import body

    for name in ("bare", "forward"):
        jobs = [[call("POST", f"/{name}", None, None)] for _ in range(sizes.baseline_requests)]
        for i, job in enumerate(jobs):
            job[0]["body"] = body(i)
            job[0]["headers"]["Content-Type"] = "application/json"
        # a cold server (first imports, first connections) is not what is measured
        await generate(port, jobs[: max(1, len(jobs) // 10)], sizes.vote_concurrency, 5.0)
        report = await generate(port, jobs, sizes.vote_concurrency, sizes.phase_seconds / 4)
        result.figures[f"baseline_{name}"] = summary(report)
        result.check(
            report["ok"] == report["requests"],
            f"baseline {name}: {report['requests'] - report['ok']} failed {report['errors']}",
        )


# the storage's cost for copies of a stored survey response (scenario_response_storage)
RESPONSE_BASELINES = (
    "db_insert_response",
    "db_find_response",
    "db_update_response",
    "db_insert_response_grouped",
    "db_find_response_grouped",
    "db_update_response_grouped",
)


def brief(result: RoundResult, step: str) -> str:
    keys = {
        "baselines": ["baseline_bare", "baseline_forward"],
        "database": ["db_insert", "db_find", "db_insert_grouped", "db_find_grouped", "js_publish", "kv_get"],
        "responses stored, page rendered": list(RESPONSE_BASELINES),
        "votes": ["votes"],
        "support": ["support"],
        "similar": ["similar"],
        "fan-out and surveys": ["surveys"],
        "survey page": ["page"],
    }[step]
    parts = []
    for key in keys:
        f = result.figures.get(key)
        if f:
            parts.append(f"{key} {f['per_s']:.0f}/s p99 {f['p99_ms']:.0f} ms ({f['ok']}/{f['requests']} ok)")
    if step == "votes" and "poll_opened_mails" in result.figures:
        m = result.figures["poll_opened_mails"]
        parts.append(f"poll opened: {m['mails']:.0f}/{m['expected']:.0f} mails in {m['seconds']:.1f} s")
    if step == "votes" and "live_delay" in result.figures:
        parts.append(f"live delay p99 {result.figures['live_delay']['p99_ms']:.0f} ms")
    if step.startswith("responses") and "render_page" in result.figures:
        parts.append(f"page rendered in {result.figures['render_page']['cpu_ms_per_request']:.2f} ms CPU")
    if step.startswith("fan-out") and "fanout" in result.figures:
        parts.append(f"fan-out {result.figures['fanout']['seconds']:.1f} s")
    return "; ".join(parts)


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


async def run_round(
    target: Target, pop: Population, sizes: Sizes, baseline_port: int | None, log: Any = print
) -> RoundResult:
    result = RoundResult()
    steps: list[tuple[str, Any]] = []
    if baseline_port is not None:
        steps.append(("baselines", lambda: scenario_baselines(baseline_port, sizes, result)))
    steps.append(("database", lambda: scenario_database(target, sizes, result)))
    steps += [
        ("votes", lambda: scenario_votes(target, pop, sizes, result)),
        ("similar", lambda: scenario_similar(target, pop, sizes, result)),
    ]
    survey: list[str] = []

    async def surveys() -> None:
        survey.append(await scenario_surveys(target, pop, sizes, result))

    async def page() -> None:
        if survey:
            await scenario_page(target, pop, sizes, survey[0], result)

    async def unavoidable() -> None:
        # the cost of the survey's own documents and of its page's HTML, for the ceilings
        if survey:
            # the rendering first: the storage phase leaves FerretDB busy for a moment
            await scenario_render(target, pop, sizes, survey[0], result)
            await scenario_response_storage(target, sizes, survey[0], result)

    # "betrifft uns auch" last: each of the 218 supports tells the people of every Kommune
    # that supported before (docs/notifications.md), ~100,000 inbox and digest entries written
    # in the background for minutes afterwards, which would weigh on whatever is measured next
    steps += [
        ("fan-out and surveys", surveys),
        ("survey page", page),
        ("responses stored, page rendered", unavoidable),
        ("support", lambda: scenario_support(target, pop, sizes, result)),
    ]
    for index, (name, step) in enumerate(steps):
        waited = ""
        if index > 0 and name != "database":
            # each scenario on a quiet stack: the events of the one before (mails, inbox entries,
            # webhooks) are handled first, so its figures and its CPU by process are its own
            quiet_s = await settle(target, PHASE_SETTLE_LIMIT)
            waited = (
                f" (after {quiet_s:.1f} s for the consumers)" if quiet_s == quiet_s else " (consumers busy)"
            )
        started = time.perf_counter()
        try:
            await step()
        except Exception as exc:  # one broken scenario must not hide the others' figures
            result.failures.append(f"{name}: {exc!r}"[:500])
        log(f"  {name}: {time.perf_counter() - started:.1f} s{waited} {brief(result, name)}")
    started = time.perf_counter()
    quiet = await settle(target, SETTLE_LIMIT)
    result.figures["settle_s"] = quiet
    log(
        f"  events handled by every consumer {quiet:.1f} s after the last scenario"
        if quiet == quiet
        else f"  consumers still busy after {time.perf_counter() - started:.0f} s"
    )
    result.figures["rss_mb"] = {name: rss_mb(pid) for name, pid in target.pids.items()}
    return result


SETTLE_LIMIT = 120.0
PHASE_SETTLE_LIMIT = 20.0


async def settle(target: Target, limit: float) -> float:
    """Wait until every durable consumer of the event stream has handled every event (the
    notifications of the last scenario are written in the background), so the next round starts
    on a quiet stack; returns the seconds waited, NaN when `limit` passed first."""
    conn = await connect(target.settings.nats_url, "bench-settle", target.nats_credentials)
    started = time.perf_counter()
    try:
        js = conn.nc.jetstream(timeout=5.0)
        stream = target.settings.names.event_stream
        while time.perf_counter() - started < limit:
            busy = 0
            for info in await js.consumers_info(stream):
                busy += (info.num_pending or 0) + (info.num_ack_pending or 0)
            if busy == 0:
                return time.perf_counter() - started
            await asyncio.sleep(0.5)
        return float("nan")
    finally:
        await conn.close()


def spread(values: list[float]) -> dict[str, float]:
    clean = [v for v in values if v == v]  # NaN out
    if not clean:
        return {"median": float("nan"), "min": float("nan"), "max": float("nan"), "runs": 0}
    return {"median": statistics.median(clean), "min": min(clean), "max": max(clean), "runs": len(clean)}


async def _storage_phase(name: str, op: Any, count: int, sizes: Sizes, result: RoundResult) -> None:
    """`count` calls of `op(i)` at the ballots' concurrency from this process; the figure is the
    machine's CPU per call (the server's and this client's, which a service would spend too)."""
    latencies: list[float] = []
    queue = list(range(count))

    async def worker() -> None:
        while queue:
            i = queue.pop()
            started = time.perf_counter()
            await op(i)
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    machine0 = machine_cpu_s()
    await asyncio.wait_for(
        asyncio.gather(*(worker() for _ in range(sizes.vote_concurrency))), sizes.phase_seconds
    )
    report = {
        "requests": len(latencies),
        "ok": len(latencies),
        "statuses": {"ok": len(latencies)},
        "latencies_ms": latencies,
        "wall_s": time.perf_counter() - started,
        "machine_cpu_s": machine_cpu_s() - machine0,
        "cpu_s": 0.0,  # no separate generator: this client's CPU is part of the cost
        "errors": [],
    }
    result.figures[name] = {
        **summary(report),
        "generator_cpu_s": float("nan"),
        "generator_cpu_share": float("nan"),
    }


async def _warm(coll: Any, concurrency: int) -> None:
    """Create the collection and open the client's connections before the timing starts: the
    services write into existing collections over connections they keep, and a cold start (a
    table created under FerretDB's metadata lock, 64 connections opened at once) stalled every
    request in flight for up to half a second, which made the storage baselines' p99 a figure
    of the start, not of the store. PyMongo opens connections two at a time as demand stays high,
    so the pool is filled by lookups at full concurrency (~50 per connection), not by one burst."""
    await coll.insert_one({"_id": "warm-up"})
    left = 50 * concurrency

    async def lookups() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await coll.find_one({"_id": "warm-up"})

    await asyncio.gather(*(lookups() for _ in range(concurrency)))


async def scenario_database(target: Target, sizes: Sizes, result: RoundResult) -> None:
    """The storage's own ceiling: single-document inserts and `_id` lookups on FerretDB at the
    same concurrency as the ballots, from this process (PyMongo async, like the services), and
    JetStream publishes of an event with their acknowledgement (nats-py, like the outbox relay)."""
    client = mongo.client(target.settings.mongodb_url)
    try:
        coll = client[target.settings.names.database("bench")][f"probe{time.monotonic_ns()}"]
        count = sizes.baseline_requests // 3

        async def insert(i: int) -> None:
            await coll.insert_one({"_id": f"d{i}", "poll_id": "p", "voter": f"v{i}", "points": [2, 2, 0]})

        async def find(i: int) -> None:
            await coll.find_one({"_id": f"d{i}"})

        grouped = mongo.GroupInsert(coll)
        lookups = mongo.GroupFind(coll)

        async def insert_grouped(i: int) -> None:
            # the same documents, inserted the way the surveys service stores first ballots
            await grouped.insert({"_id": f"g{i}", "poll_id": "p", "voter": f"v{i}", "points": [2, 2, 0]})

        async def find_grouped(i: int) -> None:
            # and looked up the way the directory looks up tokens
            await lookups.get(f"d{i}")

        await _warm(coll, sizes.vote_concurrency)
        await _storage_phase("db_insert", insert, count, sizes, result)
        await _storage_phase("db_find", find, count, sizes, result)
        await _storage_phase("db_insert_grouped", insert_grouped, count, sizes, result)
        await _storage_phase("db_find_grouped", find_grouped, count, sizes, result)
        await coll.drop()
    finally:
        await client.close()
    await _jetstream_phase(target, sizes, result)


async def _jetstream_phase(target: Target, sizes: Sizes, result: RoundResult) -> None:
    """Every fact is an event in JetStream (file storage, de-duplicated by `Nats-Msg-Id`), so
    every write of the scenarios costs at least one such publish."""
    conn = await connect(target.settings.nats_url, "bench-jetstream", target.nats_credentials)
    try:
        js = conn.nc.jetstream(timeout=5.0)
        stream = f"BENCH_PROBE_{time.monotonic_ns()}"
        subject = f"{stream.lower()}.ballot"
        await js.add_stream(
            StreamConfig(
                name=stream,
                subjects=[f"{stream.lower()}.>"],
                storage=StorageType.FILE,
                duplicate_window=120.0,
            )
        )
        payload = json.dumps(
            {
                "id": "0" * 26,
                "type": "ballot.cast",
                "version": "1",
                "source": "surveys",
                "subject": "polls/p0123456789",
                "time": datetime.now(UTC).isoformat(),
                "data": {"poll_id": "p0123456789", "voter": "person-0123456789", "replaced": False},
            }
        ).encode()
        trace = "00-" + "1" * 32 + "-" + "2" * 16 + "-01"

        async def publish(i: int) -> None:
            headers = {"Nats-Msg-Id": f"{stream}-{i}", "traceparent": trace}
            await js.publish(subject, payload, headers=headers, timeout=5.0)

        try:
            await _storage_phase("js_publish", publish, sizes.baseline_requests // 3, sizes, result)
        finally:
            await js.delete_stream(stream)
        await _kv_phase(js, sizes, result)
    finally:
        await conn.close()


async def _kv_phase(js: Any, sizes: Sizes, result: RoundResult) -> None:
    """A read from a NATS KV bucket with direct gets, as a gateway reads a token it has not seen
    (the token bucket) and a page's session: the least such a read costs."""
    bucket = f"bench_kv_{time.monotonic_ns()}"
    kv = await js.create_key_value(KeyValueConfig(bucket=bucket, history=1, direct=True))
    try:
        value = json.dumps(
            {"person_id": "person-0123456789", "organisation_id": "15003", "roles": ["member"]}
        )
        keys = [hashlib.sha256(f"k{i}".encode()).hexdigest() for i in range(256)]
        for key in keys:
            await kv.put(key, value.encode())

        async def get(i: int) -> None:
            await kv.get(keys[i % len(keys)])

        await _storage_phase("kv_get", get, sizes.baseline_requests // 3, sizes, result)
    finally:
        await js.delete_key_value(bucket)


async def scenario_response_storage(
    target: Target, sizes: Sizes, survey_id: str, result: RoundResult
) -> None:
    """The storage's cost for the survey's own documents: copies of a stored response of the
    bench survey (its answers, the Kommune's snapshot, the saver, the outbox) inserted, read and
    updated by `_id` as a draft save and a submission do, alone and grouped as the surveys
    service sends them. FerretDB converts whole documents, so these cost more than the small ones
    of `scenario_database`."""
    client = mongo.client(target.settings.mongodb_url)
    try:
        stored = await client[target.settings.names.database("surveys")]["survey_responses"].find_one(
            {"survey_id": survey_id}
        )
        if stored is None:
            result.failures.append("response storage: no stored response of the bench survey")
            return
        coll = client[target.settings.names.database("bench")][f"responses{time.monotonic_ns()}"]
        count = sizes.baseline_requests // 3
        answers = stored.get("answers") or {}

        async def insert(i: int) -> None:
            await coll.insert_one({**stored, "_id": f"r{i}", "state": "draft"})

        async def find(i: int) -> None:
            await coll.find_one({"_id": f"r{i}"}, {"outbox": 0})

        async def update(i: int) -> None:
            now = datetime.now(UTC)
            fields = {"answers": answers, "state": "submitted", "submitted_at": now, "updated_at": now}
            await coll.update_one({"_id": f"r{i}"}, {"$set": fields})

        inserts, lookups, updates = (
            mongo.GroupInsert(coll),
            mongo.GroupFind(coll, {"outbox": 0}),
            mongo.GroupUpdate(coll),
        )

        # the same operations made by 64 callers the way the surveys service makes them: those of
        # the same moment share one command (#63)
        async def insert_grouped(i: int) -> None:
            await inserts.insert({**stored, "_id": f"g{i}", "state": "draft"})

        async def find_grouped(i: int) -> None:
            await lookups.get(f"g{i}")

        async def update_grouped(i: int) -> None:
            now = datetime.now(UTC)
            fields = {"answers": answers, "state": "submitted", "submitted_at": now, "updated_at": now}
            await updates.update_one({"_id": f"g{i}"}, {"$set": fields})

        await _warm(coll, sizes.vote_concurrency)
        await _storage_phase("db_insert_response", insert, count, sizes, result)
        await _storage_phase("db_find_response", find, count, sizes, result)
        await _storage_phase("db_update_response", update, count, sizes, result)
        await _storage_phase("db_insert_response_grouped", insert_grouped, count, sizes, result)
        await _storage_phase("db_find_response_grouped", find_grouped, count, sizes, result)
        await _storage_phase("db_update_response_grouped", update_grouped, count, sizes, result)
        await coll.drop()
    finally:
        await client.close()


async def scenario_render(
    target: Target, pop: Population, sizes: Sizes, survey_id: str, result: RoundResult
) -> None:
    """The CPU of rendering the survey page's HTML with the gateway's template and page context
    (in this process, as the gateway does it): part of any page's least cost, which the
    forwarded-POST baseline does not have."""
    async with httpx.AsyncClient(base_url=target.base_url, timeout=60) as http:
        member = pop.members[0]
        survey = await api(http, "GET", f"/api/v1/surveys/{survey_id}", member.token)
        response = await api(http, "GET", f"/api/v1/surveys/{survey_id}/response", member.token)
    result.figures["render_page"] = {
        "cpu_ms_per_request": render_cpu_ms(survey, response, member, sizes.renders),
        "requests": sizes.renders,
    }


def render_cpu_ms(survey: dict[str, Any], response: dict[str, Any], member: Person, renders: int) -> float:
    """Median CPU milliseconds of one render of a member's answer page (base frame included)."""
    import msgspec

    from gateway import i18n
    from gateway.app import template_environment
    from gateway.sessions import Session
    from gateway.web.pages import base_context
    from gateway.web.surveys import ANSWER_TEMPLATE, answer_page_context
    from services.contracts import surveys as sc
    from services.contracts.envelope import Principal

    i18n.load()
    template = template_environment().get_template(ANSWER_TEMPLATE)
    principal = Principal(person_id=member.id, organisation_id=member.organisation_id, roles=("member",))
    session = Session(principal=principal, name="Team Bench", csrf="c" * 32, created_at=time.time())
    context = {
        **base_context(session, 3, session.csrf, f"/umfragen/{survey['id']}"),
        **answer_page_context(
            msgspec.json.decode(json.dumps(survey), type=sc.Survey),
            msgspec.json.decode(json.dumps(response), type=sc.Response),
        ),
    }
    template.render(context)  # compiled and warm, as in the running gateway
    times = []
    for _ in range(renders):
        started = time.process_time()
        template.render(context)
        times.append((time.process_time() - started) * 1000)
    return statistics.median(times)
