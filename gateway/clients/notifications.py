"""Calls into the notifications service."""

from __future__ import annotations

from services.contracts import notifications as n
from services.contracts.common import Empty
from services.contracts.envelope import Principal
from services.runtime.rpc import RpcClient

E = n.Endpoints


class NotificationsClient:
    def __init__(self, rpc: RpcClient) -> None:
        self.rpc = rpc

    async def inbox(self, who: Principal, req: n.ListInbox) -> n.NotificationPage:
        return await self.rpc.call(n.SERVICE, E.INBOX, req, n.NotificationPage, principal=who)

    async def unread(self, who: Principal, timeout: float | None = None) -> int:
        found = await self.rpc.call(n.SERVICE, E.UNREAD, Empty(), n.Unread, principal=who, timeout=timeout)
        return found.count

    async def mark_read(self, who: Principal, entry_id: str) -> None:
        await self.rpc.call(n.SERVICE, E.MARK_READ, n.MarkRead(id=entry_id), type(None), principal=who)

    async def mark_all_read(self, who: Principal) -> None:
        await self.rpc.call(n.SERVICE, E.MARK_ALL_READ, Empty(), type(None), principal=who)

    async def preferences(self, who: Principal) -> n.Preferences:
        return await self.rpc.call(n.SERVICE, E.PREFERENCES_GET, Empty(), n.Preferences, principal=who)

    async def set_preferences(self, who: Principal, items: dict[str, n.Preference]) -> n.Preferences:
        req = n.SetPreferences(items=items)
        return await self.rpc.call(n.SERVICE, E.PREFERENCES_PUT, req, n.Preferences, principal=who)

    async def create_webhook(self, who: Principal, req: n.CreateWebhook) -> n.CreatedWebhook:
        return await self.rpc.call(n.SERVICE, E.WEBHOOK_CREATE, req, n.CreatedWebhook, principal=who)

    async def webhooks(self, who: Principal) -> n.WebhookList:
        return await self.rpc.call(n.SERVICE, E.WEBHOOK_LIST, Empty(), n.WebhookList, principal=who)

    async def delete_webhook(self, who: Principal, webhook_id: str) -> None:
        await self.rpc.call(
            n.SERVICE, E.WEBHOOK_DELETE, n.WebhookId(id=webhook_id), type(None), principal=who
        )

    async def deliveries(self, who: Principal, req: n.ListDeliveries) -> n.DeliveryPage:
        return await self.rpc.call(n.SERVICE, E.WEBHOOK_DELIVERIES, req, n.DeliveryPage, principal=who)

    async def parked(self, who: Principal) -> n.ParkedList:
        return await self.rpc.call(n.SERVICE, E.PARKED, Empty(), n.ParkedList, principal=who)

    async def mail_problems(self, who: Principal) -> n.MailProblemList:
        return await self.rpc.call(n.SERVICE, E.MAIL_PROBLEMS, Empty(), n.MailProblemList, principal=who)
