"""Spotlights and the dashboard in the browser: drafted and submitted by keyboard, the pages
axe-clean, the dashboard's print view without navigation."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import NewContext, axe_violations, describe, log_in
from tests.conftest import Stack
from tests.e2e.needs_support import kommune, report

pytestmark = pytest.mark.browser


async def assert_axe_clean(page: Page, what: str) -> None:
    violations = await axe_violations(page)
    assert not violations, f"{what}:\n{describe(violations)}"


class TestSpotlightsAndDashboard:
    async def test_draft_submit_by_keyboard_and_dashboard_axe_clean(
        self, stack: Stack, new_context: NewContext
    ) -> None:
        need = await report(await stack.login(kommune("15003")), "Digitale Bauakte")
        page = await (await new_context(bypass_csp=True)).new_page()
        await log_in(page, stack.base_url, "ministerium@gdst.example")

        await page.goto(f"{stack.base_url}/spotlights/neu?bedarf={need['id']}")
        await assert_axe_clean(page, "Spotlight entwerfen")
        await page.get_by_role("button", name="Entwurf anlegen").click()  # empty: every error named
        await expect(page.locator(".kern-alert--danger, [role=alert]").first).to_be_visible()
        await assert_axe_clean(page, "Spotlight entwerfen mit Fehlern")
        await page.fill("#title", "Bauakte landesweit")
        await page.fill("#proposal", "Eine Bauakte für alle Bauaufsichten.")
        await page.fill("#reasoning", "Drei Landkreise haben denselben Bedarf.")
        await page.select_option("#group_id", "ag-umsetzung")
        await page.get_by_label("Ministerium für Infrastruktur und Digitales").check()
        await page.get_by_role("button", name="Entwurf anlegen").press("Enter")
        await expect(page.get_by_test_id("spotlight-status")).to_have_text("Entwurf")
        await expect(
            page.get_by_test_id("lineage").get_by_role("link", name="Digitale Bauakte")
        ).to_be_visible()
        await assert_axe_clean(page, "Spotlight")

        await page.fill("#comment", "Beschluss der AG")
        await page.locator("#comment").press("Tab")
        await page.keyboard.press("Enter")
        await expect(page.get_by_test_id("spotlight-status")).to_have_text("Eingereicht")
        await assert_axe_clean(page, "Spotlight eingereicht")

        await page.goto(f"{stack.base_url}/spotlights")
        await assert_axe_clean(page, "Spotlights")
        await page.goto(f"{stack.base_url}/zahlen")
        await expect(page.get_by_test_id("spotlights-total")).to_have_text("1")
        meetings = "0" if "meetings" in stack.processes else "nicht verfügbar"
        await expect(page.get_by_test_id("meetings")).to_have_text(meetings)
        await assert_axe_clean(page, "Zahlen und Fakten")
        await page.select_option("#kreis", "15003")
        await page.get_by_role("button", name="Anzeigen").click()
        await expect(page.get_by_test_id("scope")).to_contain_text("Magdeburg")
        await assert_axe_clean(page, "Zahlen und Fakten, Magdeburg")
        await page.get_by_test_id("print-link").click()
        await expect(page.locator(".site-header")).to_be_hidden()
        await assert_axe_clean(page, "Druckansicht")
        await page.emulate_media(media="print")
        await expect(page.get_by_role("button", name="Drucken")).to_be_hidden()
