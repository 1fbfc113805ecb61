"""Pages: the inbox and the notification preferences."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect

from gateway.auth import Auth, form_csrf_ok, gateway_of, page_login
from gateway.clients.notifications import NotificationsClient
from gateway.i18n import gettext as _
from gateway.web.forms import FormErrors
from gateway.web.pages import render
from services.contracts import notifications as n
from services.runtime.errors import DomainError

EMAIL_LABELS = {
    "immediate": "Sofort per E-Mail",
    "daily": "Tägliche Zusammenfassung",
    "weekly": "Wöchentliche Zusammenfassung",
    "off": "Keine E-Mail",
}


class NotificationPages(Controller):
    include_in_schema = False

    @get("/benachrichtigungen")
    async def inbox(self, request: Request[Any, Any, Any]) -> Response[Any]:
        auth, who = await page_login(request)
        unread_only = request.query_params.get("ungelesen") == "1"
        cursor = (request.query_params.get("weiter") or "")[:200] or None
        page = await NotificationsClient(gateway_of(request).rpc).inbox(
            who, n.ListInbox(unread=unread_only, limit=20, cursor=cursor)
        )
        notice = (
            _("Alle Benachrichtigungen sind als gelesen markiert.")
            if request.query_params.get("hinweis")
            else None
        )
        return await render(
            request,
            "notifications/inbox.html",
            {"page": page, "unread_only": unread_only, "notice": notice},
            auth=auth,
        )

    @post("/benachrichtigungen/{entry_id:str}/gelesen")
    async def read(self, request: Request[Any, Any, Any], entry_id: str) -> Response[Any]:
        auth, who = await page_login(request)
        form = await request.form()
        if form_csrf_ok(request, auth, form.get("csrf_token")):
            try:
                await NotificationsClient(gateway_of(request).rpc).mark_read(who, entry_id[:200])
            except DomainError as exc:
                if exc.status != 404:
                    raise
        return Redirect(path="/benachrichtigungen")

    @post("/benachrichtigungen/alle-gelesen")
    async def read_all(self, request: Request[Any, Any, Any]) -> Response[Any]:
        auth, who = await page_login(request)
        form = await request.form()
        if form_csrf_ok(request, auth, form.get("csrf_token")):
            await NotificationsClient(gateway_of(request).rpc).mark_all_read(who)
            return Redirect(path="/benachrichtigungen?hinweis=1")
        return Redirect(path="/benachrichtigungen")

    @get("/einstellungen/benachrichtigungen")
    async def preferences(self, request: Request[Any, Any, Any]) -> Response[Any]:
        auth, who = await page_login(request)
        prefs = await NotificationsClient(gateway_of(request).rpc).preferences(who)
        notice = _("Ihre Einstellungen sind gespeichert.") if request.query_params.get("hinweis") else None
        return await self._page(request, auth, prefs.items, FormErrors(), notice)

    async def _page(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        items: dict[str, n.Preference],
        errors: FormErrors,
        notice: str | None = None,
        status: int = 200,
    ) -> Response[Any]:
        return await render(
            request,
            "notifications/preferences.html",
            {
                "topics": [(t.event_type, _(t.label)) for t in n.TOPICS],
                "items": items,
                "errors": errors,
                "notice": notice,
                "email_labels": {k: _(v) for k, v in EMAIL_LABELS.items()},
            },
            auth=auth,
            status=status,
        )

    @post("/einstellungen/benachrichtigungen")
    async def save_preferences(self, request: Request[Any, Any, Any]) -> Response[Any]:
        auth, who = await page_login(request)
        form = await request.form()
        errors = FormErrors()
        items: dict[str, n.Preference] = {}
        for index, topic in enumerate(n.TOPICS):
            email = str(form.get(f"email-{index}", ""))
            if email not in EMAIL_LABELS:
                errors.add(f"email-{index}", _("Bitte wählen Sie, wie Sie per E-Mail informiert werden."))
                continue
            items[topic.event_type] = n.Preference(email=email, inapp=form.get(f"inapp-{index}") == "1")  # type: ignore[arg-type]
        if not form_csrf_ok(request, auth, form.get("csrf_token")):
            errors.general.append(_("Das Formular ist abgelaufen. Bitte senden Sie es erneut."))
        if errors:
            current = (await NotificationsClient(gateway_of(request).rpc).preferences(who)).items
            return await self._page(request, auth, {**current, **items}, errors, status=422)
        await NotificationsClient(gateway_of(request).rpc).set_preferences(who, items)
        return Redirect(path="/einstellungen/benachrichtigungen?hinweis=1")
