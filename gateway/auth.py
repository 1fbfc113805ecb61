"""Who is calling: a session cookie (pages, and JSON calls with the CSRF header) or a bearer token."""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from gateway import i18n
from gateway.principals import encode_forget
from gateway.sessions import COOKIE, Session
from gateway.state import Gateway
from services.contracts import directory as c
from services.contracts.directory import token_key
from services.contracts.envelope import Principal

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"
PRE_SESSION_COOKIE = "gdst_csrf"  # double-submit token for forms shown before login


@dataclass(frozen=True, slots=True)
class Auth:
    principal: Principal | None = None
    session_id: str | None = None
    session: Session | None = None
    via: str | None = None  # "session" | "token"


def gateway_of(request: Request[Any, Any, Any]) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


async def resolve(request: Request[Any, Any, Any]) -> Auth:
    cached = request.scope.get("state", {}).get("gdst_auth")
    if isinstance(cached, Auth):
        return cached
    gw = gateway_of(request)
    auth = Auth()
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        token = header[7:].strip()[:200]
        principal = gw.tokens.get(token)
        if principal is None:
            principal = await gw.token_bucket.get(token_key(token))
            if principal is None:
                principal = await gw.rpc.call(
                    c.SERVICE, c.Endpoints.TOKEN_RESOLVE, c.ResolveToken(token=token), Principal
                )
            gw.tokens.put(token, principal)
        auth = Auth(principal=principal, via="token")
    else:
        session_id = request.cookies.get(COOKIE)
        if session_id:
            session = await gw.sessions.get(session_id)
            if session is not None:
                auth = Auth(session.principal, session_id, session, "session")
    request.scope.setdefault("state", {})["gdst_auth"] = auth
    return auth


async def forget_tokens_of(gw: Gateway, person_id: str) -> None:
    """After a token was revoked or a person deleted: this gateway forgets the person's tokens at
    once, the others when the broadcast arrives (or their entries expire)."""
    gw.forget_person(person_id)
    try:
        await gw.conn.nc.publish(gw.settings.names.principal_changes, encode_forget(person_id))
    except Exception as exc:  # NATS away: the other gateways' entries expire on their own
        log.warning("gateways not told to forget a person's tokens: %r", exc)


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


async def api_principal(request: Request[Any, Any, Any]) -> Principal:
    """Dependency of every authenticated API handler; enforces CSRF for cookie sessions."""
    auth = await resolve(request)
    if auth.principal is None:
        raise NotAuthorizedException("Bitte melden Sie sich an.")
    if auth.via == "session" and request.method not in SAFE_METHODS:
        assert auth.session is not None
        if not same(request.headers.get(CSRF_HEADER), auth.session.csrf):
            raise PermissionDeniedException("Der CSRF-Token fehlt oder ist ungültig (Header X-CSRF-Token).")
    return auth.principal


def form_csrf_token(request: Request[Any, Any, Any], auth: Auth) -> tuple[str, bool]:
    """The token a form must carry, and whether a new pre-session cookie must be set."""
    if auth.session is not None:
        return auth.session.csrf, False
    existing = request.cookies.get(PRE_SESSION_COOKIE)
    if existing and 20 <= len(existing) <= 64:
        return existing, False
    return secrets.token_urlsafe(24), True


def form_csrf_ok(request: Request[Any, Any, Any], auth: Auth, submitted: str | None) -> bool:
    if auth.session is not None:
        return same(submitted, auth.session.csrf)
    return same(submitted, request.cookies.get(PRE_SESSION_COOKIE))


CSRF_EXEMPT = "csrf_exempt"
CSRF_EXPIRED = "Das Formular ist abgelaufen oder der CSRF-Token fehlt. Bitte laden Sie die Seite neu und senden Sie es erneut."
FORM_MEDIA = ("application/x-www-form-urlencoded", "multipart/form-data")


async def check_csrf(connection: Request[Any, Any, Any]) -> None:
    """App-wide check before every handler (`before_request` in app.py; as a Litestar guard it
    cost a copy of the route handler per request): every state-changing request made with a
    session cookie carries that
    session's CSRF token (header `X-CSRF-Token`, or the form field `csrf_token`), whatever the
    handler does, so a page or endpoint added later cannot forget it. Bearer tokens need none (a
    browser never sends them on its own); requests without a session are checked by the few
    handlers that accept them (login, invitation), with the pre-session cookie.

    A handler may opt out with `opt={CSRF_EXEMPT: True}`: only the JSON login, which replaces
    whatever session the client had and cannot be sent cross-site (JSON only, see app.py)."""
    if connection.scope.get("method", "GET") in SAFE_METHODS:
        return
    if connection.route_handler.opt.get(CSRF_EXEMPT):
        return
    auth = await resolve(connection)
    if auth.via != "session" or auth.session is None:
        return
    # every token sent must be the session's, and at least one must be sent
    submitted: list[str | None] = []
    if CSRF_HEADER in connection.headers:
        submitted.append(connection.headers.get(CSRF_HEADER))
    media = connection.headers.get("content-type", "").split(";")[0].strip().lower()
    if media in FORM_MEDIA:
        form = await connection.form()
        if "csrf_token" in form or not submitted:
            value = form.get("csrf_token")
            submitted.append(value if isinstance(value, str) else None)
    if not submitted or not all(same(token, auth.session.csrf) for token in submitted):
        if connection.url.path.startswith("/api/"):
            raise PermissionDeniedException("Der CSRF-Token fehlt oder ist ungültig (Header X-CSRF-Token).")
        raise PermissionDeniedException(i18n.gettext(CSRF_EXPIRED))


async def page_login(request: Request[Any, Any, Any]) -> tuple[Auth, Principal]:
    """For pages: the caller, or a redirect to the login page (raised as 401 and turned into a
    redirect by the error handler)."""
    auth = await resolve(request)
    if auth.principal is None:
        raise NotAuthorizedException()
    return auth, auth.principal
