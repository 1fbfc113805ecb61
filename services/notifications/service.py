"""Inbox and preferences: what a person sees and chooses. No transport code."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.contracts import notifications as n
from services.contracts.envelope import Principal
from services.notifications.messages import preference
from services.notifications.repository import InboxRepository
from services.runtime.errors import BadRequest, Forbidden, Invalid, NotFound, field


class InboxService:
    def __init__(self, repo: InboxRepository, processed: Any = None) -> None:
        self.repo = repo
        self.processed = processed

    async def parked(self, who: Principal) -> n.ParkedList:
        if "admin" not in who.roles:
            raise Forbidden("Geparkte Ereignisse sehen Administratorinnen und Administratoren.")
        docs = await self.processed.find({"parked": True}, {"raw": 0}).to_list(None)
        docs.sort(key=lambda d: (d["at"], d["_id"]), reverse=True)
        return n.ParkedList(
            items=[
                n.ParkedEvent(
                    id=d["_id"],
                    consumer=d["consumer"],
                    subject=d["subject"],
                    type=d.get("type"),
                    event_id=d.get("event_id"),
                    reason=d["reason"],
                    at=_aware(d["at"]),
                )
                for d in docs
            ]
        )

    async def mail_problems(self, who: Principal) -> n.MailProblemList:
        """Mails that could not be delivered (yet), with the mail server's answer."""
        if "admin" not in who.roles:
            raise Forbidden("Zustellprobleme sehen Administratorinnen und Administratoren.")
        docs = await self.repo.undelivered_mails()
        return n.MailProblemList(
            items=[
                n.MailProblem(
                    id=d["_id"],
                    to=d["to"],
                    state="failed" if d.get("state") == "failed" else "pending",
                    attempts=int(d.get("attempts") or 0),
                    last_error=d["last_error"],
                    created_at=_aware(d["created_at"]),
                    next_attempt_at=_aware(d["next_attempt_at"]) if d.get("next_attempt_at") else None,
                    failed_at=_aware(d["failed_at"]) if d.get("failed_at") else None,
                )
                for d in docs
            ]
        )

    async def inbox(self, who: Principal, req: n.ListInbox) -> n.NotificationPage:
        docs = await self.repo.inbox_of(who.person_id, unread_only=req.unread)
        if req.cursor:
            ids = [d["_id"] for d in docs]
            if req.cursor not in ids:
                raise BadRequest("Der Cursor ist ungültig.")
            docs = docs[ids.index(req.cursor) + 1 :]
        page = docs[: req.limit]
        items = [
            n.Notification(
                id=d["_id"],
                event_type=d["event_type"],
                title=d["title"],
                body=d["body"],
                link=d.get("link"),
                created_at=_aware(d["created_at"]),
                read=d.get("read_at") is not None,
            )
            for d in page
        ]
        return n.NotificationPage(
            items=items,
            next_cursor=page[-1]["_id"] if len(docs) > req.limit else None,
            unread=await self.repo.unread_count(who.person_id),
        )

    async def unread(self, who: Principal) -> n.Unread:
        return n.Unread(count=await self.repo.unread_count(who.person_id))

    async def mark_read(self, who: Principal, entry_id: str) -> None:
        # the filter names the person: nobody marks another person's entries
        if not await self.repo.mark_read(who.person_id, entry_id, datetime.now(UTC)):
            raise NotFound("Diese Benachrichtigung gibt es nicht.")

    async def mark_all_read(self, who: Principal) -> None:
        await self.repo.mark_all_read(who.person_id, datetime.now(UTC))

    async def preferences(self, who: Principal) -> n.Preferences:
        stored = await self.repo.preferences_of(who.person_id)
        return n.Preferences(items={t.event_type: preference(stored, t.event_type) for t in n.TOPICS})

    async def set_preferences(self, who: Principal, req: n.SetPreferences) -> n.Preferences:
        unknown = sorted(set(req.items) - set(n.TOPIC_BY_TYPE))
        if unknown:
            raise Invalid(
                "Unbekannte Ereignisarten.", [field(f"items.{u}", "Unbekannte Ereignisart.") for u in unknown]
            )
        stored = await self.repo.preferences_of(who.person_id)
        stored.update({k: {"email": v.email, "inapp": v.inapp} for k, v in req.items.items()})
        await self.repo.set_preferences(who.person_id, stored)
        return await self.preferences(who)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
