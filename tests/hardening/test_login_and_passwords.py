"""Login throttling (per account and per client address) with clear German messages, and the
password policy wherever a password is set."""

from __future__ import annotations

import re

import pytest

from services.directory import password_policy as policy
from tests.conftest import DEMO_PASSWORD, MINISTRY, Stack
from tests.e2e.test_invitation_slice import invitation_link
from tests.hardening.support import MEMBER

pytestmark = pytest.mark.hardening

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


class TestPolicyRules:
    @pytest.mark.parametrize(
        ("password", "message"),
        [
            ("kurz", policy.TOO_SHORT),
            ("x" * 257, policy.TOO_LONG),
            ("anna.amsel@halle.example", policy.IS_EMAIL),
            ("ANNA.AMSEL@HALLE.EXAMPLE!", policy.IS_EMAIL),
            ("anna.amsel", policy.IS_EMAIL),
            ("Anna Amsel Halle", policy.IS_NAME),
            ("Passwort123", policy.TOO_COMMON),
            ("qwertzuiop", policy.TOO_COMMON),
            ("aaaaaaaaaaaa", policy.ONE_CHARACTER),
        ],
    )
    def test_each_rule_names_its_reason(self, password: str, message: str) -> None:
        assert message in policy.problems(password, "anna.amsel@halle.example", "Anna Amsel Halle")

    def test_a_long_unusual_password_is_accepted(self) -> None:
        assert policy.problems("Rotkehlchen singt am Elbufer", "anna.amsel@halle.example", "Anna Amsel") == []


class TestPolicyWherePasswordsAreSet:
    async def test_creating_a_person_with_a_weak_password_is_refused_per_field(self, stack: Stack) -> None:
        ministry = await stack.login(MINISTRY)
        person = {"email": "bert.berg@halle.example", "name": "Bert Berg", "organisation_id": "15002"}
        for password, message in [
            ("bert.berg@halle.example", policy.IS_EMAIL),
            ("passwort123", policy.TOO_COMMON),
            ("kurz", "10 Zeichen"),
        ]:
            response = await ministry.post(
                "/api/v1/people", json={**person, "roles": ["member"], "password": password}
            )
            assert response.status_code == 422, response.text
            errors = response.json()["errors"]
            assert any(e["field"] == "password" and message in e["message"] for e in errors), errors
        # nothing was created: the good password afterwards makes the person, who can log in
        good = await ministry.post(
            "/api/v1/people", json={**person, "roles": ["member"], "password": "Elbe-Saale-Radweg-7"}
        )
        assert good.status_code == 201, good.text
        await stack.login("bert.berg@halle.example", "Elbe-Saale-Radweg-7")

    async def test_accepting_an_invitation_with_a_weak_password_shows_why(self, stack: Stack) -> None:
        ministry = await stack.login(MINISTRY)
        invited = await ministry.post(
            "/api/v1/invitations",
            json={
                "email": "cora.clar@halle.example",
                "name": "Cora Clar",
                "organisation_id": "15002",
                "roles": ["member"],
            },
        )
        assert invited.status_code == 201
        [mail] = await stack.mailbox.wait_for("cora.clar@halle.example")
        link = invitation_link(mail)
        token = link.rsplit("/", 1)[1]
        api = stack.client()
        refused = await api.post(
            f"/api/v1/invitations/{token}/accept", json={"password": "cora.clar@halle.example"}
        )
        assert refused.status_code == 422
        assert policy.IS_EMAIL in refused.json()["errors"][0]["message"]

        browser = stack.client()
        form = await browser.get(link)
        csrf = CSRF_FIELD.search(form.text)
        assert csrf
        page = await browser.post(
            link,
            data={
                "password": "willkommen123",
                "password_confirm": "willkommen123",
                "csrf_token": csrf.group(1),
            },
        )
        assert page.status_code == 422
        assert "zu verbreitet" in page.text and 'aria-invalid="true"' in page.text
        # still open: a good password works afterwards
        accepted = await api.post(
            f"/api/v1/invitations/{token}/accept", json={"password": "Harz-Brocken-1141"}
        )
        assert accepted.status_code == 200


class TestThrottling:
    async def test_an_account_is_locked_after_repeated_failures_with_a_clear_message(
        self, stack: Stack
    ) -> None:
        api = stack.client()
        for i in range(5):
            wrong = await api.post("/api/v1/session", json={"email": MEMBER, "password": f"falsch-{i}-xyz"})
            assert wrong.status_code == 401
        locked = await api.post("/api/v1/session", json={"email": MEMBER, "password": DEMO_PASSWORD})
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
        detail = locked.json()["detail"]
        assert "vorübergehend gesperrt" in detail and re.search(r"warten Sie \d+ Minuten?", detail)

        browser = stack.client()
        form = await browser.get("/anmelden")
        csrf = CSRF_FIELD.search(form.text)
        assert csrf
        page = await browser.post(
            "/anmelden", data={"email": MEMBER, "password": DEMO_PASSWORD, "csrf_token": csrf.group(1)}
        )
        assert page.status_code == 429
        assert "vorübergehend gesperrt" in page.text and "gdst_session" not in page.cookies
        # another account is not affected
        await stack.login(MINISTRY)

    async def test_one_client_trying_many_accounts_is_slowed_down(self, stack: Stack) -> None:
        limit = stack.settings.login_max_failures_per_client
        api = stack.client()
        for i in range(limit):
            wrong = await api.post(
                "/api/v1/session", json={"email": f"raten-{i}@halle.example", "password": "geraten-123"}
            )
            assert wrong.status_code == 401, (i, wrong.text)
        blocked = await api.post("/api/v1/session", json={"email": MINISTRY, "password": DEMO_PASSWORD})
        assert blocked.status_code == 429
        assert "von diesem Anschluss" in blocked.json()["detail"]
