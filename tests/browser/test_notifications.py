"""Inbox and preferences in the browser: axe-clean and usable by keyboard."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import expect

from tests.browser.conftest import NewContext, axe_violations, describe, log_in
from tests.conftest import Stack
from tests.e2e.needs_support import kommune, report

pytestmark = pytest.mark.browser


class TestNotificationPages:
    async def test_inbox_and_preferences(self, stack: Stack, new_context: NewContext) -> None:
        need = await report(await stack.login(kommune("15003")), "Open Data Portal")
        await (await stack.login(kommune("15002"))).put(f"/api/v1/needs/{need['id']}/support")
        api = await stack.login(kommune("15003"))
        for _ in range(100):
            if (await api.get("/api/v1/notifications")).json()["items"]:
                break
            await asyncio.sleep(0.1)
        page = await (await new_context(bypass_csp=True)).new_page()
        await log_in(page, stack.base_url, kommune("15003"))
        await expect(page.get_by_test_id("unread-count")).to_have_text("1 ungelesen")
        await page.goto(f"{stack.base_url}/benachrichtigungen")
        violations = await axe_violations(page)
        assert not violations, describe(violations)
        # by keyboard: focus the mark-read button and press Enter
        await (
            page.get_by_test_id("inbox")
            .get_by_role("button", name=re.compile("^Als gelesen markieren"))
            .focus()
        )
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await expect(page.get_by_test_id("inbox-unread")).to_have_text("0")
        await page.goto(f"{stack.base_url}/einstellungen/benachrichtigungen")
        violations = await axe_violations(page)
        assert not violations, describe(violations)
        await page.select_option("#email-0", "off")
        await page.focus("button[type=submit].kern-btn--primary")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await expect(page.get_by_role("status")).to_contain_text("gespeichert")
        await expect(page.locator("#email-0")).to_have_value("off")
