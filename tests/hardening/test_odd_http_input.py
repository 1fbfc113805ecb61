"""Input no generator sends from a schema: bytes that are not UTF-8, broken percent-encoding,
deep nesting, a body too large, a wrong content type, odd cookies. Each is a 4xx problem (or
an error page), never a 5xx."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.sessions import COOKIE
from tests.conftest import Stack
from tests.hardening.support import MEMBER

pytestmark = pytest.mark.hardening

NOT_UTF8 = b"\xb4\xff\xfe"


async def test_odd_requests_get_a_4xx_never_a_5xx(stack: Stack, figures: Any) -> None:
    api = await stack.login(MEMBER)
    anonymous = stack.client()
    json_type = {"content-type": "application/json"}
    # tolerant cases may answer 200 (a search for replacement characters finds nothing, a
    # broken language cookie falls back to German); all others must be refused with a 4xx
    tolerant = {"search, not UTF-8", "page search, not UTF-8", "language cookie, garbage"}
    cases: list[tuple[str, Any]] = [
        (
            "login, not UTF-8",
            anonymous.post(
                "/api/v1/session", content=b'{"email":"a' + NOT_UTF8 + b'","password":"x"}', headers=json_type
            ),
        ),
        (
            "need, not UTF-8",
            api.post(
                "/api/v1/needs",
                content=b'{"title":"' + NOT_UTF8 + b'","description":"x","category":"querschnitt"}',
                headers=json_type,
            ),
        ),
        (
            "need, deep nesting",
            api.post("/api/v1/needs", content=b"[" * 5000 + b"]" * 5000, headers=json_type),
        ),
        (
            "need, too large",
            api.post("/api/v1/needs", content=b'{"title":"' + b"x" * 200_000 + b'"}', headers=json_type),
        ),
        (
            "need, form body",
            api.post(
                "/api/v1/needs",
                content=b"title=x",
                headers={"content-type": "application/x-www-form-urlencoded"},
            ),
        ),
        (
            "need, number too big",
            api.post("/api/v1/needs", content=b'{"title":1' + b"0" * 400 + b"}", headers=json_type),
        ),
        ("list, broken query", api.get("/api/v1/needs?q=%ff%fe%zz&limit=%ff")),
        ("list, huge limit", api.get("/api/v1/needs?limit=99999999999999999999999")),
        ("id, not UTF-8 in path", api.get("/api/v1/needs/%ff%fe")),
        ("id, very long", api.get("/api/v1/needs/" + "x" * 5000)),
        ("search, not UTF-8", api.get("/api/v1/needs/similar?text=%ff%fe")),
        ("page search, not UTF-8", api.get("/bedarfe?q=%ff%fe")),
        (
            "page form, not UTF-8",
            api.post(
                "/bedarfe/neu",
                content=b"title=%ff%fe&csrf_token=" + api.headers["X-CSRF-Token"].encode(),
                headers={"content-type": "application/x-www-form-urlencoded"},
            ),
        ),
        (
            "cookie, garbage",
            stack.client(headers={"cookie": f"{COOKIE}=".encode() + NOT_UTF8 * 100}).get("/api/v1/me"),
        ),
        (
            "language cookie, garbage",
            stack.client(headers={"cookie": 'gdst_lang="; =;;;\\'}).get("/anmelden"),
        ),
        (
            "bearer, garbage",
            stack.client(headers={"authorization": ("Bearer " + "ü" * 500).encode()}).get("/api/v1/me"),
        ),
    ]
    failures = []
    for name, pending in cases:
        response = await pending
        if response.status_code >= 500 or (response.status_code < 400 and name not in tolerant):
            failures.append(f"{name}: {response.status_code} {response.text[:200]}")
    figures.record("fuzzing", "hand-made odd HTTP requests (0 × 5xx)", len(cases))
    assert not failures, "\n".join(failures)
