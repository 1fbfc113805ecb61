"""The digest loop reads the open items of a period only until that period is settled."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any, cast

from services.notifications.digests import Digests
from services.notifications.repository import InboxRepository


class Items:
    """Stands in for the repository: no open items, and how often they were read."""

    def __init__(self) -> None:
        self.reads: list[str] = []

    async def open_digest_items(self, period: str, before: datetime) -> list[dict[str, Any]]:
        self.reads.append(period)
        return []


async def test_a_settled_period_is_not_read_again_until_the_next_one() -> None:
    items = Items()
    monday_7am = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # 07:00 in Berlin
    now = [monday_7am + timedelta(minutes=1)]
    digests = Digests(
        cast(InboxRepository, items), public_url="x", sender="x", at=time(7, 0), clock=lambda: now[0]
    )
    await digests.run_once()
    await digests.run_once()
    assert items.reads == ["daily", "weekly"] * 2, "just after the moment: read again (late items)"
    now[0] = monday_7am + timedelta(minutes=10)
    await digests.run_once()
    await digests.run_once()
    assert items.reads == ["daily", "weekly"] * 3, "settled after one reading well past the moment"
    now[0] = monday_7am + timedelta(days=1, minutes=10)  # Tuesday: a new daily period
    await digests.run_once()
    assert items.reads[-1:] == ["daily"] and len(items.reads) == 7, "the week stays settled"
