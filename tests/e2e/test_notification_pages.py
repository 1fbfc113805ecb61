"""Inbox and preference pages, and the unread count on every page."""

from __future__ import annotations

import asyncio
import re

from tests.conftest import Stack
from tests.e2e.needs_support import kommune, report
from tests.e2e.test_needs_pages import csrf, page_login


class TestNotificationPages:
    async def test_unread_badge_inbox_and_mark_read(self, stack: Stack) -> None:
        need = await report(await stack.login(kommune("15003")), "Glasfaser für Schulen")
        await (await stack.login(kommune("15002"))).put(f"/api/v1/needs/{need['id']}/support")
        client = await page_login(stack, kommune("15003"))
        for _ in range(100):
            start = await client.get("/")
            if 'data-testid="unread-count"' in start.text:
                break
            await asyncio.sleep(0.1)
        assert re.search(r'data-testid="unread-count">1<', start.text), "the count shows on every page"
        assert re.search(r'data-testid="unread-count">1<', (await client.get("/bedarfe")).text)
        inbox = await client.get("/benachrichtigungen")
        assert "Halle (Saale)" in inbox.text and f'href="/bedarfe/{need["id"]}"' in inbox.text
        entry = re.search(r'action="/benachrichtigungen/([^"]+)/gelesen"', inbox.text)
        assert entry
        done = await client.post(
            f"/benachrichtigungen/{entry.group(1)}/gelesen", data={"csrf_token": csrf(inbox.text)}
        )
        assert done.status_code == 200 and 'data-testid="unread-count"' not in done.text
        assert re.search(r'data-testid="inbox-unread">0<', done.text)

    async def test_preferences_form(self, stack: Stack) -> None:
        client = await page_login(stack, kommune("15003"))
        page = await client.get("/einstellungen/benachrichtigungen")
        assert page.status_code == 200 and "Der Status eines Bedarfs hat sich geändert" in page.text
        selects = re.findall(r'name="(email-\d+)"', page.text)
        data = {name: "weekly" for name in selects} | {"csrf_token": csrf(page.text), "inapp-0": "1"}
        saved = await client.post("/einstellungen/benachrichtigungen", data=data)
        assert saved.status_code == 200 and "gespeichert" in saved.text
        prefs = (await (await stack.login(kommune("15003"))).get("/api/v1/notification-preferences")).json()
        assert prefs["need.supported"] == {"email": "weekly", "inapp": True}
        assert (
            prefs["need.status_changed"]["email"] == "weekly"
            and prefs["need.status_changed"]["inapp"] is False
        )
        bad = await client.post(
            "/einstellungen/benachrichtigungen", data={**data, "email-1": "sofort-und-immer"}
        )
        assert bad.status_code == 422 and 'href="#email-1"' in bad.text
        again = (await (await stack.login(kommune("15003"))).get("/api/v1/notification-preferences")).json()
        assert again == prefs, "nothing changed"
