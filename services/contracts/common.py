"""Field types shared by several contracts."""

from __future__ import annotations

from typing import Annotated

import msgspec

# A deliberately plain address check: one @, no spaces, a dot in the domain. Delivery is the
# real test; this only catches typing mistakes and keeps operators like {"$gt": ""} out.
EMAIL_PATTERN = r"^[^@\s<>\"]{1,64}@[^@\s<>\"]{1,190}\.[^@\s<>\".]{2,63}$"

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=EMAIL_PATTERN)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Limit = Annotated[int, msgspec.Meta(ge=1, le=100)]
Cursor = Annotated[str, msgspec.Meta(max_length=200)]
# Long enough for a passphrase, short enough that hashing it is no denial of service.
Password = Annotated[str, msgspec.Meta(min_length=10, max_length=256)]
Token = Annotated[str, msgspec.Meta(min_length=10, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")]


class Empty(msgspec.Struct):
    """A request or reply without fields."""


class Health(msgspec.Struct):
    service: str
    database: str
