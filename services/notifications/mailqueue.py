"""Send queued mails. A mail that cannot be sent (SMTP down, refused) stays queued and is tried
again with growing pauses; other mails are not held up by it. A mail the server refuses for good
(a 5xx reply, e.g. an unknown mailbox) is given up after a few tries and marked `failed` with the
server's answer: retrying it for ever would hide the problem."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import aiosmtplib

from services.notifications.mailer import Mailer
from services.notifications.repository import InboxRepository
from services.runtime.loops import BackgroundLoop

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(seconds=90)
# some servers answer 5xx for a moment (greylisting done wrong, a full mailbox): a few tries first
PERMANENT_FAILURE_ATTEMPTS = 3


def permanent(error: Exception) -> bool:
    """A 5xx reply: the server will not take this mail, whenever we ask."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return bool(error.recipients) and all(permanent(r) for r in error.recipients)
    return isinstance(error, aiosmtplib.SMTPResponseException) and 500 <= error.code < 600


# mails per round: each round reads the whole queue and its markers (FerretDB scans for every
# filter but a lone `_id`), so a survey's thousand mails go out in one or two rounds, not five
BATCH = 1000


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(600, 2 ** min(attempts, 10)))


class MailSender(BackgroundLoop):
    name = "mail-sender"

    def __init__(
        self,
        repo: InboxRepository,
        mailer: Mailer,
        *,
        sender: str,
        interval: float = 1.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__()
        self.repo = repo
        self.mailer = mailer
        self.sender = sender
        self.interval = interval
        self.clock = clock

    async def run_once(self) -> int:
        """Send one batch of due mails over one SMTP connection."""
        now = self.clock()
        due = await self.repo.due_mails(now, limit=BATCH)
        if not due:
            return 0
        held = await self.repo.claim_mails([d["_id"] for d in due], now, now - CLAIM_LEASE)
        bodies = await self.repo.mail_bodies(held)
        attempts = {d["_id"]: int(d.get("attempts") or 0) for d in due}
        batch = [
            (mail_id, bodies[mail_id]["to"], bytes(bodies[mail_id]["raw"]))
            for mail_id in held
            if mail_id in bodies
        ]
        try:
            results = await self.mailer.send_batch(self.sender, [(to, raw) for _, to, raw in batch])
        except Exception as exc:  # no connection at all: every mail of the batch waits
            results = [exc] * len(batch)
        sent = [mail_id for (mail_id, _, _), error in zip(batch, results, strict=True) if error is None]
        await self.repo.mails_sent(sent, self.clock())
        for (mail_id, _, _), error in zip(batch, results, strict=True):
            if error is not None:
                tries = attempts.get(mail_id, 0) + 1
                if permanent(error) and tries >= PERMANENT_FAILURE_ATTEMPTS:
                    log.error("mail %s refused for good after %s attempts: %r", mail_id, tries, error)
                    await self.repo.mail_failed(mail_id, tries, self.clock(), repr(error)[:500])
                    continue
                log.warning("mail %s not sent (attempt %s): %r", mail_id, tries, error)
                await self.repo.mail_retry(mail_id, tries, now + retry_delay(tries), repr(error)[:500])
        if len(due) == len(held) and len(sent) == len(batch):
            self._wake.set()  # there may be more due: go on without waiting for the interval
        return len(sent)
