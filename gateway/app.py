"""Composition root of the gateway: `create_app(settings, *, nats=None)`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Litestar, Request
from litestar.config.response_cache import ResponseCacheConfig
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from nats.aio.msg import Msg

from gateway import i18n
from gateway.api.dashboard import DashboardController
from gateway.api.directory import (
    GroupController,
    InvitationController,
    MeController,
    OrganisationController,
    PeopleController,
)
from gateway.api.health import healthz, readyz
from gateway.api.meetings import MeetingController, MeetingFeedController
from gateway.api.needs import NeedController, PilotController
from gateway.api.notifications import (
    AdminController,
    NotificationController,
    PreferenceController,
    WebhookController,
)
from gateway.api.polls import PollController, TopicController
from gateway.api.privacy import PrivacyController
from gateway.api.session import SessionController, TokenController
from gateway.api.spotlights import SpotlightController
from gateway.api.surveys import SurveyController
from gateway.auth import check_csrf
from gateway.middleware import EdgeMiddleware, security_headers
from gateway.observability import ObservabilityMiddleware, metrics_endpoint
from gateway.openapi import document_problems
from gateway.principals import TokenBucketReader, TokenReplica, decode_forget
from gateway.problems import DETAILS, handle
from gateway.sessions import SessionStore
from gateway.state import Gateway
from gateway.web.meetings import MeetingPages
from gateway.web.needs import NeedPages, PilotPages
from gateway.web.notifications import NotificationPages
from gateway.web.pages import Pages
from gateway.web.polls import PollPages, TopicPages
from gateway.web.privacy import PrivacyPages
from gateway.web.spotlights import DashboardPages, SpotlightPages
from gateway.web.surveys import SurveyPages
from services.runtime import telemetry
from services.runtime.lifecycle import retry
from services.runtime.natsconn import Connection, connect
from services.runtime.rpc import RpcClient
from services.runtime.settings import Settings

HERE = Path(__file__).parent
MAX_BODY_BYTES = 64 * 1024
DEFAULT_SERVICES = ("directory", "needs", "surveys", "notifications", "meetings")
KIND_LABELS = {
    "land": "Land",
    "ressort": "Ressort",
    "landkreis": "Landkreis",
    "kreisfreie_stadt": "Kreisfreie Stadt",
    "verbandsgemeinde": "Verbandsgemeinde",
    "stadt": "Stadt",
    "gemeinde": "Gemeinde",
}
ROLE_LABELS = {
    "ministry": "Ministerium",
    "member": "Kommune",
    "lotse": "Digital-Lotse",
    "admin": "Administration",
}


def _forgetter(gateway: Gateway) -> Callable[[Msg], Awaitable[None]]:
    async def forget(msg: Msg) -> None:
        person_id = decode_forget(msg.data)
        if person_id:
            gateway.forget_person(person_id)

    return forget


async def before_handler(request: Request[Any, Any, Any]) -> None:
    """What every request passes before its handler: the session's CSRF token, then JSON bodies."""
    await check_csrf(request)
    await require_json(request)


async def require_json(request: Request[Any, Any, Any]) -> None:
    """API bodies must be JSON: a cross-site HTML form cannot send that without a CORS preflight."""
    if request.method in ("POST", "PUT", "PATCH") and request.url.path.startswith("/api/"):
        has_body = request.headers.get("content-length", "0") not in ("", "0") or (
            "transfer-encoding" in request.headers
        )
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if has_body and media != "application/json" and not media.endswith("+json"):
            raise HTTPException(status_code=415, detail=DETAILS[415])


def template_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        # templates ship with the code: no file-system check of every template on every render
        # (a stat per template and page, 3 % of the gateway's time under load)
        auto_reload=False,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        current_language=i18n.current.get,
        languages=i18n.LANGUAGES,
        kind_labels=KIND_LABELS,
    )
    env.filters["role_label"] = lambda role: i18n.gettext(ROLE_LABELS.get(role) or role)
    return env


def create_app(
    settings: Settings | None = None,
    *,
    nats: Connection | None = None,
    required_services: tuple[str, ...] = DEFAULT_SERVICES,
) -> Litestar:
    settings = settings or Settings.from_env()
    i18n.load()
    telemetry.configure("gateway")

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        owned = nats is None
        holder: list[Connection] = [nats] if nats is not None else []
        if owned:

            async def attempt() -> None:
                holder.append(
                    await connect(
                        settings.nats_url,
                        f"{settings.namespace}-gateway",
                        settings.nats_credentials("gateway"),
                    )
                )

            await retry("nats", attempt)
        conn = holder[-1]
        sessions = SessionStore(
            conn.nc.jetstream(timeout=5.0),
            settings.names.session_bucket,
            settings.session_ttl_seconds,
            settings.nats_replicas,
        )
        await retry("session store", sessions.open)
        app.state.gateway = Gateway(
            settings=settings,
            conn=conn,
            # the edge subjects: the services refuse a `service` principal arriving there
            rpc=RpcClient(conn.nc, settings.names, settings.rpc_timeout, edge=True),
            sessions=sessions,
            required_services=required_services,
            token_bucket=TokenBucketReader(
                conn.nc.jetstream(timeout=2.0),
                settings.names.token_bucket,
                TokenReplica(conn.nc.jetstream(timeout=2.0), settings.names.token_bucket),
            ),
        )
        gateway: Gateway = app.state.gateway
        forget_sub = await conn.nc.subscribe(settings.names.principal_changes, cb=_forgetter(gateway))
        gateway.token_bucket.replica.start()
        try:
            yield
        finally:
            await gateway.token_bucket.replica.stop()
            with contextlib.suppress(Exception):
                await forget_sub.unsubscribe()
            if owned:
                await conn.close()

    app = Litestar(
        route_handlers=[
            healthz,
            readyz,
            metrics_endpoint,
            SessionController,
            TokenController,
            MeController,
            OrganisationController,
            PeopleController,
            InvitationController,
            GroupController,
            NeedController,
            PilotController,
            NotificationController,
            PreferenceController,
            WebhookController,
            AdminController,
            TopicController,
            PollController,
            SurveyController,
            MeetingController,
            MeetingFeedController,
            PrivacyController,
            SpotlightController,
            DashboardController,
            Pages,
            PollPages,
            TopicPages,
            NeedPages,
            PilotPages,
            SurveyPages,
            NotificationPages,
            MeetingPages,
            PrivacyPages,
            SpotlightPages,
            DashboardPages,
            create_static_files_router(
                path="/static", directories=[HERE / "static"], include_in_schema=False
            ),
        ],
        lifespan=[lifespan],
        middleware=[ObservabilityMiddleware, EdgeMiddleware],
        before_send=[security_headers],
        exception_handlers={Exception: handle},
        before_request=before_handler,
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(template_environment())),
        openapi_config=OpenAPIConfig(
            title="GDST-Plattform API",
            version="1.0.0",
            description="Öffentliche Schnittstelle der Beteiligungsplattform „Gemeinsam Digital für "
            "Sachsen-Anhalt“. Fehler als RFC 9457 Problem Details.",
            path="/api/schema",
            render_plugins=[SwaggerRenderPlugin()],
        ),
        request_max_body_size=MAX_BODY_BYTES,
        response_cache_config=ResponseCacheConfig(),
        # the process set up its logging already (JSON lines, LOG_LEVEL: services/runtime/logs.py);
        # Litestar's default would replace the root handler with its own plain-text one at INFO
        logging_config=None,
        debug=False,
    )
    # every route is registered by now: the schema is built once and keeps the problem answers
    document_problems(app.openapi_schema)
    return app
