"""Retention: inbox items and delivery logs are kept a configured number of days, then removed.

Storage limitation (Art. 5 (1) e DSGVO): an inbox item is a copy of a notice that is long
acted on, a delivery log is for finding faults in the weeks after. Pending deliveries and queued
mails are never removed here; only finished ones age out. FerretDB has no TTL indexes, so a
background round deletes what has aged (one `delete_many` per collection).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from services.runtime.loops import BackgroundLoop
from services.runtime.mongo import AsyncDatabase, Document

log = logging.getLogger(__name__)


class Retention(BackgroundLoop):
    name = "retention"

    def __init__(
        self,
        db: AsyncDatabase[Document],
        *,
        inbox_days: int,
        delivery_log_days: int,
        interval: float = 3600.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        inbox_changed: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__()
        self.db = db
        # unread entries may go too: the badge counts are read again
        self.inbox_changed = inbox_changed
        self.inbox_days = inbox_days
        self.delivery_log_days = delivery_log_days
        self.interval = interval
        self.clock = clock

    async def run_once(self) -> int:
        now = self.clock()
        inbox_cutoff = now - timedelta(days=self.inbox_days)
        log_cutoff = now - timedelta(days=self.delivery_log_days)
        removed = 0
        # the inbox and the read digest items that fed a sent digest
        removed += await self._delete("inbox", {"created_at": {"$lt": inbox_cutoff}})
        self.inbox_changed()
        removed += await self._delete(
            "digest_items", {"digest": {"$ne": None}, "created_at": {"$lt": inbox_cutoff}}
        )
        # delivery logs: webhook attempts that are finished, sent-mail markers, invitation mails
        removed += await self._delete(
            "webhook_deliveries",
            {"state": {"$in": ["delivered", "failed"]}, "created_at": {"$lt": log_cutoff}},
        )
        removed += await self._delete("mails_sent", {"at": {"$lt": log_cutoff}})
        removed += await self._delete("deliveries", {"state": "sent", "sent_at": {"$lt": log_cutoff}})
        removed += await self._delete("digests", {"created_at": {"$lt": log_cutoff}})
        if removed:
            log.info("retention removed %s documents", removed)
        return removed

    async def _delete(self, collection: str, query: Document) -> int:
        result = await self.db[collection].delete_many(query)
        return int(result.deleted_count)
