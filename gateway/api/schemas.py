"""Request and response bodies that exist only at the HTTP edge."""

from __future__ import annotations

from typing import Annotated

import msgspec

from services.contracts.common import Password
from services.contracts.directory import Me


class LoginRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(min_length=1, max_length=254)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class LoginResponse(msgspec.Struct, kw_only=True):
    person: Me
    csrf_token: str


class AcceptInvitationRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    password: Password


class Readiness(msgspec.Struct, kw_only=True):
    status: str
    checks: dict[str, str]
