"""Notifications service: inbox, preferences, webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from services.contracts.common import Cursor, Id, Limit

SERVICE = "notifications"

EmailChoice = Literal["immediate", "daily", "weekly", "off"]


class Topic(msgspec.Struct, frozen=True, kw_only=True):
    """An event type a person can be told about, and how by default."""

    event_type: str
    label: str
    email: EmailChoice
    inapp: bool = True


# What people are told about; the defaults favour what concerns one's own Kommune directly.
TOPICS: tuple[Topic, ...] = (
    Topic(
        event_type="need.supported",
        label="Eine weitere Kommune ist von Ihrem Bedarf betroffen",
        email="daily",
    ),
    Topic(event_type="need.support_withdrawn", label="Eine Kommune ist nicht mehr betroffen", email="daily"),
    Topic(
        event_type="need.status_changed",
        label="Der Status eines Bedarfs hat sich geändert",
        email="immediate",
    ),
    Topic(event_type="need.solution_added", label="Neuer Lösungsansatz zu einem Bedarf", email="daily"),
    Topic(
        event_type="pilot.opened",
        label="Neues Pilotvorhaben zu einem Bedarf Ihrer Kommune",
        email="immediate",
    ),
    Topic(event_type="pilot.full", label="Ein Pilotvorhaben ist ausgebucht", email="daily"),
    Topic(event_type="pilot.selection_made", label="Auswahl in einem Pilotvorhaben", email="immediate"),
    Topic(event_type="survey.published", label="Eine neue Umfrage richtet sich an Sie", email="immediate"),
    Topic(
        event_type="survey.reminder_requested", label="Erinnerung an eine offene Umfrage", email="immediate"
    ),
    Topic(event_type="survey.closing_soon", label="Eine offene Umfrage endet bald", email="immediate"),
    Topic(
        event_type="poll.opened",
        label="Eine neue Abstimmung, an der Sie teilnehmen können",
        email="immediate",
    ),
    Topic(event_type="poll.closed", label="Ergebnis einer Abstimmung Ihrer AG", email="daily"),
    Topic(event_type="topic.selected", label="Ihre AG hat ein Thema ausgewählt", email="daily"),
    Topic(
        event_type="meeting.occurrence_upcoming",
        label="Erinnerung an einen Termin (angemeldet oder Ihrer AG)",
        email="immediate",
    ),
    Topic(event_type="meeting.created", label="Neuer Termin Ihrer AG", email="daily"),
    Topic(event_type="meeting.changed", label="Ein Termin wurde geändert", email="daily"),
    Topic(
        event_type="meeting.occurrence_cancelled",
        label="Ein Termin fällt aus (angemeldet oder Ihrer AG)",
        email="immediate",
    ),
    Topic(event_type="meeting.occurrence_moved", label="Ein Termin wurde verschoben", email="immediate"),
    Topic(event_type="meeting.cancelled", label="Ein Termin wurde ganz abgesagt", email="immediate"),
    Topic(
        event_type="spotlight.status_changed",
        label="Neuer Stand eines Spotlights Ihrer AG oder Ihrer Kommune",
        email="immediate",
    ),
)
TOPIC_BY_TYPE = {t.event_type: t for t in TOPICS}


class Endpoints:
    INBOX = "inbox.list"
    UNREAD = "inbox.unread"
    MARK_READ = "inbox.read"
    MARK_ALL_READ = "inbox.read_all"
    PREFERENCES_GET = "preferences.get"
    PREFERENCES_PUT = "preferences.put"
    WEBHOOK_CREATE = "webhooks.create"
    WEBHOOK_LIST = "webhooks.list"
    WEBHOOK_DELETE = "webhooks.delete"
    WEBHOOK_DELIVERIES = "webhooks.deliveries"
    PARKED = "admin.parked"
    MAIL_PROBLEMS = "admin.mail_problems"


class Notification(msgspec.Struct, kw_only=True):
    id: str
    event_type: str
    title: str
    body: str
    link: str | None = None
    created_at: datetime
    read: bool = False


class NotificationPage(msgspec.Struct, kw_only=True):
    items: list[Notification]
    next_cursor: str | None = None
    unread: int = 0


class ListInbox(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    unread: bool = False
    limit: Limit = 20
    cursor: Cursor | None = None


class Unread(msgspec.Struct, kw_only=True):
    count: int


class MarkRead(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:-]+$")]


class Preference(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: EmailChoice
    inapp: bool


class Preferences(msgspec.Struct, kw_only=True):
    """Per event type; missing types keep their defaults."""

    items: dict[str, Preference]


class SetPreferences(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    items: Annotated[dict[str, Preference], msgspec.Meta(max_length=50)]


WebhookUrl = Annotated[str, msgspec.Meta(min_length=8, max_length=2000, pattern=r"^https?://[^\s<>\"]+$")]
EventType = Annotated[str, msgspec.Meta(min_length=1, max_length=80, pattern=r"^(\*|[a-z_]+(\.[a-z_]+)+)$")]


class CreateWebhook(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: WebhookUrl
    event_types: Annotated[list[EventType], msgspec.Meta(min_length=1, max_length=50)]


class Webhook(msgspec.Struct, kw_only=True):
    id: str
    url: str
    event_types: list[str]
    active: bool
    created_at: datetime
    disabled_reason: str | None = None


class CreatedWebhook(msgspec.Struct, kw_only=True):
    id: str
    url: str
    event_types: list[str]
    secret: str


class WebhookList(msgspec.Struct, kw_only=True):
    items: list[Webhook]


class WebhookId(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Id


class Attempt(msgspec.Struct, kw_only=True):
    at: datetime
    status: int | None
    error: str | None = None
    duration_ms: int


class Delivery(msgspec.Struct, kw_only=True):
    id: str
    event_id: str
    event_type: str
    state: Literal["pending", "delivered", "failed"]
    attempts: list[Attempt]
    next_attempt_at: datetime | None = None


class DeliveryPage(msgspec.Struct, kw_only=True):
    items: list[Delivery]
    next_cursor: str | None = None


class ListDeliveries(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Id
    limit: Limit = 50
    cursor: Cursor | None = None


class ParkedEvent(msgspec.Struct, kw_only=True):
    """An event a consumer could not handle; kept with the reason instead of blocking the stream."""

    id: str
    consumer: str
    subject: str
    type: str | None
    event_id: str | None
    reason: str
    at: datetime


class ParkedList(msgspec.Struct, kw_only=True):
    items: list[ParkedEvent]


class MailProblem(msgspec.Struct, kw_only=True):
    """A mail not delivered yet: `pending` is tried again at `next_attempt_at`, `failed` was
    refused for good by the mail server (5xx) and is not tried again."""

    id: str
    to: str
    state: Literal["pending", "failed"]
    attempts: int
    last_error: str
    created_at: datetime
    next_attempt_at: datetime | None = None
    failed_at: datetime | None = None


class MailProblemList(msgspec.Struct, kw_only=True):
    items: list[MailProblem]
