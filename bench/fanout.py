"""Notification fan-out: a survey published to the 218 Kommunen of Sachsen-Anhalt with 5 people
each — how long until the SMTP server has all 1,090 mails.

Starts the real stack (as `make run` does) on its own ports and data folder, with its own
counting SMTP server, imports the municipality register, seeds the people directly into the
directory's database (the figure is about mail, not about 1,090 argon2 hashes), publishes the
survey through the gateway's API and times the arrival of the mails.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.platform import stack_env
from deploy.local import Console, Ports, start_stack
from services.directory.cli import import_organisations
from services.directory.passwords import Passwords
from services.runtime import mongo
from services.runtime.settings import Settings
from tests.support.servers import Mailbox, SmtpServer, free_port

ROOT = Path(__file__).resolve().parents[1]
REGISTER = ROOT.parent / "shared" / "data" / "sachsen-anhalt-gebiete.csv"
MUNICIPAL = ("kreisfreie_stadt", "stadt", "gemeinde")
PEOPLE_PER_KOMMUNE = 5
PASSWORD = "bench-passwort-1"


@dataclass
class FanoutResult:
    kommunen: int
    mails: int
    seconds: float
    received: int
    first_mail: float


async def _seed_people(settings: Settings) -> int:
    client = mongo.client(settings.mongodb_url)
    try:
        db = client[settings.names.database("directory")]
        kommunen = [d["_id"] async for d in db["organisations"].find({"kind": {"$in": list(MUNICIPAL)}})]
        password_hash = await Passwords(1, 1024).hash(PASSWORD)
        now = datetime.now(UTC)
        people = [
            {
                "_id": "bench-ministry",
                "name": "Bench Ministerium",
                "email": "bench@gdst.example",
                "organisation_id": "15",
                "roles": ["ministry"],
                "password_hash": password_hash,
                "active": True,
                "created_at": now,
                "outbox": [],
            }
        ]
        for ags in kommunen:
            for i in range(PEOPLE_PER_KOMMUNE):
                people.append(
                    {
                        "_id": f"bench-{ags}-{i}",
                        "name": f"Person {i} {ags}",
                        "email": f"p{i}.{ags}@bench.example",
                        "organisation_id": ags,
                        "roles": ["member"],
                        "password_hash": password_hash,
                        "active": True,
                        "created_at": now,
                        "outbox": [],
                    }
                )
        await db["people"].insert_many(people)
        await db["emails"].insert_many([{"_id": p["email"], "person_id": p["_id"]} for p in people])
        return len(kommunen)
    finally:
        await client.close()


async def measure(timeout: float = 120.0) -> FanoutResult:
    if not REGISTER.exists():
        raise SystemExit(f"{REGISTER} is missing (../shared/data beside the checkout)")
    box = Mailbox()
    smtp = SmtpServer(box)
    smtp.start()
    var_dir = Path(tempfile.mkdtemp(prefix="gdst-bench-"))
    ports = Ports(nats=free_port(), mongodb=free_port(), smtp=smtp.port, gateway=free_port())
    env = stack_env(smtp.port)
    with open(os.devnull, "w") as quiet:  # noqa: ASYNC230 - opening /dev/null does not block
        stack = await start_stack(ROOT, ports, env, var_dir, demo=False, console=Console(quiet, colour=False))
        try:
            settings = Settings(mongodb_url=f"mongodb://127.0.0.1:{ports.mongodb}/")
            await import_organisations(settings, REGISTER)
            kommunen = await _seed_people(settings)
            expected = kommunen * PEOPLE_PER_KOMMUNE
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports.gateway}", timeout=60) as client:
                login = await client.post(
                    "/api/v1/session", json={"email": "bench@gdst.example", "password": PASSWORD}
                )
                login.raise_for_status()
                client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
                survey: dict[str, Any] = {
                    "title": "Bench: Stand der Digitalisierung",
                    "description": "Benchmark",
                    "questions": [{"id": "q1", "kind": "text", "label": "Wie geht es?", "required": False}],
                    "audience": {"kind": "all_kommunen", "organisation_kinds": list(MUNICIPAL)},
                    "respond_as": "organisation",
                    "closes_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
                }
                created = await client.post("/api/v1/surveys", json=survey)
                created.raise_for_status()
                start = time.perf_counter()
                published = await client.post(f"/api/v1/surveys/{created.json()['id']}/publish")
                published.raise_for_status()
                deadline = start + timeout
                first: float | None = None
                while len(box.messages) < expected and time.perf_counter() < deadline:
                    if first is None and box.messages:
                        first = time.perf_counter() - start
                    await asyncio.sleep(0.05)
                seconds = time.perf_counter() - start
            return FanoutResult(
                kommunen=kommunen,
                mails=expected,
                seconds=seconds,
                received=len(box.messages),
                first_mail=first if first is not None else seconds,
            )
        finally:
            await stack.stop()
            smtp.stop()
            shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    result = asyncio.run(measure())
    print(
        f"{result.received}/{result.mails} mails to the people of {result.kommunen} Kommunen in {result.seconds:.1f} s"
        f" (first after {result.first_mail:.1f} s)"
    )
