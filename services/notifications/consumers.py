"""Transport adapter: reacts to events from JetStream."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import msgspec

from services.contracts import directory
from services.contracts.envelope import Event
from services.notifications import mails
from services.notifications.mailer import Mailer
from services.notifications.repository import NotificationsRepository
from services.runtime.consumer import Permanent

log = logging.getLogger(__name__)

# a claim this old that never became "sent" belongs to a worker that died mid-send
CLAIM_LEASE = timedelta(seconds=90)


class InvitationMails:
    event_types = (directory.EVENT_PERSON_INVITED,)

    def __init__(
        self, repo: NotificationsRepository, mailer: Mailer, *, public_url: str, sender: str
    ) -> None:
        self.repo = repo
        self.mailer = mailer
        self.public_url = public_url
        self.sender = sender
        self._decoder = msgspec.json.Decoder(directory.PersonInvited)

    async def __call__(self, event: Event) -> None:
        try:
            data = self._decoder.decode(event.data)
        except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise Permanent(f"bad person.invited data: {exc}") from exc
        key = f"email:{event.id}:{data.email}"
        now = datetime.now(UTC)
        if not await self.repo.claim(key, now, now - CLAIM_LEASE):
            log.info("invitation mail for event %s already sent", event.id)
            return
        message = mails.invitation(event.id, data, public_url=self.public_url, sender=self.sender)
        try:
            await self.mailer.send(message)
        except Exception:
            await self.repo.release(key)
            raise
        await self.repo.sent(key, datetime.now(UTC))
        log.info("invitation mail sent", extra={"event_id": event.id, "person_id": data.person_id})
