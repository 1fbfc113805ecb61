"""Headless Chromium for the browser tests: one browser per session, a fresh context per test.

Debian's Chromium is driven by Playwright through `executable_path`; Playwright's own browser
downloads are never used. axe-core is injected from the vendored copy, which needs a context
created with `bypass_csp=True` because the gateway's CSP forbids anything but its own scripts.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.conftest import DEMO_PASSWORD, Stack

ROOT = Path(__file__).resolve().parents[2]
# Debian's package (`make test-deps`); tests/conftest.py stops the session early if it is missing
CHROMIUM = os.environ.get("GDST_CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / "gateway" / "static" / "vendor" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
MEMBER = "kommune-15003@gdst.example"
# Set GDST_SCREENSHOTS to a folder to keep screenshots of the main pages for a look by eye.
SCREENSHOTS = os.environ.get("GDST_SCREENSHOTS")

# No internet here: keep Chromium from phoning home (updates, sync, QUIC probes, field trials).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

NewContext = Callable[..., Awaitable[BrowserContext]]


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def new_context(browser: Browser) -> AsyncIterator[NewContext]:
    """Factory for browser contexts (own cookies each), closed after the test.

    The CSP stays enforced unless `bypass_csp=True` is asked for (only to inject axe-core);
    with it enforced, any CSP violation the page causes fails the test.
    """
    contexts: list[BrowserContext] = []
    violations: list[str] = []

    async def make(*, bypass_csp: bool = False, **kw: Any) -> BrowserContext:
        options: dict[str, Any] = {"locale": "de-DE", "viewport": {"width": 1280, "height": 900}}
        context = await browser.new_context(bypass_csp=bypass_csp, **(options | kw))
        context.set_default_timeout(10_000)

        def on_console(message: Any) -> None:
            if "Content Security Policy" in message.text:
                violations.append(message.text)

        context.on("console", on_console)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        await context.close()
    assert not violations, f"CSP violations: {violations}"


@pytest.fixture
async def page(new_context: NewContext) -> Page:
    context = await new_context()
    return await context.new_page()


async def log_in(page: Page, base_url: str, email: str = MEMBER, password: str = DEMO_PASSWORD) -> None:
    """Log in through the form (the keyboard-only path is tested separately)."""
    await page.goto(f"{base_url}/anmelden")
    await page.fill("#email", email)
    await page.fill("#password", password)
    async with page.expect_navigation():
        await page.press("#password", "Enter")


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Run axe-core on the current page; needs a context with `bypass_csp=True`."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make setup` (front-end step) first")
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    result: list[dict[str, Any]] = await page.evaluate(
        """async (tags) => {
            const results = await axe.run(document, {runOnly: {type: "tag", values: tags}});
            return results.violations.map(v => ({
                id: v.id,
                impact: v.impact,
                help: v.help,
                targets: v.nodes.map(n => n.target.join(" ")),
                summaries: v.nodes.map(n => n.failureSummary),
            }));
        }""",
        AXE_TAGS,
    )
    return result


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
        for target, summary in zip(v["targets"], v["summaries"], strict=False):
            lines.append(f"    at {target}: {summary}")
    return "\n".join(lines)


async def screenshot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        await page.screenshot(path=str(Path(SCREENSHOTS) / f"gdst-{name}.png"), full_page=True)


async def invitation_path(stack: Stack, email: str, name: str, organisation_id: str = "15002") -> str:
    """The ministry invites someone via the API; returns the path of the link in the mail."""
    ministry = await stack.login()
    try:
        invited = await ministry.post(
            "/api/v1/invitations",
            json={"email": email, "name": name, "organisation_id": organisation_id, "roles": ["member"]},
        )
    finally:
        await ministry.aclose()
    assert invited.status_code == 201, invited.text
    [mail] = await stack.mailbox.wait_for(email)
    body = mail.get_body(("plain",))
    assert body is not None
    match = re.search(r"http://gdst\.test(/einladung/[A-Za-z0-9_-]+)", body.get_content())
    assert match, "the mail carries the link to set the password"
    return match.group(1)
