"""Meetings in the browser: register and subscribe from a meeting's page by keyboard only; the
list, meeting (with its live poll), calendar and form pages are axe-clean."""

from __future__ import annotations

import calendar
import re
from datetime import date

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import NewContext, axe_violations, describe, log_in
from tests.browser.test_polls import tab_to
from tests.conftest import MINISTRY, Stack
from tests.e2e.conftest_polls import poll_body

pytestmark = pytest.mark.browser
MAGDEBURG = "kommune-15003@gdst.example"
NEXT = date.today().year + 1
FIRST_THURSDAY = next(
    d for d in (date(NEXT, 1, day) for day in range(1, 8)) if d.weekday() == calendar.THURSDAY
)


async def assert_axe_clean(page: Page, what: str) -> None:
    violations = await axe_violations(page)
    assert not violations, f"{what}:\n{describe(violations)}"


class TestMeetingsInTheBrowser:
    async def test_register_and_subscribe_by_keyboard_and_pages_axe_clean(
        self, stack: Stack, new_context: NewContext
    ) -> None:
        ministry = await stack.login()
        poll = await ministry.post("/api/v1/polls", json=poll_body(group_id="ag-technik"))
        assert poll.status_code == 201, poll.text
        created = await ministry.post(
            "/api/v1/meetings",
            json={
                "title": "AG Technik: Sitzung mit Punktabfrage",
                "agenda": "1. Themen\n2. Punktabfrage",
                "start": f"{FIRST_THURSDAY.isoformat()}T14:00",
                "rrule": "FREQ=MONTHLY;BYDAY=1TH;COUNT=6",
                "online_url": "https://konferenz.gdst.example/ag-technik",
                "group_id": "ag-technik",
                "capacity": 20,
                "poll_id": poll.json()["id"],
            },
        )
        assert created.status_code == 201, created.text
        meeting_id = created.json()["id"]

        page = await (await new_context(bypass_csp=True)).new_page()
        await log_in(page, stack.base_url, MAGDEBURG)
        await page.goto(f"{stack.base_url}/termine")
        await expect(page.get_by_test_id("occurrences")).to_be_visible()
        await assert_axe_clean(page, "list")

        await page.goto(f"{stack.base_url}/termine/{meeting_id}")
        await expect(page.get_by_test_id("result-table")).to_be_visible()  # the live dot vote
        await assert_axe_clean(page, "meeting")
        await tab_to(page, "anmelden")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await expect(page.get_by_test_id("my-registration")).to_contain_text("Sie sind angemeldet")
        await expect(page.get_by_test_id("registrations")).to_contain_text("1 von 20")
        await tab_to(page, "kalender-link")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        address = await page.input_value("#feed-person")
        assert re.search(r"/api/v1/meetings/feeds/[A-Za-z0-9_-]{20,}/termine\.ics$", address)
        await assert_axe_clean(page, "calendar addresses")

        planner = await (await new_context(bypass_csp=True)).new_page()
        await log_in(planner, stack.base_url, MINISTRY)
        await planner.goto(f"{stack.base_url}/termine/neu")
        await assert_axe_clean(planner, "form")
        await planner.fill("#title", "Regionaltreffen")
        await planner.fill("#start_date", f"{NEXT}-03-10")
        await planner.fill("#start_time", "13:00")
        await planner.select_option("#repeat", "weekly")
        async with planner.expect_navigation():
            await planner.get_by_role("button", name="Termin anlegen").click()
        summary = planner.locator("#fehler")
        await expect(summary).to_be_visible()
        await expect(summary).to_contain_text("bis wann die Serie läuft")
        await expect(summary).to_contain_text("Ort oder einen Online-Link")
        await assert_axe_clean(planner, "form with errors")
        await planner.fill("#until", f"{NEXT}-06-30")
        await planner.fill("#location", "Halle (Saale)")
        async with planner.expect_navigation():
            await planner.get_by_role("button", name="Termin anlegen").click()
        await expect(planner.get_by_role("status")).to_contain_text("Der Termin ist angelegt")
        await expect(planner.get_by_test_id("upcoming")).to_contain_text(f"10.03.{NEXT}")
