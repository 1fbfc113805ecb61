"""Send queued mails. A mail that cannot be sent (SMTP down, refused) stays queued and is tried
again with growing pauses; other mails are not held up by it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from services.notifications.mailer import Mailer
from services.notifications.repository import InboxRepository

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(seconds=90)


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(600, 2 ** min(attempts, 10)))


class MailSender:
    def __init__(
        self,
        repo: InboxRepository,
        mailer: Mailer,
        *,
        sender: str,
        interval: float = 1.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.repo = repo
        self.mailer = mailer
        self.sender = sender
        self.interval = interval
        self.clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="mail-sender")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            self._wake.clear()
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database away: the next round tries again
                log.warning("mail round failed: %r", exc)

    async def run_once(self) -> int:
        sent = 0
        now = self.clock()
        for doc in await self.repo.due_mails(now):
            if not await self.repo.claim_mail(doc["_id"], now, now - CLAIM_LEASE):
                continue
            if await self.repo.mail_state(doc["_id"]) == "sent":
                continue
            try:
                await self.mailer.send_raw(self.sender, [doc["to"]], bytes(doc["raw"]))
            except Exception as exc:
                attempts = int(doc.get("attempts") or 0) + 1
                log.warning("mail %s not sent (attempt %s): %r", doc["_id"], attempts, exc)
                await self.repo.mail_retry(doc["_id"], attempts, now + retry_delay(attempts), repr(exc)[:500])
                continue
            await self.repo.mail_sent(doc["_id"], self.clock())
            sent += 1
        return sent
