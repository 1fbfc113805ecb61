"""In Chromium, with the CSP switched off so only escaping can protect: pages showing the XSS
payload in their free-text fields run none of it."""

from __future__ import annotations

import pytest

from tests.browser.conftest import MEMBER, NewContext, log_in
from tests.conftest import Stack
from tests.hardening.test_xss import seed_with_payload

pytestmark = [pytest.mark.browser, pytest.mark.hardening]


async def test_payload_pages_run_no_script_even_without_csp(stack: Stack, new_context: NewContext) -> None:
    known = await seed_with_payload(stack)
    context = await new_context(bypass_csp=True)
    page = await context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))
    await log_in(page, stack.base_url, MEMBER)
    for path in (
        f"/bedarfe/{known['need_id']}",
        f"/abstimmungen/{known['poll_id']}",
        f"/umfragen/{known['survey_id']}",
        f"/themen/{known['topic_id']}",
    ):
        await page.goto(f"{stack.base_url}{path}")
        await page.wait_for_load_state("load")
        assert await page.evaluate("() => window.__xss") is None, path
        # the payload is there, as text
        assert "window.__xss=1" in await page.inner_text("main"), path
    assert dialogs == []
