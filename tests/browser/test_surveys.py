"""Surveys in the browser: a Kommune fills in a survey with a condition by keyboard only, saves a
draft, comes back and submits; every survey page is axe-clean."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import NewContext, axe_violations, describe, log_in, screenshot
from tests.conftest import Stack
from tests.e2e.surveys_support import GOOD_ANSWERS, definition, kommune, published

pytestmark = pytest.mark.browser

QUESTIONS = [
    {
        "id": "dms",
        "kind": "single",
        "label": "Nutzen Sie ein Dokumentenmanagementsystem?",
        "options": ["Ja", "Nein"],
        "required": True,
        "section": "Ausstattung",
    },
    {
        "id": "produkt",
        "kind": "text",
        "label": "Welches Produkt?",
        "required": True,
        "show_if": {"question": "dms", "equals": "Ja"},
    },
    {
        "id": "version",
        "kind": "text",
        "label": "Welche Version?",
        "show_if": {"question": "produkt", "equals": "Eigenbau"},
    },
    {
        "id": "stellen",
        "kind": "number",
        "label": "Wie viele IT-Stellen?",
        "required": True,
        "section": "Personal",
    },
    {
        "id": "zufrieden",
        "kind": "scale",
        "label": "Wie zufrieden sind Sie?",
        "min_label": "gar nicht",
        "max_label": "sehr",
    },
]


async def assert_axe_clean(page: Page, what: str) -> None:
    violations = await axe_violations(page)
    assert not violations, f"{what}:\n{describe(violations)}"


async def keyboard_login(page: Page, base_url: str, email: str) -> None:
    await page.goto(f"{base_url}/anmelden")
    await page.focus("#email")
    await page.keyboard.type(email)
    await page.keyboard.press("Tab")
    await page.keyboard.type("gdst-demo")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")


async def focused_id(page: Page) -> str:
    value: str = await page.evaluate("document.activeElement.id")
    return value


class TestAnsweringByKeyboard:
    async def test_condition_draft_come_back_submit(self, stack: Stack, new_context: NewContext) -> None:
        survey = await published(await stack.login(), questions=QUESTIONS)
        page = await (await new_context()).new_page()
        await keyboard_login(page, stack.base_url, kommune("15003"))
        await page.goto(f"{stack.base_url}/umfragen")
        await page.get_by_role("link", name=survey["title"]).focus()
        async with page.expect_navigation():
            await page.keyboard.press("Enter")

        produkt, version = page.locator("#frage-produkt"), page.locator("#frage-version")
        await expect(produkt).to_be_hidden()  # shown only once "Ja" is chosen
        await page.focus("#f-dms-0")
        await page.keyboard.press("Space")
        await expect(produkt).to_be_visible()
        await expect(page.locator("#bedingungen-status")).to_contain_text("Welches Produkt?")
        await page.keyboard.press("Tab")
        assert await focused_id(page) == "f-produkt"
        await page.keyboard.type("Eigenbau")
        await expect(version).to_be_visible()  # the condition on the condition
        await page.keyboard.press("Tab")
        await page.keyboard.type("3.2")
        # a required question left open for now: the draft is saved all the same
        save = page.get_by_role("button", name="Entwurf speichern")
        await save.focus()
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await expect(page.get_by_role("status")).to_contain_text("Entwurf ist gespeichert")
        await expect(page.get_by_test_id("last-saved")).to_contain_text("Team Magdeburg")

        # come back later: the draft is there, the chain still open
        await page.goto(f"{stack.base_url}/umfragen")
        await page.goto(f"{stack.base_url}/umfragen/{survey['id']}")
        await expect(page.locator("#f-produkt")).to_have_value("Eigenbau")
        await expect(page.locator("#f-version")).to_have_value("3.2")
        await expect(page.get_by_test_id("response-state")).to_have_text("Entwurf")

        # submitting names the missing answer in the summary, linked to its question
        submit = page.get_by_role("button", name="Antwort einreichen")
        await submit.focus()
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        summary = page.locator("#fehler")
        await expect(summary).to_be_focused()
        link = summary.get_by_role("link", name="Bitte beantworten Sie diese Frage.")
        await expect(link).to_have_attribute("href", "#f-stellen")
        await expect(page.locator("#e-stellen")).to_be_visible()

        await page.focus("#f-stellen")
        await page.keyboard.type("12")
        await page.keyboard.press("Tab")
        assert await focused_id(page) == "f-zufrieden-0"
        await page.keyboard.press("ArrowRight")
        await page.keyboard.press("ArrowRight")
        await page.keyboard.press("ArrowRight")  # 4
        await page.get_by_role("button", name="Antwort einreichen").focus()
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await expect(page.get_by_role("status")).to_contain_text("eingereicht")
        await expect(page.get_by_test_id("response-state")).to_have_text("Eingereicht")

        magdeburg = await stack.login(kommune("15003"))
        stored = (await magdeburg.get(f"/api/v1/surveys/{survey['id']}/response")).json()
        assert stored["state"] == "submitted"
        assert stored["answers"] == {
            "dms": "Ja",
            "produkt": "Eigenbau",
            "version": "3.2",
            "stellen": 12,
            "zufrieden": 4,
        }

    async def test_without_script_every_question_is_shown_with_its_note(
        self, stack: Stack, new_context: NewContext
    ) -> None:
        survey = await published(await stack.login(), questions=QUESTIONS)
        page = await (await new_context(java_script_enabled=False)).new_page()
        await log_in(page, stack.base_url, kommune("15002"))
        await page.goto(f"{stack.base_url}/umfragen/{survey['id']}")
        await expect(page.locator("#frage-produkt")).to_be_visible()
        await expect(page.locator("#c-produkt")).to_contain_text("Nur beantworten, wenn")
        # answered "Nein" and yet a product named: the hidden answer is ignored on submit
        await page.check("#f-dms-1")
        await page.fill("#f-produkt", "Wird ignoriert")
        await page.fill("#f-stellen", "2")
        async with page.expect_navigation():
            await page.get_by_role("button", name="Antwort einreichen").click()
        await expect(page.get_by_role("status")).to_contain_text("eingereicht")
        halle = await stack.login(kommune("15002"))
        stored = (await halle.get(f"/api/v1/surveys/{survey['id']}/response")).json()
        assert stored["answers"] == {"dms": "Nein", "stellen": 2}


class TestAccessibility:
    async def test_survey_pages_have_no_axe_violations(self, stack: Stack, new_context: NewContext) -> None:
        ministry_api = await stack.login()
        survey = await published(ministry_api)
        sid = survey["id"]
        for ags in ("15003", "15002"):
            client = await stack.login(kommune(ags))
            await client.post(f"/api/v1/surveys/{sid}/response/submit", json={"answers": GOOD_ANSWERS})
        dessau = await stack.login(kommune("15001"))
        await dessau.put(f"/api/v1/surveys/{sid}/response", json={"answers": {"dms": "Nein"}})
        draft = (await ministry_api.post("/api/v1/surveys", json={**definition(), "title": "Entwurf"})).json()

        member = await (await new_context(bypass_csp=True)).new_page()
        await log_in(member, stack.base_url, kommune("15001"))
        for path in ("/umfragen", f"/umfragen/{sid}"):
            await member.goto(f"{stack.base_url}{path}")
            await assert_axe_clean(member, f"{path} (Kommune)")
            await screenshot(member, "umfrage-kommune" + path.replace("/", "-"))
        # the answer page with errors named
        async with member.expect_navigation():
            await member.get_by_role("button", name="Antwort einreichen").click()
        await expect(member.locator("#fehler")).to_be_visible()
        await assert_axe_clean(member, "answer page with errors")

        ministry = await (await new_context(bypass_csp=True)).new_page()
        await log_in(ministry, stack.base_url, "ministerium@gdst.example")
        for path in (
            "/umfragen",
            "/umfragen/neu",
            f"/umfragen/{sid}",
            f"/umfragen/{sid}/fortschritt",
            f"/umfragen/{sid}/ergebnisse",
            f"/umfragen/{sid}/vorschau",
            f"/umfragen/{draft['id']}/bearbeiten",
            f"/umfragen/{draft['id']}/einstellungen",
            f"/umfragen/{draft['id']}/fragen/neu?art=matrix",
            f"/umfragen/{draft['id']}/fragen/dms",
        ):
            response = await ministry.goto(f"{stack.base_url}{path}")
            assert response is not None and response.status == 200, path
            await assert_axe_clean(ministry, path)
            await screenshot(ministry, "umfrage-ministerium" + path.split("?")[0].replace("/", "-"))
        # a builder mistake, named
        await ministry.goto(f"{stack.base_url}/umfragen/{draft['id']}/fragen/neu?art=single")
        await ministry.fill("#label", "Nur eine Option")
        await ministry.fill("#options", "Ja")
        async with ministry.expect_navigation():
            await ministry.get_by_role("button", name="Frage speichern").click()
        await expect(ministry.locator("#fehler")).to_be_visible()
        await assert_axe_clean(ministry, "question form with errors")
