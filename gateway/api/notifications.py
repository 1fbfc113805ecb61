"""Inbox and notification preferences."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post, put
from litestar.di import Provide
from litestar.params import Parameter

from gateway.auth import api_principal, gateway_of
from gateway.clients.notifications import NotificationsClient
from services.contracts import notifications as n
from services.contracts.envelope import Principal

PreferenceMap = dict[str, n.Preference]
IdParam = Annotated[str, Parameter(max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


def _client(request: Request[Any, Any, Any]) -> NotificationsClient:
    return NotificationsClient(gateway_of(request).rpc)


class NotificationController(Controller):
    path = "/api/v1/notifications"
    tags = ["Benachrichtigungen"]
    dependencies = {"principal": Provide(api_principal)}

    @get("/", summary="Eingang: Benachrichtigungen der angemeldeten Person, die neuesten zuerst")
    async def list(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        unread: bool = False,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Parameter(max_length=200)] = None,
    ) -> n.NotificationPage:
        return await _client(request).inbox(principal, n.ListInbox(unread=unread, limit=limit, cursor=cursor))

    @post("/read-all", status_code=204, summary="Alle als gelesen markieren")
    async def read_all(self, request: Request[Any, Any, Any], principal: Principal) -> None:
        await _client(request).mark_all_read(principal)

    @post("/{entry_id:str}/read", status_code=204, summary="Als gelesen markieren")
    async def read(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        entry_id: Annotated[str, Parameter(max_length=200, pattern=r"^[A-Za-z0-9_.:-]+$")],
    ) -> None:
        await _client(request).mark_read(principal, entry_id)


class PreferenceController(Controller):
    path = "/api/v1/notification-preferences"
    tags = ["Benachrichtigungen"]
    dependencies = {"principal": Provide(api_principal)}

    @get("/", summary="Wie die Person über welche Ereignisart informiert wird")
    async def get(self, request: Request[Any, Any, Any], principal: Principal) -> PreferenceMap:
        return (await _client(request).preferences(principal)).items

    @put("/", summary="Einstellungen ändern: {event_type: {email: immediate|daily|weekly|off, inapp: bool}}")
    async def put(
        self, request: Request[Any, Any, Any], principal: Principal, data: PreferenceMap
    ) -> PreferenceMap:
        return (await _client(request).set_preferences(principal, data)).items


class WebhookController(Controller):
    path = "/api/v1/webhooks"
    tags = ["Webhooks"]
    dependencies = {"principal": Provide(api_principal)}

    @post(
        "/",
        status_code=201,
        summary="Webhook einrichten (Ministerium/Admin); das Geheimnis wird nur einmal gezeigt",
        description="Zustellungen nach dem Standard-Webhooks-Verfahren (Header webhook-id, webhook-timestamp, "
        "webhook-signature) mit dem CloudEvents-JSON des Ereignisses als Inhalt; `*` abonniert alle öffentlichen Ereignisse.",
    )
    async def create(
        self, request: Request[Any, Any, Any], principal: Principal, data: n.CreateWebhook
    ) -> n.CreatedWebhook:
        return await _client(request).create_webhook(principal, data)

    @get("/", summary="Eigene Webhooks (Admins: alle)")
    async def list(self, request: Request[Any, Any, Any], principal: Principal) -> n.WebhookList:
        return await _client(request).webhooks(principal)

    @delete("/{webhook_id:str}", status_code=204, summary="Webhook entfernen")
    async def remove(
        self, request: Request[Any, Any, Any], principal: Principal, webhook_id: IdParam
    ) -> None:
        await _client(request).delete_webhook(principal, webhook_id)

    @get("/{webhook_id:str}/deliveries", summary="Zustellversuche und Ergebnisse, die neuesten zuerst")
    async def deliveries(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        webhook_id: IdParam,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 50,
        cursor: Annotated[str | None, Parameter(max_length=200)] = None,
    ) -> n.DeliveryPage:
        return await _client(request).deliveries(
            principal, n.ListDeliveries(id=webhook_id, limit=limit, cursor=cursor)
        )


class AdminController(Controller):
    path = "/api/v1/admin"
    tags = ["Betrieb"]
    dependencies = {"principal": Provide(api_principal)}

    @get(
        "/parked-events",
        summary="Ereignisse, die der Benachrichtigungsdienst nicht verarbeiten konnte, mit Grund (Admin)",
    )
    async def parked(self, request: Request[Any, Any, Any], principal: Principal) -> n.ParkedList:
        return await _client(request).parked(principal)

    @get(
        "/mail-problems",
        summary="Mails, die (noch) nicht zugestellt sind, mit der Antwort des Mailservers (Admin); "
        "„failed“: endgültig abgelehnt (5xx), wird nicht mehr versucht",
    )
    async def mail_problems(self, request: Request[Any, Any, Any], principal: Principal) -> n.MailProblemList:
        return await _client(request).mail_problems(principal)
