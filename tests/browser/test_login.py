"""Logging in with the keyboard alone, and what a failed login looks like."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import MEMBER, screenshot
from tests.conftest import DEMO_PASSWORD, Stack

pytestmark = pytest.mark.browser


async def focused_id(page: Page) -> str:
    return str(await page.evaluate("() => document.activeElement && document.activeElement.id"))


class TestKeyboardLogin:
    async def test_login_with_keyboard_only_shows_start_page(self, stack: Stack, page: Page) -> None:
        member = await stack.login(MEMBER)
        me = (await member.get("/api/v1/me")).json()
        await member.aclose()
        groups = [g["name"] for g in me["groups"]]
        assert groups, "the demo data puts every Kommune into some AGs"

        await page.goto(f"{stack.base_url}/anmelden")
        await screenshot(page, "login")

        # the first Tab reaches the skip link, which is then visible and leads to the main content
        await page.keyboard.press("Tab")
        skip = page.get_by_role("link", name="Zum Inhalt springen")
        await expect(skip).to_be_focused()
        await expect(skip).to_be_in_viewport()
        await page.keyboard.press("Enter")
        await expect(page.locator("main")).to_be_focused()

        await page.keyboard.press("Tab")
        assert await focused_id(page) == "email"
        await page.keyboard.type(MEMBER)
        await page.keyboard.press("Tab")
        assert await focused_id(page) == "password"
        await page.keyboard.type(DEMO_PASSWORD)
        async with page.expect_navigation():
            await page.keyboard.press("Enter")

        assert page.url == f"{stack.base_url}/"
        await expect(page.get_by_role("heading", level=1)).to_have_text(f"Willkommen, {me['name']}")
        await expect(page.get_by_test_id("organisation-name")).to_have_text("Magdeburg, Landeshauptstadt")
        await expect(page.get_by_test_id("groups").get_by_role("listitem")).to_have_text(groups)
        await expect(page.get_by_role("button", name="Abmelden")).to_be_visible()
        await screenshot(page, "start")

    async def test_logout_with_keyboard(self, stack: Stack, page: Page) -> None:
        await page.goto(f"{stack.base_url}/anmelden")
        await page.locator("#email").focus()
        await page.keyboard.type(MEMBER)
        await page.keyboard.press("Tab")
        await page.keyboard.type(DEMO_PASSWORD)
        async with page.expect_navigation():
            await page.keyboard.press("Enter")

        logout = page.get_by_role("button", name="Abmelden")
        await logout.focus()
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        assert page.url.startswith(f"{stack.base_url}/anmelden")
        await page.goto(f"{stack.base_url}/")
        assert page.url.startswith(f"{stack.base_url}/anmelden"), "the session is gone"


class TestFailedLogin:
    async def test_wrong_password_shows_summary_and_field_stays_usable(
        self, stack: Stack, page: Page
    ) -> None:
        await page.goto(f"{stack.base_url}/anmelden")
        await page.locator("#email").focus()
        await page.keyboard.type(MEMBER)
        await page.keyboard.press("Tab")
        await page.keyboard.type("falsches-passwort")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")

        alert = page.get_by_role("alert")
        await expect(alert).to_contain_text("Bitte korrigieren Sie folgende Angaben:")
        await expect(alert).to_contain_text("E-Mail-Adresse oder Passwort ist falsch.")
        await expect(alert).to_be_focused()  # focus moves to the summary so it is read first
        await expect(page).to_have_title("Fehler: Anmelden – GDST-Plattform")
        # the e-mail address is kept, the password is not
        await expect(page.locator("#email")).to_have_value(MEMBER)
        await expect(page.locator("#password")).to_have_value("")

        # the password field is still usable: correct it and log in
        await page.locator("#password").focus()
        await page.keyboard.type(DEMO_PASSWORD)
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await expect(page.get_by_test_id("organisation-name")).to_have_text("Magdeburg, Landeshauptstadt")

    async def test_empty_form_links_summary_to_fields(self, stack: Stack, page: Page) -> None:
        await page.goto(f"{stack.base_url}/anmelden")
        await page.locator("#email").focus()
        async with page.expect_navigation():
            await page.keyboard.press("Enter")

        alert = page.get_by_role("alert")
        await expect(alert).to_be_focused()
        links = alert.get_by_role("link")
        await expect(links).to_have_text(
            ["Bitte geben Sie Ihre E-Mail-Adresse ein.", "Bitte geben Sie Ihr Passwort ein."]
        )
        assert [await link.get_attribute("href") for link in await links.all()] == ["#email", "#password"]

        for name in ("email", "password"):
            field = page.locator(f"#{name}")
            await expect(field).to_have_attribute("aria-invalid", "true")
            described = (await field.get_attribute("aria-describedby") or "").split()
            assert f"{name}-fehler" in described
            await expect(page.locator(f"#{name}-fehler")).to_be_visible()

        # following a summary link with the keyboard puts the cursor into the field
        await page.keyboard.press("Tab")
        await expect(links.nth(0)).to_be_focused()
        await page.keyboard.press("Tab")
        await expect(links.nth(1)).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(page.locator("#password")).to_be_focused()
        await page.keyboard.type(DEMO_PASSWORD)
        await expect(page.locator("#password")).to_have_value(DEMO_PASSWORD)
