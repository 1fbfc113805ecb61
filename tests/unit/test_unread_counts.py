"""The unread badge: one inbox scan serves every page asking at the same time, and nobody sees a
count older than this instance's own last inbox write."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from services.notifications.unread import UnreadCounts


class Inbox:
    """Stands in for the inbox collection: unread entries by person, and how often it was read."""

    def __init__(self) -> None:
        self.unread: dict[str, int] = {"anna": 2}
        self.scans = 0

    async def scan(self, before: datetime) -> dict[str, int]:
        self.scans += 1
        snapshot = dict(self.unread)
        await asyncio.sleep(0.01)  # a scan takes a while; callers arrive meanwhile
        return snapshot


async def test_fifty_pages_at_once_cost_one_scan() -> None:
    inbox = Inbox()
    counts = UnreadCounts(inbox.scan, ttl=60)
    results = await asyncio.gather(*(counts.count("anna") for _ in range(50)))
    assert results == [2] * 50
    assert inbox.scans == 1
    assert await counts.count("bernd") == 0 and inbox.scans == 1


async def test_own_write_is_seen_on_the_next_page_even_during_a_scan() -> None:
    inbox = Inbox()
    counts = UnreadCounts(inbox.scan, ttl=60)
    assert await counts.count("anna") == 2
    # a scan is under way when Anna reads one entry; her next page must not show the old count
    during = asyncio.create_task(counts.count("anna"))
    await asyncio.sleep(0)
    inbox.unread["anna"] = 1
    counts.changed()
    assert await counts.count("anna") == 1
    await during


async def test_writes_of_other_instances_show_after_the_ttl() -> None:
    inbox = Inbox()
    counts = UnreadCounts(inbox.scan, ttl=0.05)
    assert await counts.count("anna") == 2
    inbox.unread["anna"] = 5  # written by another instance: this one is not told
    assert await counts.count("anna") == 2
    await asyncio.sleep(0.06)
    assert await counts.count("anna") == 2, "answered at once while a scan refreshes the counts"
    await asyncio.sleep(0.03)
    assert await counts.count("anna") == 5
    assert inbox.scans == 2


async def test_a_failed_scan_fails_the_callers_and_the_next_call_scans_again() -> None:
    inbox = Inbox()
    failures = [RuntimeError("database away")]

    async def flaky(before: datetime) -> dict[str, int]:
        if failures:
            raise failures.pop()
        return await inbox.scan(before)

    counts = UnreadCounts(flaky, ttl=60)
    try:
        await counts.count("anna")
    except RuntimeError:
        pass
    else:
        raise AssertionError("the failure was hidden")
    assert await counts.count("anna") == 2


async def test_own_writes_with_known_effect_cost_no_scan() -> None:
    inbox = Inbox()
    counts = UnreadCounts(inbox.scan, ttl=60)
    assert await counts.count("anna") == 2
    inbox.unread["bernd"] = 3
    now = datetime.now(UTC)
    counts.apply([("bernd", now)] * 3 + [("anna", now)])  # a fan-out added entries through this instance
    counts.apply(read="anna")  # and Anna read one
    assert await counts.count("bernd") == 3
    assert await counts.count("anna") == 2
    counts.apply(all_read="bernd")
    assert await counts.count("bernd") == 0
    assert inbox.scans == 1, "patched, not read again"


async def test_entries_added_during_a_scan_are_added_to_its_result() -> None:
    inbox = Inbox()
    counts = UnreadCounts(inbox.scan, ttl=60)
    during = asyncio.create_task(counts.count("anna"))
    await asyncio.sleep(0)
    await asyncio.sleep(0)  # the scan has begun: it counts entries created before now (2 for Anna)
    inbox.unread["anna"] = 3
    counts.apply([("anna", datetime.now(UTC))])
    assert await during == 3, "the new entry, which the scan does not count, is added"
    assert await counts.count("anna") == 3
    assert inbox.scans == 1


async def test_a_read_or_an_old_entry_during_a_scan_makes_the_next_count_read_again() -> None:
    inbox = Inbox()
    counts = UnreadCounts(inbox.scan, ttl=60)
    during = asyncio.create_task(counts.count("anna"))
    await asyncio.sleep(0)
    await asyncio.sleep(0)  # the scan has begun
    inbox.unread["anna"] = 1
    counts.apply(read="anna")  # the scan may or may not see it read
    await during
    assert await counts.count("anna") == 1, "read again, not 2 (the scan's) nor 0 (counted twice)"
    counts.changed()  # something else: the next count scans
    during = asyncio.create_task(counts.count("bernd"))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    inbox.unread["bernd"] = 1
    counts.apply([("bernd", datetime.now(UTC) - timedelta(minutes=5))])  # older than the scan's start
    await during
    assert await counts.count("bernd") == 1
    assert inbox.scans == 4


async def test_an_unknown_change_reads_again() -> None:
    inbox = Inbox()
    counts = UnreadCounts(inbox.scan, ttl=60)
    assert await counts.count("anna") == 2
    inbox.unread["anna"] = 0  # retention removed her old entries
    counts.changed()
    assert await counts.count("anna") == 0
