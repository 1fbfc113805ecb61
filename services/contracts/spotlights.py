"""Spotlights and Quick Wins (served by the surveys service): an AG's proposal to one or more
Ressorts, tracked from the draft to the ministry's decision."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from services.contracts.common import Cursor, Id, Limit

SERVICE = "surveys"

Status = Literal["entwurf", "eingereicht", "in_pruefung", "umgesetzt", "abgelehnt"]
Kind = Literal["spotlight", "quick_win"]

STATUSES: tuple[str, ...] = ("entwurf", "eingereicht", "in_pruefung", "umgesetzt", "abgelehnt")
STATUS_LABELS: dict[str, str] = {
    "entwurf": "Entwurf",
    "eingereicht": "Eingereicht",
    "in_pruefung": "In Prüfung",
    "umgesetzt": "Umgesetzt",
    "abgelehnt": "Abgelehnt",
}
KIND_LABELS: dict[str, str] = {"spotlight": "Spotlight", "quick_win": "Quick Win"}

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Text = Annotated[str, msgspec.Meta(max_length=5000)]
Comment = Annotated[str, msgspec.Meta(max_length=2000)]
MAX_RESSORTS = 10


class Endpoints:
    CREATE = "spotlights.create"
    LIST = "spotlights.list"
    GET = "spotlights.get"
    STATUS = "spotlights.status"


class CreateSpotlight(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """From an AG topic (`topic_id`) or a need (`need_id`); both may be given when the topic
    grew out of the need. The AG is the topic's; from a need alone it must be named."""

    title: Title
    proposal: Text
    reasoning: Text
    ressort_ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=MAX_RESSORTS)]
    kind: Kind = "spotlight"
    topic_id: Id | None = None
    need_id: Id | None = None
    group_id: Id | None = None


class ListSpotlights(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    status: Status | None = None
    group_id: Id | None = None
    ressort_id: Id | None = None
    kind: Kind | None = None
    topic_id: Id | None = None
    need_id: Id | None = None
    limit: Limit = 100
    cursor: Cursor | None = None


class GetSpotlight(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Id


class ChangeStatus(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`comment` says why; `answer` is the ministry's answer, required for umgesetzt and
    abgelehnt."""

    id: Id
    status: Status
    comment: Comment = ""
    answer: Text = ""


class Ref(msgspec.Struct, kw_only=True):
    id: str
    name: str


class Supporter(msgspec.Struct, kw_only=True):
    """A supporting Kommune; `kreis` is its Landkreis (or itself for a Kreis)."""

    id: str
    name: str
    kreis: str | None = None
    population: int = 0


class StatusStep(msgspec.Struct, kw_only=True):
    at: datetime
    status: Status
    by: str
    by_name: str = ""
    comment: str = ""
    answer: str = ""


class Spotlight(msgspec.Struct, kw_only=True):
    id: str
    title: str
    kind: Kind
    proposal: str
    reasoning: str
    status: Status
    group: Ref
    ressorts: list[Ref]
    supporters: list[Supporter]
    created_by: str
    created_at: datetime
    updated_at: datetime
    topic: Ref | None = None
    need: Ref | None = None
    answer: str = ""
    history: list[StatusStep] = msgspec.field(default_factory=list)
    # for the caller: which statuses they may move it to now
    next_statuses: list[Status] = msgspec.field(default_factory=list)


class SpotlightPage(msgspec.Struct, kw_only=True):
    items: list[Spotlight]
    next_cursor: str | None = None


# --- events -------------------------------------------------------------------------------


class SpotlightStatusChanged(msgspec.Struct, kw_only=True, tag="spotlight.status_changed.v1"):
    """Emitted on every status change (not when the draft is created). Carries whom it concerns
    (the AG and the supporting Kommunen) so any subscriber can tell them without asking back."""

    spotlight_id: str
    title: str
    kind: str
    old_status: str
    status: str
    group_id: str
    organisation_ids: list[str]
    ressort_ids: list[str]
    by: str
    comment: str = ""
    answer: str = ""
    topic_id: str | None = None
    need_id: str | None = None


EVENT_STATUS_CHANGED = "spotlight.status_changed"
