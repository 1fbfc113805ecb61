"""One place that turns every error into an RFC 9457 problem (API) or an error page (HTML)."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import msgspec
import nats.errors
import nats.js.errors
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Redirect, Template

from services.contracts.envelope import FieldError
from services.runtime.errors import DomainError
from services.runtime.validation import field_errors

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

TITLES = {
    400: "Ungültige Anfrage",
    401: "Nicht angemeldet",
    403: "Keine Berechtigung",
    404: "Nicht gefunden",
    405: "Methode nicht erlaubt",
    409: "Konflikt mit dem aktuellen Zustand",
    413: "Anfrage zu groß",
    415: "Nicht unterstützter Inhaltstyp",
    422: "Ungültige Eingaben",
    429: "Zu viele Anfragen",
    500: "Interner Fehler",
    503: "Dienst nicht erreichbar",
    504: "Zeitüberschreitung",
}


DETAILS = {
    404: "Diese Adresse gibt es nicht.",
    405: "Diese Methode ist hier nicht erlaubt.",
    413: "Die Anfrage ist zu groß (höchstens 64 KiB).",
    415: "Bitte senden Sie JSON (Content-Type: application/json).",
}
_ENGLISH_DEFAULTS = {s.phrase for s in HTTPStatus} | {"Request Entity Too Large"}


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    type: str = "about:blank"
    status: int
    title: str
    detail: str = ""
    instance: str | None = None
    errors: list[FieldError] = msgspec.field(default_factory=list)


def is_api(request: Request[Any, Any, Any]) -> bool:
    return request.url.path.startswith("/api/")


def problem_response(
    request: Request[Any, Any, Any],
    status: int,
    detail: str = "",
    errors: list[FieldError] | None = None,
    *,
    title: str | None = None,
    retry_after: int | None = None,
) -> Response[Any]:
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    if not is_api(request):
        if status == 401:
            return Redirect(path=f"/anmelden?next={request.url.path}")
        return Template(
            template_name="error.html",
            context={"status": status, "title": title or TITLES.get(status, "Fehler"), "detail": detail},
            status_code=status,
            headers=headers,
        )
    body = Problem(
        status=status,
        title=title or TITLES.get(status, "Fehler"),
        detail=detail,
        instance=request.url.path,
        errors=errors or [],
    )
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    cause = exc.__cause__
    if isinstance(cause, msgspec.ValidationError):
        errors = [
            FieldError(e.field.removeprefix("data.").removeprefix("data") or "body", e.message)
            for e in field_errors(cause)
        ]
        if errors and errors[0].field == "body" and errors[0].message.startswith("Erwartet wird"):
            return problem_response(request, 400, "Der Inhalt muss ein JSON-Objekt sein.", errors)
        return problem_response(request, 422, "Bitte prüfen Sie die markierten Felder.", errors)
    if isinstance(exc.extra, list) and exc.extra:
        errors = [
            FieldError(str(e.get("key") or "body"), str(e.get("message") or "ungültig"))
            for e in exc.extra
            if isinstance(e, dict)
        ]
        if all(isinstance(e, dict) and e.get("source") in ("query", "path") for e in exc.extra):
            return problem_response(request, 422, "Ungültige Parameter.", errors)
    return problem_response(request, 400, "Der Inhalt ist kein gültiges JSON.")


def _undecodable(exc: Exception) -> bool:
    """Errors msgspec raises while decoding a body that Litestar passes on as they are: bytes
    that are not UTF-8 inside a string, and nesting deeper than the decoder recurses."""
    if isinstance(exc, UnicodeDecodeError):
        return True
    return isinstance(exc, RecursionError) and "deserializing" in str(exc)


def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, DomainError):
        return problem_response(
            request, exc.status, exc.detail, exc.errors, title=exc.title, retry_after=exc.retry_after
        )
    if isinstance(exc, ValidationException):
        return _validation(request, exc)
    if isinstance(exc, HTTPException):
        detail = str(exc.detail or "")
        if detail.startswith("JSON is malformed"):
            detail = "Der Inhalt ist kein gültiges JSON."
        elif detail in _ENGLISH_DEFAULTS:
            # Litestar's own wording for router errors; our own details are German already
            detail = DETAILS.get(exc.status_code, "")
        if exc.status_code >= 500:
            log.error("http error %s: %s", exc.status_code, exc.detail)
            detail = ""
        return problem_response(request, exc.status_code, str(detail))
    if _undecodable(exc):
        return problem_response(
            request, 400, "Der Inhalt ist kein gültiges JSON (UTF-8, nicht zu tief verschachtelt)."
        )
    if isinstance(exc, _BUS_UNAVAILABLE):
        # NATS away or restarting (sessions live in its KV store): say so, with a retry hint
        log.warning("nats unavailable on %s %s: %r", request.method, request.url.path, exc)
        return problem_response(
            request,
            503,
            "Der Nachrichtenbus ist gerade nicht erreichbar. Bitte versuchen Sie es gleich erneut.",
            retry_after=2,
        )
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(request, 500, "Ein unerwarteter Fehler ist aufgetreten.")


_BUS_UNAVAILABLE = (
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.StaleConnectionError,
    nats.errors.OutboundBufferLimitError,
    nats.js.errors.ServiceUnavailableError,
)


__all__ = ["PROBLEM_JSON", "MediaType", "handle", "problem_response"]
