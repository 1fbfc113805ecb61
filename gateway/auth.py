"""Who is calling: a session cookie (pages, and JSON calls with the CSRF header) or a bearer token."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from gateway.sessions import COOKIE, Session
from gateway.state import Gateway
from services.contracts import directory as c
from services.contracts.envelope import Principal

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
        principal = await gw.rpc.call(
            c.SERVICE, c.Endpoints.TOKEN_RESOLVE, c.ResolveToken(token=header[7:].strip()[:200]), Principal
        )
        auth = Auth(principal=principal, via="token")
    else:
        session_id = request.cookies.get(COOKIE)
        if session_id:
            session = await gw.sessions.get(session_id)
            if session is not None:
                auth = Auth(session.principal, session_id, session, "session")
    request.scope.setdefault("state", {})["gdst_auth"] = auth
    return auth


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


async def page_login(request: Request[Any, Any, Any]) -> tuple[Auth, Principal]:
    """For pages: the caller, or a redirect to the login page (raised as 401 and turned into a
    redirect by the error handler)."""
    auth = await resolve(request)
    if auth.principal is None:
        raise NotAuthorizedException()
    return auth, auth.principal
