"""Envelopes that carry requests, errors and events over NATS."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

Roles = tuple[str, ...]

ROLE_MINISTRY = "ministry"
ROLE_MEMBER = "member"
ROLE_LOTSE = "lotse"
ROLE_ADMIN = "admin"
ALL_ROLES = (ROLE_MINISTRY, ROLE_MEMBER, ROLE_LOTSE, ROLE_ADMIN)
# a service acting on its own behalf (resolving recipients, addressing an audience); never
# given to a person, and only accepted from service processes once NATS permissions are per
# process (see the hardening issue)
ROLE_SERVICE = "service"


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Who is asking. Set by the gateway after authentication; services check it themselves."""

    person_id: str
    organisation_id: str
    roles: Roles = ()

    def has_any(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)

    @classmethod
    def for_service(cls, name: str) -> Principal:
        return cls(person_id=f"service:{name}", organisation_id="", roles=(ROLE_SERVICE,))

    @property
    def is_ministry(self) -> bool:
        # admins may always act as ministry (api.md, "Roles")
        return self.has_any(ROLE_MINISTRY, ROLE_ADMIN)


class Request(msgspec.Struct, kw_only=True):
    """Request envelope; `data` stays raw until the endpoint knows its type."""

    principal: Principal | None = None
    data: msgspec.Raw = msgspec.Raw(b"{}")


class FieldError(msgspec.Struct, frozen=True):
    field: str
    message: str


class ErrorBody(msgspec.Struct, kw_only=True):
    """Body of a micro error reply; the HTTP status travels as the micro error code."""

    title: str
    detail: str = ""
    errors: list[FieldError] = msgspec.field(default_factory=list)
    retry_after: int | None = None


EventId = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class Event(msgspec.Struct, kw_only=True, omit_defaults=True):
    """CloudEvents 1.0 structured-mode JSON, with `data` left raw for the consumer to decode."""

    id: EventId
    source: str
    type: str
    time: datetime
    subject: str | None = None
    specversion: str = "1.0"
    datacontenttype: str = "application/json"
    dataversion: str = "1"  # CloudEvents extension attribute: version of the data schema
    data: msgspec.Raw = msgspec.Raw(b"{}")
