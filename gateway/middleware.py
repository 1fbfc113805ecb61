"""ASGI middleware choosing the language per request, and the hook adding security headers to every response."""

from __future__ import annotations

from http.cookies import SimpleCookie

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from gateway import i18n

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"font-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
        b"base-uri 'none'; object-src 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    # a page opened from another site gets no handle on ours (window.opener), and the other way
    (b"cross-origin-opener-policy", b"same-origin"),
]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def security_headers(message: Message, scope: Scope) -> None:
    """`before_send` hook of the app: unlike route middleware it also sees the answers the
    router gives itself (404 for an unknown address, 405), which must carry the headers too."""
    if message["type"] == "http.response.start":
        headers = list(message.get("headers", []))
        present = {bytes(k).lower() for k, _ in headers}
        headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
        # pages and API answers hold what a Kommune or the Land said: a shared office computer
        # must not show them from its cache after logout (the back button); files may be cached
        path = str(scope.get("path", ""))
        if b"cache-control" not in present and not path.startswith("/static/"):
            headers.append((b"cache-control", b"no-store"))
        message["headers"] = headers


class EdgeMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        cookie_header = _header(scope, b"cookie")
        lang_cookie = None
        if cookie_header:
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(cookie_header)
            except Exception:  # a malformed cookie header must not break the page
                jar = SimpleCookie()
            if i18n.COOKIE in jar:
                lang_cookie = jar[i18n.COOKIE].value
        token = i18n.current.set(i18n.choose(lang_cookie, _header(scope, b"accept-language")))

        try:
            await self.app(scope, receive, send)
        finally:
            i18n.current.reset(token)
