"""Log in and out over the API, and personal API tokens."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, post
from litestar.datastructures import Cookie
from litestar.di import Provide
from litestar.params import Parameter

from gateway.api.schemas import LoginRequest, LoginResponse
from gateway.auth import CSRF_EXEMPT, api_principal, forget_tokens_of, gateway_of, resolve
from gateway.clients.directory import DirectoryClient
from gateway.sessions import COOKIE
from gateway.state import Gateway
from services.contracts import directory as c
from services.contracts.envelope import Principal


def session_cookie(gw: Gateway, value: str, *, expire: bool = False) -> Cookie:
    return Cookie(
        key=COOKIE,
        value=value,
        httponly=True,
        samesite="lax",
        secure=gw.settings.secure_cookies,
        path="/",
        max_age=0 if expire else gw.settings.session_ttl_seconds,
    )


async def log_in(request: Request[Any, Any, Any], email: str, password: str) -> tuple[str, str, c.Me]:
    """Authenticate, open a fresh session (never reuse an id: no fixation), return id, csrf, person."""
    gw = gateway_of(request)
    directory = DirectoryClient(gw.rpc)
    client = request.client.host if request.client else ""
    authenticated = await directory.authenticate(email, password, client)
    auth = await resolve(request)
    if auth.session_id:
        await gw.sessions.delete(auth.session_id)
    me = await directory.me(authenticated.principal)
    session_id, session = await gw.sessions.create(authenticated.principal, me.name)
    return session_id, session.csrf, me


class SessionController(Controller):
    path = "/api/v1/session"
    tags = ["Anmeldung"]

    @post(
        "/",
        status_code=200,
        summary="Anmelden",
        description="Gibt die Person und den CSRF-Token zurück und setzt das Sitzungs-Cookie. "
        "401 bei unbekannter E-Mail oder falschem Passwort (gleiche Meldung), 429 nach "
        "wiederholten Fehlversuchen.",
        opt={CSRF_EXEMPT: True},
    )
    async def login(self, request: Request[Any, Any, Any], data: LoginRequest) -> Response[LoginResponse]:
        session_id, csrf, me = await log_in(request, data.email, data.password)
        return Response(
            LoginResponse(person=me, csrf_token=csrf),
            cookies=[session_cookie(gateway_of(request), session_id)],
        )

    @delete("/", status_code=204, summary="Abmelden")
    async def logout(self, request: Request[Any, Any, Any]) -> Response[None]:
        gw = gateway_of(request)
        auth = await resolve(request)
        if auth.session_id:
            await gw.sessions.delete(auth.session_id)
        return Response(None, status_code=204, cookies=[session_cookie(gw, "", expire=True)])


class TokenController(Controller):
    path = "/api/v1/tokens"
    tags = ["Anmeldung"]
    dependencies = {"principal": Provide(api_principal)}

    @post("/", status_code=201, summary="Zugangsschlüssel (Bearer-Token) erzeugen; wird nur einmal angezeigt")
    async def create(
        self, request: Request[Any, Any, Any], principal: Principal, data: c.CreateToken
    ) -> c.CreatedToken:
        return await DirectoryClient(gateway_of(request).rpc).create_token(principal, data.name)

    @delete("/{token_id:str}", status_code=204, summary="Zugangsschlüssel widerrufen")
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        token_id: Annotated[str, Parameter(max_length=64)],
    ) -> None:
        await DirectoryClient(gateway_of(request).rpc).delete_token(principal, token_id)
        await forget_tokens_of(gateway_of(request), principal.person_id)
