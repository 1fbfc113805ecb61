"""Privacy (DSGVO) and audit: the data export every service answers, the deletion event every
service consumes, and the audit trail the directory keeps.

A service joins the privacy mechanism by
1. serving the endpoint `privacy.export` (request `ExportRequest`, reply `ExportSection`) and
2. consuming `person.deleted` (data `PersonDeleted`) with a durable consumer of its own,
and by being listed in `PRIVACY_SERVICES`, which the gateway asks for an export. The shared
implementation is `services.runtime.privacy` (see docs/privacy.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from services.contracts.common import Cursor, Id, Limit

# every service holding personal data; the export asks each of them and fails (503) rather than
# return an incomplete document when one does not answer
PRIVACY_SERVICES: tuple[str, ...] = ("directory", "needs", "surveys", "notifications", "meetings")

EXPORT_ENDPOINT = "privacy.export"
DELETION_ENDPOINT = "privacy.delete"  # directory only: marks the person deleted, states the event
AUDIT_ENDPOINT = "audit.list"  # directory only

EVENT_PERSON_DELETED = "person.deleted"
# what replaces a name, an email or another personal text after deletion
ERASED = "[gelöscht]"


class ExportRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    person_id: Id


class ExportSection(msgspec.Struct, kw_only=True):
    """What one service holds about a person: documents by collection, secrets left out."""

    service: str
    collections: dict[str, list[dict[str, Any]]]


class DeletionRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    person_id: Id


class DeletionAccepted(msgspec.Struct, kw_only=True):
    person_id: str
    pseudonym: str
    # false when the person had been deleted before: nothing new was stated
    new: bool


class PersonDeleted(msgspec.Struct, kw_only=True, tag="person.deleted.v1"):
    """A person asked to be forgotten (or an admin did for them).

    Every service replaces `person_id` by `pseudonym` and removes names and emails. The event
    carries no clear-text personal data: the email and the name only as SHA-256 of the
    normalised value (`email.strip().lower()`, `name.strip()`), so a service can recognise them
    in its documents without the stream (kept 90 days) holding them again.
    """

    person_id: str
    organisation_id: str
    pseudonym: str
    email_sha256: str
    name_sha256: str
    deleted_by: str
    self_service: bool


# --- audit ------------------------------------------------------------------------------------

# the ministry's (moderators', admins') decisions on the audit trail: event type -> German label
AUDITED: dict[str, str] = {
    "survey.published": "Umfrage veröffentlicht",
    "survey.closed": "Umfrage beendet",
    "survey.reminder_requested": "Erinnerung an Umfrage angestoßen",
    "need.status_changed": "Status eines Bedarfs geändert",
    "pilot.opened": "Pilotvorhaben eröffnet",
    "pilot.selection_made": "Pilotkommunen ausgewählt",
    "topic.status_changed": "Status eines AG-Themas geändert",
    "topic.selected": "AG-Thema durch Abstimmung ausgewählt",
    "poll.opened": "Abstimmung geöffnet",
    "poll.closed": "Abstimmung beendet",
    "group.member_added": "Person einer AG hinzugefügt",
    "group.member_removed": "Person aus einer AG entfernt",
    "person.deleted": "Personenkonto gelöscht (DSGVO)",
    "spotlight.status_changed": "Status eines Spotlights geändert",
    "meeting.created": "Termin angelegt",
    "meeting.changed": "Termin geändert",
    "meeting.cancelled": "Termin ganz abgesagt",
    "meeting.occurrence_cancelled": "Einzelner Termin abgesagt",
    "meeting.occurrence_moved": "Einzelner Termin verschoben",
}


AuditDate = Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}-\d{2}$")]


class AuditQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    action: Annotated[str, msgspec.Meta(max_length=64, pattern=r"^[a-z_.]*$")] | None = None
    actor: Annotated[str, msgspec.Meta(max_length=64, pattern=r"^[A-Za-z0-9_.:-]*$")] | None = None
    since: AuditDate | None = None  # first day included (UTC)
    until: AuditDate | None = None  # last day included (UTC)
    limit: Limit = 50
    cursor: Cursor | None = None


class AuditEntry(msgspec.Struct, kw_only=True):
    id: str  # the event id
    action: str  # the event type, e.g. "survey.published"
    actor: str | None  # person id; null for the platform itself (a deadline, a poll's end)
    actor_name: str | None
    object: str | None  # the event subject, e.g. "surveys/<id>"
    title: str | None
    details: dict[str, Any]
    at: datetime
    source: str


class AuditPage(msgspec.Struct, kw_only=True):
    items: list[AuditEntry]
    next_cursor: str | None = None
    actions: list[str] = msgspec.field(default_factory=list)  # every action that is audited
