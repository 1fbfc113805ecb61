"""The invitation in the browser: link from the mail, set a password, log in."""

from __future__ import annotations

import secrets

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import invitation_path
from tests.conftest import Stack

pytestmark = pytest.mark.browser


class TestInvitationPage:
    async def test_set_password_and_log_in(self, stack: Stack, page: Page) -> None:
        email = f"nora.{secrets.token_hex(3)}@halle.example"
        path = await invitation_path(stack, email, "Nora Neu")

        await page.goto(stack.base_url + path)
        await expect(page.get_by_role("heading", level=1)).to_have_text("Einladung annehmen")
        await expect(page.locator("main")).to_contain_text("Guten Tag Nora Neu")
        await expect(page.locator("main")).to_contain_text("Halle (Saale), Stadt")
        await expect(page.locator("main")).to_contain_text(email)

        # first attempt: the confirmation does not match
        await page.get_by_label("Neues Passwort").fill("lange-genug-123")
        await page.get_by_label("Passwort wiederholen").fill("lange-genug-321")
        async with page.expect_navigation():
            await page.get_by_label("Passwort wiederholen").press("Enter")

        alert = page.get_by_role("alert")
        await expect(alert).to_be_focused()
        await expect(alert.get_by_role("link")).to_have_text(["Die beiden Passwörter stimmen nicht überein."])
        await expect(alert.get_by_role("link")).to_have_attribute("href", "#password_confirm")
        confirm = page.locator("#password_confirm")
        await expect(confirm).to_have_attribute("aria-invalid", "true")
        await expect(confirm).to_have_accessible_description("Die beiden Passwörter stimmen nicht überein.")
        await expect(page.locator("#password")).not_to_have_attribute("aria-invalid", "true")
        await expect(page.locator("#password")).to_have_accessible_description("Mindestens 10 Zeichen.")

        # second attempt: both match
        await page.get_by_label("Neues Passwort").fill("lange-genug-123")
        await confirm.fill("lange-genug-123")
        async with page.expect_navigation():
            await page.get_by_role("button", name="Passwort speichern").press("Enter")

        assert page.url == f"{stack.base_url}/anmelden?eingeladen=1"
        await expect(page.get_by_role("status")).to_have_text(
            "Ihr Passwort ist gespeichert. Sie können sich jetzt anmelden."
        )

        await page.get_by_label("E-Mail-Adresse").fill(email)
        await page.get_by_label("Passwort", exact=True).fill("lange-genug-123")
        async with page.expect_navigation():
            await page.get_by_label("Passwort", exact=True).press("Enter")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Willkommen, Nora Neu")
        await expect(page.get_by_test_id("organisation-name")).to_have_text("Halle (Saale), Stadt")
        await expect(page.locator("main")).to_contain_text("Sie sind noch in keiner Arbeitsgruppe.")

        # the link works once
        await page.goto(stack.base_url + path)
        await expect(page.get_by_role("heading", level=1)).to_have_text("Einladung nicht gültig")
        await expect(page.get_by_role("alert")).to_have_text("Diese Einladung wurde bereits angenommen.")

    async def test_unknown_invitation(self, stack: Stack, page: Page) -> None:
        response = await page.goto(f"{stack.base_url}/einladung/gibt-es-nicht")
        assert response is not None and response.status == 404
        await expect(page.get_by_role("heading", level=1)).to_have_text("Einladung nicht gültig")
        await expect(page.get_by_role("alert")).to_have_text("Diese Einladung gibt es nicht.")
