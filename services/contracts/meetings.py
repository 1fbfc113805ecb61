"""Meetings (served by the meetings service): the figures other parts of the platform read.

`MeetingStats` (for the dashboard) was fixed first so both could be built side by side; below
it the meetings, their occurrences, registrations, calendar feeds and the events.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from services.contracts.common import Id

SERVICE = "meetings"


class StatsRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """No parameters yet; a struct so that filters can be added without a new subject."""


class MeetingStats(msgspec.Struct, kw_only=True):
    """Occurrences counted as held once their end lies in the past and they were not cancelled.

    `held_by_group` maps an AG's id to the number of its held occurrences; meetings without an
    AG (network meetings, Sprechstunden) only count towards `held`.
    """

    held: int
    held_by_group: dict[str, int] = msgspec.field(default_factory=dict)
    upcoming: int = 0
    registrations: int = 0


# --- meetings, occurrences, registrations, feeds ----------------------------------------

TIMEZONE = "Europe/Berlin"
# all recurrence rules must end within this many years of the start (COUNT or UNTIL)
HORIZON_YEARS = 5
MAX_OCCURRENCES = 500

Title = Annotated[str, msgspec.Meta(min_length=3, max_length=200)]
Agenda = Annotated[str, msgspec.Meta(max_length=10_000)]
Place = Annotated[str, msgspec.Meta(max_length=300)]
Url = Annotated[str, msgspec.Meta(max_length=2_000, pattern=r"^https?://[^\s<>\"]+$")]
Rule = Annotated[str, msgspec.Meta(max_length=500)]
Reason = Annotated[str, msgspec.Meta(min_length=3, max_length=1_000)]
# wall-clock time in Europe/Berlin without offset, minutes precision: "2026-01-16T09:00"
LocalTime = Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$")]
# an occurrence's original start in local time, compact: "20260116T0900" (RECURRENCE-ID)
OccurrenceKey = Annotated[str, msgspec.Meta(pattern=r"^\d{8}T\d{4}$")]
Duration = Annotated[int, msgspec.Meta(ge=5, le=24 * 60)]
Capacity = Annotated[int, msgspec.Meta(ge=1, le=10_000)]
FeedToken = Annotated[str, msgspec.Meta(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]
OccurrenceStatus = Literal["scheduled", "cancelled", "moved"]


class Endpoints:
    STATS = "meetings.stats"
    CREATE = "meetings.create"
    UPDATE = "meetings.update"
    LIST = "meetings.list"
    GET = "meetings.get"
    OCCURRENCES = "meetings.occurrences"
    CANCEL_OCCURRENCE = "meetings.occurrence.cancel"
    MOVE_OCCURRENCE = "meetings.occurrence.move"
    CANCEL = "meetings.cancel"
    REGISTER = "meetings.register"
    WITHDRAW = "meetings.withdraw"
    FEED_TOKEN = "meetings.feed_token"
    FEED_TOKEN_RESET = "meetings.feed_token.reset"
    FEED = "meetings.feed"


# --- views ------------------------------------------------------------------------------


class Occurrence(msgspec.Struct, kw_only=True):
    meeting_id: str
    key: str  # the original local start, compact; stable even when the occurrence is moved
    starts_at: datetime  # RFC 3339 with the Berlin offset of that day
    ends_at: datetime
    status: OccurrenceStatus = "scheduled"
    reason: str | None = None
    title: str = ""
    group_id: str | None = None


class Meeting(msgspec.Struct, kw_only=True):
    id: str
    title: str
    agenda: str = ""
    start: str  # local wall-clock time of the first occurrence
    duration_minutes: int
    timezone: str = TIMEZONE
    rrule: str | None = None
    exdates: list[str] = msgspec.field(default_factory=list)
    location: str | None = None
    online_url: str | None = None
    group_id: str | None = None
    group_name: str | None = None
    capacity: int | None = None
    poll_id: str | None = None
    cancelled: bool = False
    cancel_reason: str | None = None
    sequence: int = 0
    created_by: str
    created_at: datetime
    updated_at: datetime
    registrations: int = 0
    seats_left: int | None = None
    registered: bool = False  # the caller
    can_edit: bool = False  # the caller
    upcoming: list[Occurrence] = msgspec.field(default_factory=list)
    exceptions: list[Occurrence] = msgspec.field(default_factory=list)  # cancelled or moved


class MeetingPage(msgspec.Struct, kw_only=True):
    items: list[Meeting]
    next_cursor: str | None = None


class OccurrencePage(msgspec.Struct, kw_only=True):
    items: list[Occurrence]
    next_cursor: str | None = None


class Registration(msgspec.Struct, kw_only=True):
    meeting_id: str
    registered: bool
    registrations: int
    seats_left: int | None = None


class FeedInfo(msgspec.Struct, kw_only=True):
    """The caller's secret feed token; URLs are built by the gateway, which knows its address."""

    token: str
    group_ids: list[str] = msgspec.field(default_factory=list)
    created_at: datetime


class Feed(msgspec.Struct, kw_only=True):
    calendar: str  # text/calendar, RFC 5545
    name: str


# --- requests ---------------------------------------------------------------------------


class MeetingFields(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    title: Title
    agenda: Agenda = ""
    start: LocalTime
    duration_minutes: Duration = 60
    rrule: Rule | None = None
    exdates: Annotated[list[LocalTime], msgspec.Meta(max_length=200)] = msgspec.field(default_factory=list)
    location: Place | None = None
    online_url: Url | None = None
    group_id: Id | None = None
    capacity: Capacity | None = None
    poll_id: Id | None = None


class CreateMeeting(MeetingFields, kw_only=True, forbid_unknown_fields=True):
    pass


class UpdateMeeting(MeetingFields, kw_only=True, forbid_unknown_fields=True):
    id: Id


class MeetingId(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Id


class GetMeeting(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Id
    upcoming: Annotated[int, msgspec.Meta(ge=0, le=100)] = 10


class ListMeetings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    group_id: Id | None = None
    mine: bool = False


class ListOccurrences(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    group_id: Id | None = None
    start: datetime | None = None  # default: now
    days: Annotated[int, msgspec.Meta(ge=1, le=400)] = 60
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 100


class CancelOccurrence(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Id
    occurrence: OccurrenceKey
    reason: Reason


class MoveOccurrence(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Id
    occurrence: OccurrenceKey
    start: LocalTime
    duration_minutes: Duration | None = None


class CancelMeeting(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Id
    reason: Reason


class GetFeed(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    token: FeedToken
    group_id: Id | None = None


# --- events (facts; the notifications service decides who is told) ----------------------


class MeetingCreated(msgspec.Struct, kw_only=True, tag="meeting.created.v1"):
    meeting_id: str
    title: str
    start: str
    starts_at: datetime
    rrule: str | None = None
    group_id: str | None = None
    by: str


class MeetingChanged(msgspec.Struct, kw_only=True, tag="meeting.changed.v1"):
    meeting_id: str
    title: str
    starts_at: datetime
    group_id: str | None = None
    registered: list[str] = msgspec.field(default_factory=list)
    by: str


class MeetingCancelled(msgspec.Struct, kw_only=True, tag="meeting.cancelled.v1"):
    meeting_id: str
    title: str
    reason: str
    group_id: str | None = None
    registered: list[str] = msgspec.field(default_factory=list)
    by: str


class OccurrenceCancelled(msgspec.Struct, kw_only=True, tag="meeting.occurrence_cancelled.v1"):
    meeting_id: str
    title: str
    occurrence: str
    starts_at: datetime
    reason: str
    group_id: str | None = None
    registered: list[str] = msgspec.field(default_factory=list)
    by: str


class OccurrenceMoved(msgspec.Struct, kw_only=True, tag="meeting.occurrence_moved.v1"):
    meeting_id: str
    title: str
    occurrence: str
    starts_at: datetime  # the new start
    original_starts_at: datetime
    group_id: str | None = None
    registered: list[str] = msgspec.field(default_factory=list)
    by: str


class OccurrenceUpcoming(msgspec.Struct, kw_only=True, tag="meeting.occurrence_upcoming.v1"):
    """Stated once per occurrence, a lead time before it starts."""

    meeting_id: str
    title: str
    occurrence: str
    starts_at: datetime
    ends_at: datetime
    location: str | None = None
    online_url: str | None = None
    group_id: str | None = None
    registered: list[str] = msgspec.field(default_factory=list)


class Registered(msgspec.Struct, kw_only=True, tag="meeting.registered.v1"):
    meeting_id: str
    person_id: str
    organisation_id: str


class Withdrawn(msgspec.Struct, kw_only=True, tag="meeting.registration_withdrawn.v1"):
    meeting_id: str
    person_id: str
    organisation_id: str


EVENT_CREATED = "meeting.created"
EVENT_CHANGED = "meeting.changed"
EVENT_CANCELLED = "meeting.cancelled"
EVENT_OCCURRENCE_CANCELLED = "meeting.occurrence_cancelled"
EVENT_OCCURRENCE_MOVED = "meeting.occurrence_moved"
EVENT_OCCURRENCE_UPCOMING = "meeting.occurrence_upcoming"
EVENT_REGISTERED = "meeting.registered"
EVENT_WITHDRAWN = "meeting.registration_withdrawn"
