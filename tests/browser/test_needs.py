"""Needs in the browser: a similar need is suggested while typing and marked instead of a
duplicate; every needs and pilot page is axe-clean and usable by keyboard."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import NewContext, axe_violations, describe, log_in
from tests.conftest import Stack
from tests.e2e.needs_support import kommune, report

pytestmark = pytest.mark.browser


async def assert_axe_clean(page: Page, what: str) -> None:
    violations = await axe_violations(page)
    assert not violations, f"{what}:\n{describe(violations)}"


class TestNeedsInTheBrowser:
    async def test_similar_need_suggested_and_marked_instead(
        self, stack: Stack, new_context: NewContext
    ) -> None:
        magdeburg = await stack.login(kommune("15003"))
        existing = await report(
            magdeburg,
            "Dokumentenmanagementsystem für die Kernverwaltung",
            "Revisionssichere Ablage und E-Akte.",
        )
        page = await (await new_context()).new_page()
        await log_in(page, stack.base_url, kommune("15002"))
        await page.goto(f"{stack.base_url}/bedarfe/neu")
        await page.fill("#title", "DMS-Einführung in der Stadtverwaltung")
        suggestion = page.get_by_test_id("similar-list").get_by_role("link", name=existing["title"])
        await expect(suggestion).to_be_visible()  # arrives while typing, without submitting
        await (
            page.get_by_test_id("similar-list")
            .get_by_role("button", name=re.compile("Betrifft uns auch"))
            .click()
        )
        await expect(page.get_by_role("status")).to_contain_text("als betroffen eingetragen")
        await expect(page.get_by_test_id("supporter-count")).to_have_text("2")
        needs = (await magdeburg.get("/api/v1/needs")).json()["items"]
        assert [n["id"] for n in needs] == [existing["id"]], "no duplicate was reported"

    async def test_report_by_keyboard_only_with_the_no_script_check(
        self, stack: Stack, new_context: NewContext
    ) -> None:
        await report(await stack.login(kommune("15003")), "WLAN in Schulen", "Drahtloses Netz im Unterricht.")
        page = await (await new_context(java_script_enabled=False)).new_page()
        await page.goto(f"{stack.base_url}/anmelden")
        await page.focus("#email")
        await page.keyboard.type(kommune("15002"))
        await page.keyboard.press("Tab")
        await page.keyboard.type("gdst-demo")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await page.goto(f"{stack.base_url}/bedarfe/neu")
        await page.focus("#title")
        await page.keyboard.type("WLAN für die Grundschule")
        # Tab through description, category and tags to the check button
        for _ in range(4):
            await page.keyboard.press("Tab")
        focused = await page.evaluate("document.activeElement.textContent.trim()")
        assert focused == "Ähnliche Bedarfe prüfen"
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await expect(page.get_by_test_id("similar-list")).to_contain_text("WLAN in Schulen")
        await expect(page.locator("#title")).to_have_value("WLAN für die Grundschule")

        await page.fill("#description", "Eigenes Netz für den Schulhof.")
        await page.select_option("#category", "bildung")
        await page.focus("button[value=report]")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", level=1)).to_have_text("WLAN für die Grundschule")
        await expect(page.get_by_role("status")).to_contain_text("gemeldet")

    async def test_needs_and_pilot_pages_have_no_axe_violations(
        self, stack: Stack, new_context: NewContext
    ) -> None:
        magdeburg = await stack.login(kommune("15003"))
        need = await report(magdeburg, "Gemeinsames Rechenzentrum", "Server und Datensicherung.", tags=["RZ"])
        halle = await stack.login(kommune("15002"))
        await halle.put(f"/api/v1/needs/{need['id']}/support", json={"comment": "Auch bei uns"})
        await halle.post(
            f"/api/v1/needs/{need['id']}/solutions",
            json={
                "title": "Landesrechenzentrum",
                "description": "Angebot des Landes",
                "kind": "basisdienst",
                "url": "https://example.org/rz",
            },
        )
        ministry = await stack.login()
        pilot = (
            await ministry.post(
                "/api/v1/pilots",
                json={
                    "title": "Pilot Rechenzentrum",
                    "description": "Erprobung",
                    "need_ids": [need["id"]],
                    "capacity": 1,
                    "signup_closes_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
                },
            )
        ).json()
        await halle.put(
            f"/api/v1/pilots/{pilot['id']}/signup",
            json={"contact_name": "H", "contact_email": "h@halle.example"},
        )

        member = await (await new_context(bypass_csp=True)).new_page()
        await log_in(member, stack.base_url, kommune("15001"))
        for path in (
            "/bedarfe",
            "/bedarfe/neu",
            f"/bedarfe/{need['id']}",
            "/piloten",
            f"/piloten/{pilot['id']}",
        ):
            await member.goto(stack.base_url + path)
            await assert_axe_clean(member, f"member on {path}")
        await member.goto(f"{stack.base_url}/bedarfe/neu")
        await member.get_by_role("button", name="Bedarf melden").click()
        await expect(member.get_by_role("alert")).to_be_visible()
        await assert_axe_clean(member, "report form with errors")
        await member.goto(f"{stack.base_url}/bedarfe/neu")
        await member.fill("#title", "Rechenzentrum gemeinsam")
        await expect(member.get_by_test_id("similar-list")).to_be_visible()
        await assert_axe_clean(member, "report form with live suggestions")

        boss = await (await new_context(bypass_csp=True)).new_page()
        await log_in(boss, stack.base_url, "ministerium@gdst.example")
        for path in (
            "/bedarfe?landkreis=15082&sort=inhabitants",
            f"/bedarfe/{need['id']}",
            "/piloten/neu",
            f"/piloten/{pilot['id']}",
        ):
            await boss.goto(stack.base_url + path)
            await assert_axe_clean(boss, f"ministry on {path}")
