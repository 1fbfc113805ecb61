"""Daily and weekly digests: one mail per person and period, never empty, never twice.

The digest for a period is claimed by writing a document whose `_id` names the person, the
period and its key (`<person>:daily:2026-11-24`); the claim holds the composed mail and the item
ids, so a restart after the claim finishes the same digest instead of sending another one.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.notifications import mails
from services.notifications.repository import InboxRepository
from services.runtime.loops import BackgroundLoop

log = logging.getLogger(__name__)
BERLIN = ZoneInfo("Europe/Berlin")


SETTLE_AFTER = timedelta(minutes=5)


def period_boundary(now: datetime, period: str, at: time) -> tuple[str, datetime] | None:
    """The key and start of the latest due digest moment at or before `now`, in Berlin time.

    Daily: every day at `at`; weekly: Mondays at `at`. None before the first moment of today
    (daily) or of this week (weekly).
    """
    local = now.astimezone(BERLIN)
    if period == "daily":
        moment = datetime.combine(local.date(), at, tzinfo=BERLIN)
        if local < moment:
            return None
        return local.date().isoformat(), moment.astimezone(UTC)
    monday = local.date() - timedelta(days=local.weekday())
    moment = datetime.combine(monday, at, tzinfo=BERLIN)
    if local < moment:
        return None
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}", moment.astimezone(UTC)


class Digests(BackgroundLoop):
    name = "digests"

    def __init__(
        self,
        repo: InboxRepository,
        *,
        public_url: str,
        sender: str,
        at: time = time(7, 0),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_mail: Callable[[], None] = lambda: None,
        interval: float = 30.0,
    ) -> None:
        super().__init__()
        self.repo = repo
        self.public_url = public_url
        self.sender = sender
        self.at = at
        self.clock = clock
        self.on_mail = on_mail
        self.interval = interval
        # period -> key whose digests are all sent: items are stamped when written, so none
        # older than the boundary arrives later, and its items need no further reading. Every
        # reading is a scan of all open items on FerretDB (100,000 after 218 Kommunen marked a
        # need), and one every 30 s took the database's capacity for minutes at a time.
        self._settled: dict[str, str] = {}

    async def run_once(self) -> int:
        queued = 0
        now = self.clock()
        for period in ("daily", "weekly"):
            due = period_boundary(now, period, self.at)
            if due is None:
                continue
            key, boundary = due
            if self._settled.get(period) == key:
                continue
            by_person: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for item in await self.repo.open_digest_items(period, boundary):
                by_person[item["person_id"]].append(item)
            for person_id, items in sorted(by_person.items()):
                queued += await self._send(person_id, period, key, items)
            # settled once a reading began well after the boundary (an item written at the
            # boundary on another instance, with its clock a little behind, is still caught)
            if now - boundary > SETTLE_AFTER:
                self._settled[period] = key
        if queued:
            self.on_mail()
        return queued

    async def _send(self, person_id: str, period: str, key: str, items: list[dict[str, Any]]) -> int:
        digest_id = f"{person_id}:{period}:{key}"
        items = sorted(items, key=lambda i: (i["created_at"], i["_id"]))
        label = f"Tag {key}" if period == "daily" else f"Woche {key}"
        mail = mails.digest(
            to=items[0]["email"],
            name=items[0]["name"],
            period_label=label,
            items=[{"title": i["title"], "body": i["body"], "link": i["link"]} for i in items],
            public_url=self.public_url,
            sender=self.sender,
            message_key=f"digest:{digest_id}",
        )
        claim = {
            "person_id": person_id,
            "period": period,
            "key": key,
            "to": items[0]["email"],
            "raw": mail,
            "items": [i["_id"] for i in items],
            "created_at": self.clock(),
        }
        if not await self.repo.claim_digest(digest_id, claim):
            existing = await self.repo.digest(digest_id)
            if existing is None:
                return 0
            # claimed before a restart: finish that same digest; later items wait for the next one
            claim = existing
        queued = await self.repo.queue_mail(
            {
                "_id": f"digest:{digest_id}",
                "to": claim["to"],
                "raw": claim["raw"],
                "state": "pending",
                "attempts": 0,
                "created_at": self.clock(),
                "next_attempt_at": None,
                "kind": f"digest.{period}",
            }
        )
        await self.repo.close_digest_items(list(claim["items"]), digest_id)
        return int(queued)
