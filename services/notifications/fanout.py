"""Turn an event into what each recipient gets: an inbox entry, an immediate mail, or an item
for the next digest — as each person chose. Every write has a natural id, so a redelivered
event (or a second instance handling it) changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec

from services.contracts.envelope import Event
from services.contracts.notifications import TOPIC_BY_TYPE
from services.notifications import mails
from services.notifications.messages import compose, preference
from services.notifications.recipients import Resolver
from services.notifications.repository import InboxRepository
from services.runtime.consumer import Permanent

log = logging.getLogger(__name__)


class FanOut:
    # the types it handles, split by the topic's default mail choice: the first are awaited by people, the others collected
    immediate_types = tuple(t for t, topic in TOPIC_BY_TYPE.items() if topic.email == "immediate")
    digest_types = tuple(t for t, topic in TOPIC_BY_TYPE.items() if topic.email != "immediate")

    def __init__(
        self,
        repo: InboxRepository,
        resolver: Resolver,
        *,
        public_url: str,
        sender: str,
        on_mail: Callable[[], None] = lambda: None,
    ) -> None:
        self.repo = repo
        self.resolver = resolver
        self.public_url = public_url
        self.sender = sender
        self.on_mail = on_mail

    async def __call__(self, event: Event) -> None:
        try:
            data: dict[str, Any] = msgspec.json.decode(event.data)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise Permanent(f"bad data: {exc}") from exc
        if not isinstance(data, dict):
            # `null` or a list where an object belongs: no retry makes it an object
            raise Permanent(f"unbrauchbare Daten in {event.type}: kein Objekt")
        try:
            audience = await self.resolver.resolve(event.type, data)
            if not audience.people:
                return
            message = compose(event.type, data, audience.context)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # the event lacks what its type promises: no retry will change that
            raise Permanent(f"unbrauchbare Daten in {event.type}: {exc!r}") from exc
        now = datetime.now(UTC)
        stored = await self.repo.preferences_for([p.id for p in audience.people])
        inbox: list[dict[str, Any]] = []
        queue: list[dict[str, Any]] = []
        digest: list[dict[str, Any]] = []
        for person in audience.people:
            choice = preference(stored.get(person.id), event.type)
            key = f"{event.id}:{person.id}"
            if choice.inapp:
                inbox.append(
                    {
                        "_id": key,
                        "person_id": person.id,
                        "event_id": event.id,
                        "event_type": event.type,
                        "title": message.title,
                        "body": message.body,
                        "link": message.link,
                        "created_at": now,
                        "read_at": None,
                    }
                )
            if choice.email == "immediate":
                mail = mails.notification(
                    to=person.email,
                    name=person.name,
                    title=message.title,
                    body=message.body,
                    link=message.link,
                    public_url=self.public_url,
                    sender=self.sender,
                    message_key=key,
                )
                queue.append(
                    {
                        "_id": key,
                        "to": person.email,
                        "raw": mail,
                        "state": "pending",
                        "attempts": 0,
                        "created_at": now,
                        "next_attempt_at": None,
                        "kind": event.type,
                    }
                )
            elif choice.email in ("daily", "weekly"):
                digest.append(
                    {
                        "_id": key,
                        "person_id": person.id,
                        "name": person.name,
                        "email": person.email,
                        "period": choice.email,
                        "title": message.title,
                        "body": message.body,
                        "link": message.link,
                        "created_at": now,
                        "digest": None,
                    }
                )
        # natural ids: on a redelivery every one of these inserts is skipped
        await self.repo.insert_new(self.repo.inbox, inbox)
        await self.repo.insert_new(self.repo.digest_items, digest)
        if await self.repo.insert_new(self.repo.mails, queue):
            self.on_mail()
