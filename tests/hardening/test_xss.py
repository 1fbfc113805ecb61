"""XSS: a payload in every free-text field (and in a person's name and a search) is shown
escaped on every page, for every role that sees it. Pages come from the app's routes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import MINISTRY, Stack
from tests.hardening.support import MEMBER, OTHER_MEMBER, seed
from tests.hardening.test_web_security import fill, page_login, routes
from tests.hardening.xss import ESCAPED, FIELDS, PAYLOAD, RAW_MARKERS

pytestmark = pytest.mark.hardening

EVE = "eva.evil@magdeburg.example"
EVE_PASSWORD = "Elbe-Saale-Radweg-7"


async def seed_with_payload(stack: Stack) -> dict[str, str]:
    known = await seed(stack, PAYLOAD, webhook=False)
    ministry = await stack.login(MINISTRY)
    person = await ministry.post(
        "/api/v1/people",
        json={
            "email": EVE,
            "name": f"Eva {PAYLOAD}"[:120],
            "organisation_id": "15003",
            "roles": ["member"],
            "password": EVE_PASSWORD,
        },
    )
    assert person.status_code == 201, person.text
    await ministry.aclose()
    return known


async def test_every_free_text_field_is_escaped_on_every_page(stack: Stack, figures: Any) -> None:
    known = await seed_with_payload(stack)
    clients = {
        "member": await page_login(stack, MEMBER),
        "other member": await page_login(stack, OTHER_MEMBER),
        "ministry": await page_login(stack, MINISTRY),
        "named with payload": await page_login(stack, EVE, EVE_PASSWORD),
    }
    templates = [p for m, p in routes(stack) if m == "GET" and not p.startswith(("/api", "/static"))]
    urls = {fill(t, known) for t in templates}
    urls |= {
        fill(t, {**known, "survey_id": known["draft_survey_id"]}) for t in templates if "{survey_id" in t
    }
    # reflected input: searches and filters echo what was typed
    urls |= {f"/bedarfe?q={PAYLOAD}", f"/anmelden?next=/{PAYLOAD}"}
    pages = 0
    seen: set[str] = set()
    unsafe: list[str] = []
    for role, client in clients.items():
        for url in sorted(urls):
            response = await client.get(url)
            if "text/html" not in response.headers.get("content-type", ""):
                continue
            pages += 1
            html = response.text
            if any(marker in html for marker in RAW_MARKERS):
                unsafe.append(f"{role} {url}")
            seen |= {field for field, prefix in FIELDS.items() if f"{prefix}{ESCAPED}" in html}
    figures.record("web security", "pages checked for XSS (page × role)", pages)
    figures.record("web security", "free-text fields shown escaped", f"{len(seen)} of {len(FIELDS)}")
    assert not unsafe, f"payload rendered unescaped on: {unsafe}"
    assert sorted(set(FIELDS) - seen) == [], "fields never shown on any page (so never checked)"
