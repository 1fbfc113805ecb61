"""Pages: login, logout, start page, invitation, accessibility statement, privacy notice."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlparse

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Template

from gateway import i18n
from gateway.api.session import log_in, session_cookie
from gateway.auth import PRE_SESSION_COOKIE, Auth, form_csrf_ok, form_csrf_token, gateway_of, resolve
from gateway.clients.directory import DirectoryClient
from gateway.clients.notifications import NotificationsClient
from gateway.i18n import gettext as _
from gateway.sessions import Session
from gateway.web.forms import FormErrors
from services.contracts.envelope import FieldError
from services.runtime.errors import DomainError

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
MAX_FIELD = 1000


def safe_next(target: str | None) -> str:
    """Only same-site paths; anything else would be an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    parsed = urlparse(target)
    return parsed.path if not parsed.netloc else "/"


async def render(
    request: Request[Any, Any, Any],
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    auth: Auth | None = None,
) -> Template:
    auth = auth or await resolve(request)
    csrf, new_cookie = form_csrf_token(request, auth)
    cookies = []
    if new_cookie:
        cookies.append(
            Cookie(
                key=PRE_SESSION_COOKIE,
                value=csrf,
                httponly=True,
                samesite="lax",
                path="/",
                secure=gateway_of(request).settings.secure_cookies,
            )
        )
    unread: int | None = None
    if auth.principal is not None:
        try:
            unread = await NotificationsClient(gateway_of(request).rpc).unread(auth.principal, timeout=1.0)
        except DomainError:
            unread = None  # the page still works while the notifications service is away
    ctx = {**base_context(auth.session, unread, csrf, request.url.path), **(context or {})}
    return Template(template_name=template, context=ctx, status_code=status, cookies=cookies)


def base_context(session: Session | None, unread: int | None, csrf: str, path: str) -> dict[str, Any]:
    """What every page's frame (base.html) is rendered from."""
    return {
        "user": session,
        "unread": unread,
        "csrf_token": csrf,
        "path": path,
        "lang": i18n.current.get(),
        "languages": i18n.LANGUAGES,
    }


class Pages(Controller):
    include_in_schema = False

    @get("/")
    async def start(self, request: Request[Any, Any, Any]) -> Response[Any]:
        auth = await resolve(request)
        if auth.principal is None:
            return Redirect(path="/anmelden")
        me = await DirectoryClient(gateway_of(request).rpc).me(auth.principal)
        return await render(request, "start.html", {"me": me}, auth=auth)

    @get("/anmelden")
    async def login_form(
        self,
        request: Request[Any, Any, Any],
        next_: Annotated[str | None, Parameter(query="next", max_length=500)] = None,
        eingeladen: Annotated[str | None, Parameter(max_length=5)] = None,
    ) -> Response[Any]:
        notice = _("Ihr Passwort ist gespeichert. Sie können sich jetzt anmelden.") if eingeladen else None
        return await render(request, "login.html", {"next": safe_next(next_), "notice": notice, "email": ""})

    @post("/anmelden")
    async def login(
        self, request: Request[Any, Any, Any], data: Annotated[dict[str, str], Form]
    ) -> Response[Any]:
        auth = await resolve(request)
        email = str(data.get("email", ""))[:MAX_FIELD].strip()
        password = str(data.get("password", ""))[:MAX_FIELD]
        target = safe_next(data.get("next"))
        errors = FormErrors()
        status = 400
        if not form_csrf_ok(request, auth, data.get("csrf_token")):
            # refused like every other write without its token; the form stays filled in
            errors.general.append(_("Das Formular ist abgelaufen. Bitte senden Sie es erneut."))
            status = 403
        if not email:
            errors.add("email", _("Bitte geben Sie Ihre E-Mail-Adresse ein."))
        if not password:
            errors.add("password", _("Bitte geben Sie Ihr Passwort ein."))
        if not errors:
            try:
                session_id, _csrf, _me = await log_in(request, email, password)
            except DomainError as exc:
                status = exc.status if exc.status in (401, 429) else 400
                errors.general.append(_(exc.detail or exc.title))
            else:
                return Redirect(path=target, cookies=[session_cookie(gateway_of(request), session_id)])
        return await render(
            request,
            "login.html",
            {"errors": errors, "email": email, "next": target},
            status=status,
            auth=auth,
        )

    @post("/abmelden")
    async def logout(
        self, request: Request[Any, Any, Any], data: Annotated[dict[str, str], Form]
    ) -> Response[Any]:
        auth = await resolve(request)
        gw = gateway_of(request)
        if auth.session_id and form_csrf_ok(request, auth, data.get("csrf_token")):
            await gw.sessions.delete(auth.session_id)
            return Redirect(path="/anmelden", cookies=[session_cookie(gw, "", expire=True)])
        return Redirect(path="/")

    @get("/einladung/{token:str}")
    async def invitation_form(self, request: Request[Any, Any, Any], token: str) -> Response[Any]:
        try:
            preview = await DirectoryClient(gateway_of(request).rpc).peek_invitation(token[:200])
        except DomainError as exc:
            if exc.status in (400, 404, 409, 422):
                return await render(
                    request,
                    "invitation_invalid.html",
                    {"detail": _(exc.detail or exc.title)},
                    status=exc.status,
                )
            raise
        return await render(request, "invitation.html", {"preview": preview, "token": token})

    @post("/einladung/{token:str}")
    async def accept_invitation(
        self, request: Request[Any, Any, Any], token: str, data: Annotated[dict[str, str], Form]
    ) -> Response[Any]:
        auth = await resolve(request)
        directory = DirectoryClient(gateway_of(request).rpc)
        password = str(data.get("password", ""))[:MAX_FIELD]
        confirm = str(data.get("password_confirm", ""))[:MAX_FIELD]
        errors = FormErrors()
        csrf_ok = form_csrf_ok(request, auth, data.get("csrf_token"))
        if not csrf_ok:
            errors.general.append(_("Das Formular ist abgelaufen. Bitte senden Sie es erneut."))
        if len(password) < 10:
            errors.add("password", _("Das Passwort muss mindestens 10 Zeichen lang sein."))
        elif len(password) > 256:
            errors.add("password", _("Das Passwort darf höchstens 256 Zeichen lang sein."))
        if password != confirm:
            errors.add("password_confirm", _("Die beiden Passwörter stimmen nicht überein."))
        if not errors:
            try:
                await directory.accept_invitation(token[:200], password)
            except DomainError as exc:
                if exc.status in (404, 409):
                    return await render(
                        request,
                        "invitation_invalid.html",
                        {"detail": _(exc.detail or exc.title)},
                        status=exc.status,
                    )
                # the directory's password rules, in the page's language
                errors.add_all([FieldError(e.field, _(e.message)) for e in exc.errors], {"password"})
                if not exc.errors:
                    errors.general.append(_(exc.detail or exc.title))
            else:
                return Redirect(path="/anmelden?eingeladen=1")
        try:
            preview = await directory.peek_invitation(token[:200])
        except DomainError as exc:
            return await render(
                request, "invitation_invalid.html", {"detail": _(exc.detail or exc.title)}, status=exc.status
            )
        return await render(
            request,
            "invitation.html",
            {"preview": preview, "token": token, "errors": errors},
            status=422 if csrf_ok else 403,
            auth=auth,
        )

    @get("/barrierefreiheit")
    async def accessibility(self, request: Request[Any, Any, Any]) -> Template:
        return await render(request, "accessibility.html")

    @get("/datenschutz")
    async def privacy(self, request: Request[Any, Any, Any]) -> Template:
        return await render(request, "privacy.html")

    @get("/sprache/{lang:str}")
    async def language(
        self,
        lang: str,
        next_: Annotated[str | None, Parameter(query="next", max_length=500)] = None,
    ) -> Response[Any]:
        chosen = lang if lang in i18n.LANGUAGES else i18n.DEFAULT
        cookie = Cookie(key=i18n.COOKIE, value=chosen, samesite="lax", path="/", max_age=365 * 24 * 3600)
        return Redirect(path=safe_next(next_), cookies=[cookie])
