"""Domain errors. Services raise them; the RPC wrapper turns them into micro error replies and
the gateway turns those into RFC 9457 problem details with the same status."""

from __future__ import annotations

from collections.abc import Sequence

from services.contracts.envelope import ErrorBody, FieldError


class DomainError(Exception):
    status = 400
    title = "Ungültige Anfrage"

    def __init__(
        self,
        detail: str = "",
        errors: Sequence[FieldError] = (),
        *,
        title: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.errors = list(errors)
        self.retry_after = retry_after
        if title:
            self.title = title

    def body(self) -> ErrorBody:
        return ErrorBody(
            title=self.title, detail=self.detail, errors=self.errors, retry_after=self.retry_after
        )


class BadRequest(DomainError):
    status = 400
    title = "Ungültige Anfrage"


class Unauthorized(DomainError):
    status = 401
    title = "Nicht angemeldet"


class Forbidden(DomainError):
    status = 403
    title = "Keine Berechtigung"


class NotFound(DomainError):
    status = 404
    title = "Nicht gefunden"


class Conflict(DomainError):
    status = 409
    title = "Konflikt mit dem aktuellen Zustand"


class Invalid(DomainError):
    status = 422
    title = "Ungültige Eingaben"


class TooManyRequests(DomainError):
    status = 429
    title = "Zu viele Anfragen"


class Unavailable(DomainError):
    status = 503
    title = "Dienst nicht erreichbar"


class Timeout(DomainError):
    status = 504
    title = "Zeitüberschreitung"


_BY_STATUS: dict[int, type[DomainError]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        Invalid,
        TooManyRequests,
        Unavailable,
        Timeout,
    )
}


def from_status(status: int, body: ErrorBody) -> DomainError:
    cls = _BY_STATUS.get(status, DomainError)
    err = cls(body.detail, body.errors, title=body.title, retry_after=body.retry_after)
    if cls is DomainError:
        err.status = status
    return err


def field(name: str, message: str) -> FieldError:
    return FieldError(field=name, message=message)
