"""Transport adapter: NATS micro endpoints of the notifications service."""

from __future__ import annotations

from typing import Any

from services.contracts import notifications as n
from services.contracts.common import Empty
from services.contracts.envelope import Principal
from services.notifications.service import InboxService
from services.notifications.webhooks import WebhookService
from services.runtime.rpc import Endpoint, required

E = n.Endpoints


def endpoints(inbox: InboxService, webhooks: WebhookService) -> list[Endpoint[Any]]:
    async def list_inbox(p: Principal | None, r: n.ListInbox) -> n.NotificationPage:
        return await inbox.inbox(required(p), r)

    async def unread(p: Principal | None, r: Empty) -> n.Unread:
        return await inbox.unread(required(p))

    async def mark_read(p: Principal | None, r: n.MarkRead) -> None:
        await inbox.mark_read(required(p), r.id)

    async def mark_all(p: Principal | None, r: Empty) -> None:
        await inbox.mark_all_read(required(p))

    async def get_prefs(p: Principal | None, r: Empty) -> n.Preferences:
        return await inbox.preferences(required(p))

    async def put_prefs(p: Principal | None, r: n.SetPreferences) -> n.Preferences:
        return await inbox.set_preferences(required(p), r)

    async def create_webhook(p: Principal | None, r: n.CreateWebhook) -> n.CreatedWebhook:
        return await webhooks.create(required(p), r)

    async def list_webhooks(p: Principal | None, r: Empty) -> n.WebhookList:
        return await webhooks.list(required(p))

    async def delete_webhook(p: Principal | None, r: n.WebhookId) -> None:
        await webhooks.delete(required(p), r.id)

    async def deliveries(p: Principal | None, r: n.ListDeliveries) -> n.DeliveryPage:
        return await webhooks.deliveries(required(p), r)

    async def parked(p: Principal | None, r: Empty) -> n.ParkedList:
        return await inbox.parked(required(p))

    async def mail_problems(p: Principal | None, r: Empty) -> n.MailProblemList:
        return await inbox.mail_problems(required(p))

    return [
        Endpoint(E.PARKED, Empty, parked),
        Endpoint(E.MAIL_PROBLEMS, Empty, mail_problems),
        Endpoint(E.WEBHOOK_CREATE, n.CreateWebhook, create_webhook),
        Endpoint(E.WEBHOOK_LIST, Empty, list_webhooks),
        Endpoint(E.WEBHOOK_DELETE, n.WebhookId, delete_webhook),
        Endpoint(E.WEBHOOK_DELIVERIES, n.ListDeliveries, deliveries),
        Endpoint(E.INBOX, n.ListInbox, list_inbox),
        Endpoint(E.UNREAD, Empty, unread),
        Endpoint(E.MARK_READ, n.MarkRead, mark_read),
        Endpoint(E.MARK_ALL_READ, Empty, mark_all),
        Endpoint(E.PREFERENCES_GET, Empty, get_prefs),
        Endpoint(E.PREFERENCES_PUT, n.SetPreferences, put_prefs),
    ]
