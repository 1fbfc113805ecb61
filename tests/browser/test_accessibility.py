"""axe-core finds no WCAG 2.1 A/AA violations on any page, in German and in English."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import MEMBER, NewContext, axe_violations, describe, invitation_path, log_in
from tests.conftest import Stack

pytestmark = pytest.mark.browser

Setup = Callable[[Stack, Page], Awaitable[None]]


async def login_page(stack: Stack, page: Page) -> None:
    await page.goto(f"{stack.base_url}/anmelden")


async def login_page_with_errors(stack: Stack, page: Page) -> None:
    await page.goto(f"{stack.base_url}/anmelden")
    await page.fill("#email", MEMBER)
    await page.fill("#password", "falsch")
    async with page.expect_navigation():
        await page.press("#password", "Enter")
    await expect(page.get_by_role("alert")).to_be_visible()


async def login_page_with_field_errors(stack: Stack, page: Page) -> None:
    await page.goto(f"{stack.base_url}/anmelden")
    async with page.expect_navigation():
        await page.press("#email", "Enter")
    await expect(page.locator("#email-fehler")).to_be_visible()


async def login_page_after_invitation(stack: Stack, page: Page) -> None:
    await page.goto(f"{stack.base_url}/anmelden?eingeladen=1")
    await expect(page.get_by_role("status")).to_be_visible()


async def start_page(stack: Stack, page: Page) -> None:
    await log_in(page, stack.base_url)
    await expect(page.get_by_test_id("organisation-name")).to_be_visible()


async def accessibility_statement(stack: Stack, page: Page) -> None:
    await page.goto(f"{stack.base_url}/barrierefreiheit")


async def privacy_notice(stack: Stack, page: Page) -> None:
    await page.goto(f"{stack.base_url}/datenschutz")


async def invitation_page(stack: Stack, page: Page) -> None:
    path = await invitation_path(stack, f"axe.{secrets.token_hex(3)}@halle.example", "Ada Axe")
    await page.goto(stack.base_url + path)
    await expect(page.get_by_label("Neues Passwort")).to_be_visible()


async def invitation_page_with_errors(stack: Stack, page: Page) -> None:
    await invitation_page(stack, page)
    await page.fill("#password", "kurz")
    async with page.expect_navigation():
        await page.press("#password", "Enter")
    await expect(page.locator("#password-fehler")).to_be_visible()


async def invalid_invitation(stack: Stack, page: Page) -> None:
    await page.goto(f"{stack.base_url}/einladung/gibt-es-nicht")


async def not_found(stack: Stack, page: Page) -> None:
    await page.goto(f"{stack.base_url}/gibt-es-nicht")


async def english_login_page(stack: Stack, page: Page) -> None:
    await page.goto(f"{stack.base_url}/anmelden")
    async with page.expect_navigation():
        await page.locator("footer").get_by_role("link", name="English").click()
    await expect(page.locator("html")).to_have_attribute("lang", "en")


async def english_start_page(stack: Stack, page: Page) -> None:
    await english_login_page(stack, page)
    await log_in(page, stack.base_url)
    await expect(page.locator("html")).to_have_attribute("lang", "en")


PAGES: dict[str, Setup] = {
    "login": login_page,
    "login-errors": login_page_with_errors,
    "login-field-errors": login_page_with_field_errors,
    "login-after-invitation": login_page_after_invitation,
    "start": start_page,
    "accessibility-statement": accessibility_statement,
    "privacy": privacy_notice,
    "invitation": invitation_page,
    "invitation-errors": invitation_page_with_errors,
    "invitation-invalid": invalid_invitation,
    "not-found": not_found,
    "english-login": english_login_page,
    "english-start": english_start_page,
}


@pytest.mark.parametrize("name", list(PAGES))
async def test_no_axe_violations(stack: Stack, new_context: NewContext, name: str) -> None:
    context = await new_context(bypass_csp=True)
    page = await context.new_page()
    await PAGES[name](stack, page)
    violations = await axe_violations(page)
    assert not violations, f"axe found on {page.url}:\n{describe(violations)}"


async def tab_stops_without_visible_focus(page: Page, limit: int = 30) -> list[str]:
    """Tab through the page; returns the Tab stops whose look does not change when focused."""
    invisible: list[str] = []
    seen: set[str] = set()
    for _ in range(limit):
        await page.keyboard.press("Tab")
        stop = await page.evaluate(
            """() => {
                const el = document.activeElement;
                if (!el || el === document.body) return null;
                const r = el.getBoundingClientRect();
                const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " " +
                    (el.innerText || el.getAttribute("name") || "").trim().slice(0, 40);
                return {name, x: r.x + scrollX, y: r.y + scrollY, w: r.width, h: r.height};
            }"""
        )
        if stop is None or stop["name"] in seen:
            break
        seen.add(stop["name"])
        # a margin around the element catches outlines and offsets drawn outside its box
        clip = {
            "x": max(0, stop["x"] - 8),
            "y": max(0, stop["y"] - 8),
            "width": stop["w"] + 16,
            "height": stop["h"] + 16,
        }
        focused = await page.screenshot(clip=clip, full_page=True)
        await page.evaluate("() => document.activeElement.blur()")
        if await page.screenshot(clip=clip, full_page=True) == focused:
            invisible.append(stop["name"])
    assert seen, "the page has Tab stops"
    return invisible


@pytest.mark.parametrize("name", ["login-field-errors", "start", "english-login"])
async def test_focus_is_visible(stack: Stack, new_context: NewContext, name: str) -> None:
    """WCAG 2.4.7: every Tab stop looks different when it has the keyboard focus."""
    page = await (await new_context()).new_page()
    await PAGES[name](stack, page)
    invisible = await tab_stops_without_visible_focus(page)
    assert not invisible, f"no visible focus on {page.url} at: {invisible}"


@pytest.mark.parametrize("name", ["login-field-errors", "start", "invitation-errors", "privacy"])
async def test_reflow_at_320_css_pixels(stack: Stack, new_context: NewContext, name: str) -> None:
    """WCAG 1.4.10: at 320 CSS pixels (400 % zoom of 1280) nothing needs horizontal scrolling."""
    page = await (await new_context(viewport={"width": 320, "height": 640})).new_page()
    await PAGES[name](stack, page)
    widths = await page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the page is {widths[0]} px wide in a {widths[1]} px window"
