"""Secrets never reach the logs: passwords, session ids, CSRF tokens, API tokens, invitation
tokens and webhook secrets, through a login, an invitation and a webhook flow (with failures
on the way), as JSON log lines at the production level and our own debug lines."""

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.sessions import COOKIE
from services.runtime import logs
from services.runtime.logs import JsonFormatter
from tests.conftest import DEMO_PASSWORD, MINISTRY, Stack
from tests.e2e.needs_support import report
from tests.e2e.test_invitation_slice import invitation_link
from tests.e2e.test_webhooks import Receiver
from tests.hardening.support import MEMBER
from tests.support.http import serve

pytestmark = pytest.mark.hardening

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
NEW_PASSWORD = "Bode-Tal-Treseburg-9"
WRONG_PASSWORD = "Falsches-Passwort-42"


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """Every log line of the run as JSON: INFO and up from everything (what production
    writes), DEBUG from the project's own loggers."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter("test"))
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    ours = [logging.getLogger(name) for name in ("services", "gateway")]
    libraries = [logging.getLogger(name) for name in logs.QUIET_LIBRARIES]
    saved = (root.level, [lg.level for lg in ours], [lg.level for lg in libraries])
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logs.quiet_libraries()  # as `logs.configure` does in every process
    for lg in ours:
        lg.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        for lg, level in zip(ours, saved[1], strict=True):
            lg.setLevel(level)
        for lg, level in zip(libraries, saved[2], strict=True):
            lg.setLevel(level)


async def test_no_secret_appears_in_the_logs(stack: Stack, json_logs: io.StringIO, figures: Any) -> None:
    secrets: dict[str, str] = {"demo password": DEMO_PASSWORD, "wrong password": WRONG_PASSWORD}

    # logins: API, page form, a failure, a lockout
    api = await stack.login(MEMBER)
    secrets["session id (API)"] = api.cookies[COOKIE]
    secrets["CSRF token (API)"] = api.headers["X-CSRF-Token"]
    browser = stack.client()
    form = await browser.get("/anmelden")
    pre = CSRF_FIELD.search(form.text)
    assert pre
    secrets["pre-login CSRF token"] = pre.group(1)
    await browser.post(
        "/anmelden", data={"email": MEMBER, "password": WRONG_PASSWORD, "csrf_token": pre.group(1)}
    )
    done = await browser.post(
        "/anmelden", data={"email": MEMBER, "password": DEMO_PASSWORD, "csrf_token": pre.group(1)}
    )
    assert done.status_code in (302, 303)
    secrets["session id (page)"] = browser.cookies[COOKIE]
    for _ in range(6):
        await stack.client().post(
            "/api/v1/session", json={"email": "gesperrt@halle.example", "password": WRONG_PASSWORD}
        )

    # API tokens: created, used, a wrong one tried, revoked
    token = (await api.post("/api/v1/tokens", json={"name": "Fachverfahren"})).json()
    secrets["API token"] = token["token"]
    bearer = stack.client(headers={"Authorization": f"Bearer {token['token']}"})
    assert (await bearer.get("/api/v1/me")).status_code == 200
    assert (
        await stack.client(headers={"Authorization": "Bearer " + token["token"][::-1]}).get("/api/v1/me")
    ).status_code == 401
    assert (await api.delete(f"/api/v1/tokens/{token['id']}")).status_code == 204

    # invitation: mail, a refused weak password, acceptance, first login
    ministry = await stack.login(MINISTRY)
    invited = await ministry.post(
        "/api/v1/invitations",
        json={
            "email": "ida.insel@halle.example",
            "name": "Ida Insel",
            "organisation_id": "15002",
            "roles": ["member"],
        },
    )
    assert invited.status_code == 201
    [mail] = await stack.mailbox.wait_for("ida.insel@halle.example")
    invitation = invitation_link(mail).rsplit("/", 1)[1]
    secrets["invitation token"] = invitation
    await stack.client().post(f"/api/v1/invitations/{invitation}/accept", json={"password": "passwort123"})
    accepted = await stack.client().post(
        f"/api/v1/invitations/{invitation}/accept", json={"password": NEW_PASSWORD}
    )
    assert accepted.status_code == 200
    secrets["new password"] = NEW_PASSWORD
    await stack.login("ida.insel@halle.example", NEW_PASSWORD)

    # webhook: a secret, a receiver that fails once, then takes the signed delivery
    receiver = Receiver(fail_first=1)
    async with serve(receiver) as url:  # type: ignore[arg-type]
        # receivers often take their own secret in the URL; httpx used to log every URL at INFO
        secrets["receiver's token in the webhook URL"] = "empfaenger-geheimnis-4711"
        hook_url = f"{url}/hook?token=empfaenger-geheimnis-4711"
        hook = (
            await ministry.post("/api/v1/webhooks", json={"url": hook_url, "event_types": ["need.reported"]})
        ).json()
        secrets["webhook secret"] = hook["secret"]
        secrets["webhook key"] = hook["secret"].removeprefix("whsec_")
        await report(api, "Bedarf für den Webhook")
        sender = stack.processes["notifications"].parts["webhook_sender"]
        for _ in range(100):
            await sender.run_once()
            if receiver.received:
                break
            await asyncio.sleep(0.3)
        assert receiver.received, "the webhook was delivered"
    assert (await api.delete("/api/v1/session")).status_code == 204

    logs = json_logs.getvalue()
    lines = logs.count("\n")
    leaked = sorted(name for name, value in secrets.items() if value and value in logs)
    figures.record("web security", "log lines checked for secrets", lines)
    figures.record("web security", "secrets leaked into logs", len(leaked))
    assert lines > 0
    assert leaked == [], f"secrets in the logs: {leaked}"
