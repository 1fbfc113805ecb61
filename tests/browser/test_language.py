"""Switching to English via the footer link translates the pages and sets the document language."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import MEMBER, log_in
from tests.conftest import Stack

pytestmark = pytest.mark.browser


class TestLanguage:
    async def test_switch_to_english_and_back(self, stack: Stack, page: Page) -> None:
        await page.goto(f"{stack.base_url}/anmelden")
        await expect(page.locator("html")).to_have_attribute("lang", "de")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Anmelden")

        english = page.locator("footer").get_by_role("link", name="English")
        await expect(english).to_have_attribute("lang", "en")
        async with page.expect_navigation():
            await english.click()

        assert page.url == f"{stack.base_url}/anmelden", "the switch returns to the same page"
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await expect(page).to_have_title("Log in – GDST platform")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
        await expect(page.get_by_label("Email address")).to_be_visible()
        await expect(page.get_by_label("Password")).to_be_visible()
        await expect(page.get_by_role("link", name="Skip to content")).to_be_attached()

        # errors and the start page are English too
        await page.get_by_label("Email address").fill(MEMBER)
        await page.get_by_label("Password").fill("wrong-password")
        async with page.expect_navigation():
            await page.get_by_label("Password").press("Enter")
        await expect(page.get_by_role("alert")).to_contain_text("Please correct the following:")
        await expect(page.get_by_role("alert")).to_contain_text("The email address or password is wrong.")

        await log_in(page, stack.base_url)
        await expect(page.get_by_role("heading", level=2, name="Your organisation")).to_be_visible()
        await expect(page.get_by_role("heading", level=2, name="Your working groups")).to_be_visible()
        await expect(page.get_by_role("button", name="Log out")).to_be_visible()

        deutsch = page.locator("footer").get_by_role("link", name="Deutsch")
        async with page.expect_navigation():
            await deutsch.click()
        await expect(page.locator("html")).to_have_attribute("lang", "de")
        await expect(page.get_by_role("heading", level=2, name="Ihre Organisation")).to_be_visible()
