"""Mail survives an SMTP outage; two notification instances side by side send nothing twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from services.notifications.app import start as start_notifications
from tests.conftest import Stack
from tests.e2e.needs_support import KOMMUNEN, kommune, report
from tests.support.servers import Mailbox, SmtpServer

pytestmark = pytest.mark.faults


async def change_status_of_needs(stack: Stack, count: int) -> list[str]:
    """Each need affects its reporting Kommune: `count` status changes mail `count` Kommunen."""
    ministry = await stack.login()
    reporters = KOMMUNEN[:count]
    for ags in reporters:
        need = await report(await stack.login(kommune(ags)), f"Bedarf aus {ags}")
        response = await ministry.patch(f"/api/v1/needs/{need['id']}", json={"status": "in_pruefung"})
        assert response.status_code == 200
    return [kommune(a) for a in reporters]


class TestSmtpOutage:
    async def test_mails_wait_for_smtp_and_go_out_once(
        self, stack: Stack, mailbox: tuple[Mailbox, SmtpServer]
    ) -> None:
        box, controller = mailbox
        controller.stop()
        try:
            addresses = await change_status_of_needs(stack, 6)
            await asyncio.sleep(3.0)  # several failed attempts while SMTP is away
            assert box.messages == []
            repo = stack.processes["notifications"].parts["inbox"]
            waiting = await repo.mails.count_documents({"state": "pending"})
            assert waiting == 6
        finally:
            controller.start()
        # the retry pauses grow; move the sender's clock on instead of waiting them out
        stack.processes["notifications"].parts["sender"].clock = lambda: (
            datetime.now(UTC) + timedelta(hours=1)
        )
        for address in addresses:
            await box.wait_for(address, 1, timeout=30)
        await asyncio.sleep(1.5)
        assert sorted(str(m["To"]) for m in box.messages) == sorted(addresses), "each once, nobody else"


class TestTwoInstances:
    async def test_two_instances_share_the_work_without_duplicates(self, stack: Stack) -> None:
        second = await start_notifications(stack.settings)
        try:
            addresses = await change_status_of_needs(stack, 10)
            for address in addresses:
                await stack.mailbox.wait_for(address, 1, timeout=30)
            await asyncio.sleep(2.0)
            assert sorted(str(m["To"]) for m in stack.mailbox.messages) == sorted(addresses)
            for ags in KOMMUNEN[:10]:
                client = await stack.login(kommune(ags))
                items = (await client.get("/api/v1/notifications")).json()["items"]
                assert [i["event_type"] for i in items] == ["need.status_changed"]
        finally:
            await second.stop()
