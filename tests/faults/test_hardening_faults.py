"""Faults a user would notice: the database away, a service killed mid-request.

Each test counts what the gateway accepted (2xx) and compares it with what is stored afterwards;
the counts go to the figures (`fault scenarios run`, `records lost`).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import signal
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from services.contracts import directory as dc
from services.contracts.envelope import Principal
from services.runtime import mongo
from tests.conftest import Stack
from tests.e2e.conftest_polls import events
from tests.e2e.needs_support import report
from tests.e2e.surveys_support import closes_in, kommune
from tests.support import servers
from tests.support.figures import Recorder

pytestmark = [pytest.mark.faults, pytest.mark.hardening]

# demo Kommunen with a member login (services/directory/demo_organisations.csv)
KOMMUNEN = ["15001", "15002", "15003", "15081", "15082", "15083", "15084", "15085"]
OUTAGE_SECONDS = 10.0


def gave_up(response: httpx.Response) -> bool:
    """A 504 problem: the gateway stopped waiting first. Honest (the outcome is unknown), and
    only seen when the shared test machine starves the one event loop the test stack runs in."""
    return response.status_code == 504 and response.headers.get("content-type", "").startswith(
        "application/problem+json"
    )


def problem_ok(response: httpx.Response) -> bool:
    """A 503 the way api.md promises it: problem details with a retry hint."""
    return (
        response.status_code == 503
        and response.headers.get("content-type", "").startswith("application/problem+json")
        and response.headers.get("retry-after", "").isdigit()
        and response.json().get("status") == 503
    )


async def stored(stack: Stack, service: str, collection: str, query: dict[str, Any]) -> list[dict[str, Any]]:
    client = mongo.client(stack.settings.mongodb_url)
    try:
        db = client[stack.settings.names.database(service)]
        return await db[collection].find(query).to_list(None)
    finally:
        await client.close()


class TestDatabaseOutage:
    async def test_answers_during_a_ferretdb_outage_get_503_and_nothing_accepted_is_lost(
        self, stack: Stack, ferretdb: servers.Process, figures: Recorder
    ) -> None:
        ministry = await stack.login()
        survey = {
            "title": "Ausfalltest",
            "description": "Antworten, während die Datenbank fehlt.",
            "questions": [{"id": "n", "kind": "number", "label": "Zähler", "min": 0, "max": 100000}],
            "audience": {"kind": "organisations", "ids": KOMMUNEN},
            "respond_as": "organisation",
            "closes_at": closes_in(days=3),
        }
        created = await ministry.post("/api/v1/surveys", json=survey)
        assert created.status_code == 201, created.text
        survey_id = created.json()["id"]
        assert (await ministry.post(f"/api/v1/surveys/{survey_id}/publish")).status_code == 200
        members = {ags: await stack.login(kommune(ags)) for ags in KOMMUNEN}

        # each Kommune saves an ever larger number; the last one saved with a 2xx must be stored
        accepted: dict[str, int] = {}
        attempted: dict[str, int] = {}
        statuses: Counter[int] = Counter()
        bad: list[str] = []
        stop = asyncio.Event()

        async def answer(ags: str) -> None:
            n = 0
            while not stop.is_set():
                n += 1
                attempted[ags] = n
                response = await members[ags].put(
                    f"/api/v1/surveys/{survey_id}/response", json={"answers": {"n": n}}
                )
                statuses[response.status_code] += 1
                if response.status_code == 200:
                    accepted[ags] = n
                elif not (problem_ok(response) or gave_up(response)):
                    bad.append(f"{response.status_code} {response.headers} {response.text[:200]}")
                await asyncio.sleep(0.3)

        writers = [asyncio.create_task(answer(ags)) for ags in KOMMUNEN]
        try:
            await asyncio.sleep(3.0)
            before = dict(accepted)
            ferretdb.stop()
            await asyncio.sleep(OUTAGE_SECONDS)
            during = Counter(statuses)
            ferretdb.start()
            # go on until every Kommune has been accepted again after the outage
            for _ in range(300):
                if all(accepted.get(a, 0) > before.get(a, 0) + 2 for a in KOMMUNEN) and len(accepted) == len(
                    KOMMUNEN
                ):
                    break
                await asyncio.sleep(0.1)
        finally:
            if not ferretdb.running:
                ferretdb.start()
            stop.set()
            await asyncio.gather(*writers)

        assert bad == [], "every refusal is a 503 with problem details and Retry-After (or a 504 problem)"
        assert statuses[500] == 0
        assert during[503] > during[504], "the outage is reported as such, with a retry hint"
        docs = {d["_id"].split(":", 1)[1]: d for d in await stored(stack, "surveys", "survey_drafts", {})}
        lost = [
            ags
            for ags in KOMMUNEN
            # later saves replace earlier ones by design: nothing accepted is lost when the stored
            # value is the last accepted one or a later attempt
            if not (accepted[ags] <= docs[ags]["answers"]["n"] <= attempted[ags])
        ]
        figures.record(
            "faults", "FerretDB outage: saves answered 2xx", sum(v for k, v in statuses.items() if k < 300)
        )
        figures.record("faults", "FerretDB outage: saves answered 503", statuses[503])
        figures.record("faults", "FerretDB outage: saves answered 504 (gateway gave up first)", statuses[504])
        figures.record("faults", "FerretDB outage: 500s", statuses[500])
        figures.record("faults", "FerretDB outage: records lost", len(lost))
        assert lost == []
        # and the responses can be submitted once the database is back
        for ags in KOMMUNEN:
            response = await members[ags].post(f"/api/v1/surveys/{survey_id}/response/submit")
            assert response.status_code == 200, response.text


def _service_env(stack: Stack, service: str) -> dict[str, str]:
    s = stack.settings
    return {
        **os.environ,
        "NATS_URL": s.nats_url,
        "MONGODB_URL": s.mongodb_url,
        "GDST_NAMESPACE": s.namespace,
        "SMTP_PORT": str(s.smtp_port),
        "NATS_USER": service,
        "NATS_PASSWORD": servers.NATS_PASSWORDS[service],
        "LOG_JSON": "0",
        "LOG_LEVEL": "WARNING",
    }


class TestServiceKilled:
    async def test_sigkill_mid_request_gives_503_or_504_never_a_hang_and_keeps_what_was_accepted(
        self, stack: Stack, figures: Recorder
    ) -> None:
        await stack.stop_service("needs")
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "services.needs",
            env=_service_env(stack, "needs"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            member = await stack.login(kommune("15003"))
            for _ in range(200):
                if (await member.get("/api/v1/needs")).status_code == 200:
                    break
                await asyncio.sleep(0.1)

            async def report(i: int) -> httpx.Response:
                body = {
                    "title": f"Bedarf im Absturz {i}",
                    "description": "Beschreibung.",
                    "category": "querschnitt",
                }
                return await member.post("/api/v1/needs", json=body)

            # a steady stream of requests; the kill comes once a few are answered, so some are
            # done, some in the service's hands and some not yet sent
            requests: list[asyncio.Task[httpx.Response]] = []
            for i in range(40):
                requests.append(asyncio.create_task(report(i)))
                await asyncio.sleep(0.05)
                if sum(1 for t in requests if t.done() and t.result().status_code == 201) >= 3:
                    break
            burst = [asyncio.create_task(report(50 + i)) for i in range(20)]
            await asyncio.sleep(0.1)  # the burst is in the service's hands (each write takes a while)
            proc.send_signal(signal.SIGKILL)
            requests += burst + [asyncio.create_task(report(100 + i)) for i in range(4)]
            started = time.monotonic()
            responses = await asyncio.gather(*requests)
            waited = time.monotonic() - started
        finally:
            if proc.returncode is None:
                proc.kill()
            await asyncio.wait_for(proc.wait(), 10)
        statuses = Counter(r.status_code for r in responses)
        assert set(statuses) <= {201, 503, 504}, statuses
        assert statuses[503] + statuses[504] > 0, "the kill hit requests in flight"
        for r in responses:
            if r.status_code in (503, 504):
                assert r.headers["content-type"].startswith("application/problem+json")
        # never a hang: everything came back well within the client's own 30 s timeout
        assert waited < 30
        await stack.start_service("needs")
        ids = {r.json()["id"] for r in responses if r.status_code == 201}
        kept = {d["_id"] for d in await stored(stack, "needs", "needs", {"_id": {"$in": sorted(ids)}})}
        figures.record("faults", "SIGKILL mid-request: answers", dict(sorted(statuses.items())).__repr__())
        figures.record("faults", "SIGKILL mid-request: records lost", len(ids - kept))
        # written just before the kill but never confirmed: the caller saw 504 and may retry
        everything = await stored(stack, "needs", "needs", {})
        figures.record("faults", "SIGKILL mid-request: stored although 504", len(everything) - len(ids))
        assert kept == ids


async def admin_login(stack: Stack) -> tuple[str, str]:
    """An administrator (only an admin may grant the role: created through the directory)."""
    directory = stack.processes["directory"].parts["service"]
    root = Principal(person_id="ops", organisation_id="15", roles=("admin",))
    email_, password = "admin@gdst.example", "admin-passwort-123"
    person = dc.CreatePerson(
        email=email_, name="Ada Admin", organisation_id="15", roles=["admin"], password=password
    )
    await directory.create_person(root, person)
    return email_, password


class _RefusingHandler:
    """An SMTP server that refuses one mailbox for good (550) and another for a while (451)."""

    def __init__(self, box: servers.Mailbox, refused: str, busy: str, busy_times: int) -> None:
        self.box = box
        self.refused = refused
        self.busy = busy
        self.busy_left = busy_times
        self.refusals: Counter[str] = Counter()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address == self.refused:
            self.refusals[address] += 1
            return "550 5.1.1 Postfach unbekannt"
        if address == self.busy and self.busy_left > 0:
            self.busy_left -= 1
            self.refusals[address] += 1
            return "451 4.3.0 Bitte später erneut versuchen"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.box.messages.append(message)
        return "250 OK"


class TestSmtpRefusal:
    async def test_permanent_refusal_is_marked_failed_temporary_is_retried(
        self, stack: Stack, figures: Recorder
    ) -> None:
        refused, busy, fine = (kommune(a) for a in ("15001", "15002", "15003"))
        box = servers.Mailbox()
        handler = _RefusingHandler(box, refused, busy, busy_times=2)
        port = servers.free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        await stack.stop_service("notifications")
        stack.settings = stack.settings.with_(smtp_port=port)
        await stack.start_service("notifications")
        try:
            ministry = await stack.login()
            for ags in ("15001", "15002", "15003"):
                need = await report(await stack.login(kommune(ags)), f"Bedarf aus {ags}")
                response = await ministry.patch(f"/api/v1/needs/{need['id']}", json={"status": "in_pruefung"})
                assert response.status_code == 200
            await box.wait_for(fine, 1, timeout=30)
            proc = stack.processes["notifications"]
            sender = proc.parts["sender"]
            repo = proc.parts["inbox"]
            # the pauses between tries grow; move the sender's clock on instead of waiting
            shift = [0.0]

            def clock() -> datetime:
                shift[0] += 700
                return datetime.now(UTC) + timedelta(seconds=shift[0])

            sender.clock = clock
            await box.wait_for(busy, 1, timeout=60)
            for _ in range(300):
                failed = await repo.mails.find({"state": "failed"}).to_list(None)
                if failed:
                    break
                await asyncio.sleep(0.1)
            assert [d["to"] for d in failed] == [refused]
            assert "550" in failed[0]["last_error"] and "Postfach unbekannt" in failed[0]["last_error"]
            assert await repo.mail_state(failed[0]["_id"]) == "failed"
            tries = handler.refusals[refused]
            await asyncio.sleep(3.0)
            assert handler.refusals[refused] == tries, "a mail refused for good is not tried again"
            assert box.to(refused) == []
            assert len(box.to(busy)) == 1 and len(box.to(fine)) == 1, "each once"
            # what an administrator sees: the refused mail with the server's answer, not retried
            admin = await stack.login(*await admin_login(stack))
            problems = (await admin.get("/api/v1/admin/mail-problems")).json()["items"]
            assert [(p["to"], p["state"]) for p in problems] == [(refused, "failed")]
            assert "Postfach unbekannt" in problems[0]["last_error"]
            assert problems[0]["failed_at"] is not None
            figures.record("faults", "SMTP 550: attempts before failed", tries)
            figures.record("faults", "SMTP 451: refusals before delivered", handler.refusals[busy])
        finally:
            await stack.stop_service("notifications")
            controller.stop()


class TestNatsRestart:
    async def test_submits_across_a_nats_restart_are_stored_and_published_once(
        self, stack: Stack, nats_server: servers.Process, figures: Recorder
    ) -> None:
        ministry = await stack.login()
        survey = {
            "title": "Neustarttest",
            "description": "Einreichen, während NATS neu startet.",
            "questions": [{"id": "n", "kind": "number", "label": "Zahl", "min": 0, "max": 10}],
            "audience": {"kind": "organisations", "ids": KOMMUNEN},
            "respond_as": "organisation",
            "closes_at": closes_in(days=3),
        }
        created = await ministry.post("/api/v1/surveys", json=survey)
        survey_id = created.json()["id"]
        assert (await ministry.post(f"/api/v1/surveys/{survey_id}/publish")).status_code == 200
        members = {ags: await stack.login(kommune(ags)) for ags in KOMMUNEN}

        async def submit(ags: str) -> httpx.Response:
            return await members[ags].post(
                f"/api/v1/surveys/{survey_id}/response/submit", json={"answers": {"n": 1}}
            )

        first, second = KOMMUNEN[:4], KOMMUNEN[4:]
        assert [(await submit(a)).status_code for a in first] == [200] * 4
        # cut NATS right after: their events may still wait in the outbox
        nats_server.kill()
        try:
            refused = await asyncio.gather(*(submit(a) for a in second))
            assert all(problem_ok(r) for r in refused), [r.text for r in refused]
        finally:
            nats_server.start()
        for ags in second:
            for _ in range(200):
                response = await submit(ags)
                if response.status_code == 200:
                    break
                assert problem_ok(response), response.text
                await asyncio.sleep(0.1)
            assert response.status_code == 200, response.text
        # the consumers are back: a fact after the restart reaches its mail
        invite = {"email": "nach-neustart@halle.example", "name": "Nina Neu", "organisation_id": "15002"}
        assert (
            await ministry.post("/api/v1/invitations", json={**invite, "roles": ["member"]})
        ).status_code == 201
        await stack.mailbox.wait_for("nach-neustart@halle.example", 1, timeout=60)

        published: list[str] = []
        for _ in range(100):
            found = await events(stack, "response.submitted")
            published = [e.subject or "" for e in found if e.type == "response.submitted"]
            if len(published) >= len(KOMMUNEN):
                break
            await asyncio.sleep(0.2)
        docs = await stored(stack, "surveys", "survey_responses", {"survey_id": survey_id})
        submitted = sorted(d["_id"].split(":", 1)[1] for d in docs if d.get("state") == "submitted")
        figures.record("faults", "NATS restart: submits accepted", len(KOMMUNEN))
        figures.record("faults", "NATS restart: records lost", len(KOMMUNEN) - len(submitted))
        figures.record("faults", "NATS restart: events published (expected 8)", len(published))
        assert submitted == sorted(KOMMUNEN)
        assert len(published) == len(KOMMUNEN), "each submit published once: none lost, none twice"
