"""Polls in the browser: an AG member votes with points by keyboard while a second browser
watches the result change live; axe-core finds nothing on the poll, ballot and result pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import NewContext, axe_violations, describe, log_in
from tests.conftest import Stack
from tests.e2e.conftest_polls import HALLE, MAGDEBURG, TECHNIK, open_poll, propose

pytestmark = pytest.mark.browser


async def dot_poll(stack: Stack, **overrides: Any) -> dict[str, Any]:
    ministry = await stack.login()
    try:
        return await open_poll(
            ministry,
            group_id=TECHNIK,
            options=[
                {"label": "Digitale Akte"},
                {"label": "Breitband"},
                {"label": "Cloud"},
                {"label": "Funk"},
            ],
            method={"kind": "dot", "max_per_option": 2},
            **overrides,
        )
    finally:
        await ministry.aclose()


async def tab_to(page: Page, element_id: str, limit: int = 60) -> None:
    """Press Tab until the element has the focus, as a keyboard user would."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate("() => document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} never received the focus by Tab")


class TestVoteLive:
    async def test_keyboard_dot_vote_shows_up_live_in_a_second_browser(
        self, stack: Stack, new_context: NewContext
    ) -> None:
        poll = await dot_poll(stack)
        akte, breitband = poll["options"][0]["id"], poll["options"][1]["id"]

        viewer = await (await new_context()).new_page()
        await log_in(viewer, stack.base_url, HALLE)
        await viewer.goto(f"{stack.base_url}/abstimmungen/{poll['id']}/ergebnis")
        table = viewer.get_by_test_id("result-table")
        await expect(table).to_be_visible()
        await expect(viewer.locator('[data-field="ballots"]')).to_have_text("0")

        voter = await (await new_context()).new_page()
        await log_in(voter, stack.base_url, MAGDEBURG)
        await voter.goto(f"{stack.base_url}/abstimmungen/{poll['id']}")
        # points with the keyboard alone: Tab to the field, arrow keys to set the points
        await tab_to(voter, f"dot-{akte}")
        await voter.keyboard.press("ArrowUp")
        await voter.keyboard.press("ArrowUp")
        await expect(voter.locator('[data-field="points-left"]')).to_have_text("Noch zu vergeben: 1")
        await tab_to(voter, f"dot-{breitband}", limit=3)
        await voter.keyboard.press("ArrowUp")
        await expect(voter.locator('[data-field="points-left"]')).to_have_text("Noch zu vergeben: 0")
        async with voter.expect_navigation():
            await voter.keyboard.press("Enter")
        await expect(voter.locator(".kern-alert--success")).to_contain_text("Ihre Stimme ist gespeichert")

        # the watching browser follows without a reload
        await expect(viewer.locator('[data-field="ballots"]')).to_have_text("1", timeout=5000)
        first_row = table.locator("tbody tr").first
        await expect(first_row.locator("th")).to_have_text("Digitale Akte")
        await expect(first_row.locator("td").nth(1)).to_have_text("2")
        await expect(table.locator("tbody tr").nth(1).locator("td").nth(1)).to_have_text("1")
        await expect(viewer.locator('[data-field="winners"]')).to_have_text("Digitale Akte")

        # a changed ballot replaces the first one, and the viewer sees the new count
        await tab_to(voter, f"dot-{akte}")
        await voter.keyboard.press("ArrowDown")
        await voter.keyboard.press("ArrowDown")
        await tab_to(voter, f"dot-{breitband}", limit=3)
        await voter.keyboard.press("ArrowUp")
        async with voter.expect_navigation():
            await voter.keyboard.press("Enter")
        await expect(first_row.locator("th")).to_have_text("Breitband", timeout=5000)
        await expect(first_row.locator("td").nth(1)).to_have_text("2")
        await expect(viewer.locator('[data-field="ballots"]')).to_have_text("1")


Setup = Callable[[Stack, Page], Awaitable[None]]


async def poll_page(stack: Stack, page: Page) -> None:
    poll = await dot_poll(stack)
    await log_in(page, stack.base_url, MAGDEBURG)
    await page.goto(f"{stack.base_url}/abstimmungen/{poll['id']}")
    await expect(page.get_by_role("heading", level=1)).to_have_text(poll["title"])


async def ballot_with_errors(stack: Stack, page: Page) -> None:
    await poll_page(stack, page)
    first = page.locator("input[data-points]").first
    await first.fill("2")
    await page.locator("input[data-points]").nth(1).fill("2")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Stimme abgeben").click()
    await expect(page.get_by_role("alert")).to_contain_text("erlaubt sind 3")


async def ranking_ballot(stack: Stack, page: Page) -> None:
    ministry = await stack.login()
    poll = await open_poll(ministry, method={"kind": "schulze"})
    await ministry.aclose()
    await log_in(page, stack.base_url, MAGDEBURG)
    await page.goto(f"{stack.base_url}/abstimmungen/{poll['id']}")


async def live_results(stack: Stack, page: Page) -> None:
    poll = await dot_poll(stack)
    await log_in(page, stack.base_url, HALLE)
    await page.goto(f"{stack.base_url}/abstimmungen/{poll['id']}/ergebnis")
    await expect(page.get_by_test_id("result-table")).to_be_visible()


async def schulze_results(stack: Stack, page: Page) -> None:
    ministry = await stack.login()
    poll = await open_poll(ministry, method={"kind": "schulze"})
    ids = [o["id"] for o in poll["options"]]
    await ministry.put(f"/api/v1/polls/{poll['id']}/ballot", json={"ranking": [ids[1], ids[0]]})
    await ministry.post(f"/api/v1/polls/{poll['id']}/close")
    await ministry.aclose()
    await log_in(page, stack.base_url, HALLE)
    await page.goto(f"{stack.base_url}/abstimmungen/{poll['id']}/ergebnis")
    await expect(page.get_by_text("Endergebnis").first).to_be_visible()


async def projector(stack: Stack, page: Page) -> None:
    poll = await dot_poll(stack)
    await log_in(page, stack.base_url, HALLE)
    await page.goto(f"{stack.base_url}/abstimmungen/{poll['id']}/projektor")


async def polls_index(stack: Stack, page: Page) -> None:
    await dot_poll(stack)
    await log_in(page, stack.base_url, HALLE)
    await page.goto(f"{stack.base_url}/abstimmungen")


async def new_poll_form(stack: Stack, page: Page) -> None:
    member = await stack.login(MAGDEBURG)
    await propose(member, "Offene Daten")
    await member.aclose()
    await log_in(page, stack.base_url, "ministerium@gdst.example")
    await page.goto(f"{stack.base_url}/abstimmungen/neu?ag={TECHNIK}")


async def topics_page(stack: Stack, page: Page) -> None:
    await log_in(page, stack.base_url, MAGDEBURG)
    await page.goto(f"{stack.base_url}/ags/{TECHNIK}/themen")
    await page.get_by_label("Titel").fill("Digitale Bauakte")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Vorschlagen").click()
    await page.get_by_role("link", name="Digitale Bauakte").click()
    await expect(page.get_by_test_id("history")).to_be_visible()


async def english_poll(stack: Stack, page: Page) -> None:
    await page.context.add_cookies([{"name": "gdst_lang", "value": "en", "url": stack.base_url}])
    await poll_page(stack, page)
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_role("button", name="Cast my vote")).to_be_visible()


PAGES: dict[str, Setup] = {
    "poll": poll_page,
    "ballot-errors": ballot_with_errors,
    "ranking-ballot": ranking_ballot,
    "live-results": live_results,
    "schulze-results": schulze_results,
    "projector": projector,
    "polls": polls_index,
    "new-poll": new_poll_form,
    "topic": topics_page,
    "english-poll": english_poll,
}


@pytest.mark.parametrize("name", list(PAGES))
async def test_no_axe_violations(stack: Stack, new_context: NewContext, name: str) -> None:
    context = await new_context(bypass_csp=True)
    page = await context.new_page()
    await PAGES[name](stack, page)
    violations = await axe_violations(page)
    assert not violations, f"axe found on {page.url}:\n{describe(violations)}"
