"""The privacy and audit pages pass axe-core (WCAG 2.1 A/AA): "Meine Daten", the deletion
confirmation with its error, the processing record and the audit trail (admins)."""

from __future__ import annotations

import asyncio
import time

import pytest
from playwright.async_api import expect

from tests.browser.conftest import NewContext, axe_violations, describe, log_in
from tests.conftest import Stack
from tests.e2e.test_privacy import ADMIN, make_admin

pytestmark = [pytest.mark.browser, pytest.mark.hardening]


async def test_privacy_and_audit_pages_are_axe_clean(stack: Stack, new_context: NewContext) -> None:
    ministry = await stack.login()
    assert (await ministry.put("/api/v1/groups/ag-strategie/members/demo-15001")).status_code == 204
    await make_admin(stack)
    context = await new_context(bypass_csp=True)
    member = await context.new_page()
    await log_in(member, stack.base_url)
    checked = []
    await member.goto(f"{stack.base_url}/meine-daten")
    await expect(member.get_by_test_id("export")).to_be_visible()
    checked.append(("meine-daten", await axe_violations(member)))
    await member.goto(f"{stack.base_url}/meine-daten/loeschen")
    async with member.expect_navigation():
        await member.get_by_role("button", name="Konto endgültig löschen").click()
    await expect(member.get_by_role("alert")).to_be_visible()
    checked.append(("loeschen-mit-fehler", await axe_violations(member)))

    admin = await (await new_context(bypass_csp=True)).new_page()
    await log_in(admin, stack.base_url, ADMIN, "admin-geheim-123")
    await admin.goto(f"{stack.base_url}/verwaltung/verarbeitungsverzeichnis")
    await expect(admin.get_by_test_id("processing-record")).to_be_visible()
    checked.append(("verarbeitungsverzeichnis", await axe_violations(admin)))
    deadline = time.monotonic() + 30
    while True:  # the trail is written by a consumer: the entry arrives a moment after the change
        await admin.goto(f"{stack.base_url}/verwaltung/protokoll")
        if await admin.get_by_test_id("audit").count() or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.3)
    await expect(admin.get_by_test_id("audit")).to_be_visible()
    checked.append(("protokoll", await axe_violations(admin)))
    await admin.goto(f"{stack.base_url}/verwaltung/protokoll?von=kein-datum")
    await expect(admin.get_by_role("alert")).to_be_visible()
    checked.append(("protokoll-mit-fehler", await axe_violations(admin)))
    problems = {name: describe(v) for name, v in checked if v}
    assert not problems, problems
