"""Web security of the gateway: CSRF on every write, security headers, session fixation and
logout, escaping of every free-text field on every page. Routes come from the Litestar app
itself, so pages and endpoints added later are covered without editing this file."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from litestar.routes import HTTPRoute

from gateway.app import create_app
from gateway.auth import CSRF_EXEMPT
from gateway.sessions import COOKIE
from tests.conftest import DEMO_PASSWORD, MINISTRY, Stack
from tests.hardening.support import MEMBER, seed, settled_digest

pytestmark = pytest.mark.hardening

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def routes(stack: Stack, *, exempt: bool = True) -> list[tuple[str, str]]:
    """(method, path template) of every route the gateway serves, from the app itself;
    `exempt=False` leaves out the handlers that opt out of the CSRF check (the JSON login)."""
    app = create_app(stack.settings)
    found = []
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for method in sorted(route.methods - {"OPTIONS", "HEAD"}):
                handler = route.route_handler_map[method][0]
                if exempt or not handler.opt.get(CSRF_EXEMPT):
                    found.append((method, route.path))
    return found


def fill(path: str, known: dict[str, str], fallback: str = "unbekannt") -> str:
    return PARAM.sub(lambda m: known.get(m.group(1), fallback), path)


async def page_login(stack: Stack, email: str, password: str = DEMO_PASSWORD) -> httpx.AsyncClient:
    client = stack.client(follow_redirects=True)
    form = await client.get("/anmelden")
    token = CSRF_FIELD.search(form.text)
    assert token
    done = await client.post(
        "/anmelden", data={"email": email, "password": password, "csrf_token": token.group(1)}
    )
    assert done.status_code == 200, done.text
    client.follow_redirects = False
    return client


class TestCsrf:
    async def test_every_write_with_a_session_but_without_its_token_is_refused_and_changes_nothing(
        self, stack: Stack, figures: Any
    ) -> None:
        known = await seed(stack, webhook=False)
        writes = [(m, p) for m, p in routes(stack, exempt=False) if m in UNSAFE]
        ministry_api = await stack.login(MINISTRY)
        token = ministry_api.headers.pop("X-CSRF-Token")
        ministry_page = await page_login(stack, MINISTRY)
        before = await settled_digest(stack)
        refused: list[str] = []
        for method, template in writes:
            path = fill(template, known)
            for client in (ministry_api, ministry_page):
                if path.startswith("/api/"):
                    response = await client.request(method, path, json={})
                else:
                    response = await client.request(method, path, data={"probe": "1"})
                if response.status_code != 403:
                    refused.append(f"{method} {path}: {response.status_code}")
                elif path.startswith("/api/"):
                    assert response.headers["content-type"].startswith("application/problem+json")
                else:
                    assert "abgelaufen" in response.text
        after = await settled_digest(stack)
        figures.record("web security", "write routes checked for CSRF", len(writes))
        assert not refused, "writes without CSRF token not refused with 403:\n" + "\n".join(refused)
        assert {k for k in before if before[k] != after.get(k)} == set()
        # the sessions are intact: not even logging out worked without the token
        ministry_api.headers["X-CSRF-Token"] = token
        assert (await ministry_api.get("/api/v1/me")).status_code == 200
        assert (await ministry_page.get("/")).status_code == 200

    async def test_login_form_without_token_is_refused_and_opens_no_session(self, stack: Stack) -> None:
        client = stack.client()
        response = await client.post("/anmelden", data={"email": MEMBER, "password": "gdst-demo"})
        assert response.status_code == 403 and "abgelaufen" in response.text
        assert COOKIE not in response.cookies

    async def test_invitation_form_without_token_is_refused_and_sets_no_password(self, stack: Stack) -> None:
        ministry = await stack.login(MINISTRY)
        invited = await ministry.post(
            "/api/v1/invitations",
            json={
                "email": "neu@magdeburg.example",
                "name": "Nina Neu",
                "organisation_id": "15003",
                "roles": ["member"],
            },
        )
        assert invited.status_code == 201, invited.text
        mail = await stack.mailbox.wait_for("neu@magdeburg.example", 1, timeout=30)
        token = re.search(r"/einladung/([A-Za-z0-9_-]+)", str(mail[0]))
        assert token
        client = stack.client()
        response = await client.post(
            f"/einladung/{token.group(1)}",
            data={"password": "ein-gutes-passwort-7", "password_confirm": "ein-gutes-passwort-7"},
        )
        assert response.status_code == 403 and "abgelaufen" in response.text
        login = await client.post(
            "/api/v1/session", json={"email": "neu@magdeburg.example", "password": "ein-gutes-passwort-7"}
        )
        assert login.status_code == 401


class TestHeaders:
    async def test_pages_api_errors_and_files_carry_the_security_headers(self, stack: Stack) -> None:
        member = await page_login(stack, MEMBER)
        api = await stack.login(MEMBER)
        anonymous = stack.client()
        responses = [
            await anonymous.get("/anmelden"),
            await member.get("/"),
            await member.get("/bedarfe"),
            await member.get("/gibt-es-nicht"),
            await api.get("/api/v1/me"),
            await anonymous.get("/api/v1/me"),
            await api.get("/api/v1/needs/unbekannt"),
            await anonymous.get("/api/schema/openapi.json"),
            await anonymous.get("/static/app.css"),
            await anonymous.get("/healthz"),
        ]
        for response in responses:
            h = response.headers
            where = f"{response.request.method} {response.request.url.path} ({response.status_code})"
            csp = h.get("content-security-policy", "")
            script_src = re.search(r"script-src ([^;]*)", csp)
            assert script_src and "'unsafe-inline'" not in script_src.group(1), where
            assert "'unsafe-eval'" not in csp and "frame-ancestors 'none'" in csp, where
            assert h.get("x-content-type-options") == "nosniff", where
            assert h.get("referrer-policy") in (
                "same-origin",
                "strict-origin-when-cross-origin",
                "no-referrer",
            ), where
            assert h.get("x-frame-options") == "DENY", where
            assert "camera=()" in h.get("permissions-policy", ""), where
            assert h.get("cross-origin-opener-policy") == "same-origin", where
            if not response.request.url.path.startswith("/static/"):
                # nothing said on the platform stays in a shared computer's cache after logout
                assert "no-store" in h.get("cache-control", ""), where

    async def test_no_page_has_an_inline_script_the_csp_would_block(self, stack: Stack) -> None:
        known = await seed(stack, webhook=False)
        member = await page_login(stack, MEMBER)
        ministry = await page_login(stack, MINISTRY)
        pages = [p for m, p in routes(stack) if m == "GET" and not p.startswith(("/api", "/static"))]
        checked = 0
        for template in pages:
            for client in (member, ministry):
                response = await client.get(fill(template, known))
                if "text/html" not in response.headers.get("content-type", ""):
                    continue
                checked += 1
                inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", response.text)
                assert not inline, f"{template}: {inline}"
                assert not re.search(r"\son[a-z]+\s*=", response.text), f"{template}: inline handler"
        assert checked > 20


class TestSessions:
    async def test_a_cookie_chosen_before_login_is_never_a_session(self, stack: Stack) -> None:
        planted = "angreifer-gewaehlte-sitzung-0123456789abcdef"
        client = stack.client(cookies={COOKIE: planted})
        response = await client.post("/api/v1/session", json={"email": MEMBER, "password": "gdst-demo"})
        assert response.status_code == 200
        issued = response.cookies.get(COOKIE)
        assert issued and issued != planted
        # the planted value still opens nothing
        assert (await stack.client(cookies={COOKIE: planted}).get("/api/v1/me")).status_code == 401

    async def test_the_pre_login_form_cookie_is_not_a_session(self, stack: Stack) -> None:
        client = stack.client()
        await client.get("/anmelden")
        pre = client.cookies.get("gdst_csrf")
        assert pre
        assert (await stack.client(cookies={COOKIE: pre}).get("/api/v1/me")).status_code == 401

    async def test_login_replaces_a_session_the_browser_already_had(self, stack: Stack) -> None:
        # an attacker's own valid session planted in the victim's browser dies at the login
        attacker = await stack.login("kommune-15002@gdst.example")
        attacker_id = attacker.cookies[COOKIE]
        victim = stack.client(cookies={COOKIE: attacker_id})
        response = await victim.post("/api/v1/session", json={"email": MEMBER, "password": "gdst-demo"})
        assert response.status_code == 200 and response.cookies[COOKIE] != attacker_id
        assert (await stack.client(cookies={COOKIE: attacker_id}).get("/api/v1/me")).status_code == 401

    async def test_page_login_issues_a_fresh_session_id(self, stack: Stack) -> None:
        client = await page_login(stack, MEMBER)
        first = client.cookies[COOKIE]
        again = stack.client(cookies={COOKIE: first})
        form = await again.get("/anmelden")
        token = CSRF_FIELD.search(form.text)
        assert token
        response = await again.post(
            "/anmelden", data={"email": MEMBER, "password": "gdst-demo", "csrf_token": token.group(1)}
        )
        assert response.status_code in (302, 303)
        assert response.cookies[COOKIE] != first
        assert (await stack.client(cookies={COOKIE: first}).get("/api/v1/me")).status_code == 401

    async def test_after_logout_the_old_cookie_opens_nothing(self, stack: Stack) -> None:
        api = await stack.login(MEMBER)
        cookie = api.cookies[COOKIE]
        assert (await api.delete("/api/v1/session")).status_code == 204
        stale = stack.client(cookies={COOKIE: cookie})
        assert (await stale.get("/api/v1/me")).status_code == 401
        page = await stale.get("/bedarfe")
        assert page.status_code in (302, 303) and page.headers["location"].startswith("/anmelden")

        browser = await page_login(stack, MEMBER)
        cookie = browser.cookies[COOKIE]
        home = await browser.get("/")
        token = CSRF_FIELD.search(home.text)
        assert token
        out = await browser.post("/abmelden", data={"csrf_token": token.group(1)})
        assert out.status_code in (302, 303)
        stale = stack.client(cookies={COOKIE: cookie})
        assert (await stale.get("/api/v1/me")).status_code == 401
        assert (await stale.get("/")).status_code in (302, 303)
