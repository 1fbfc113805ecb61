"""Needs service: Bedarfe, "betrifft uns auch", Lösungsansätze and Pilotvorhaben."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from services.contracts.common import Cursor, Email, Id, Limit, Name

SERVICE = "needs"

# The 14 OZG Themenfelder and the internal fields the GDST working groups used.
CATEGORIES: dict[str, str] = {
    "arbeit-ruhestand": "Arbeit & Ruhestand",
    "bauen-wohnen": "Bauen & Wohnen",
    "bildung": "Bildung",
    "ein-auswanderung": "Ein- & Auswanderung",
    "engagement-hobby": "Engagement & Hobby",
    "familie-kind": "Familie & Kind",
    "forschung-foerderung": "Forschung & Förderung",
    "gesundheit": "Gesundheit",
    "mobilitaet-reisen": "Mobilität & Reisen",
    "querschnitt": "Querschnitt",
    "recht-ordnung": "Recht & Ordnung",
    "steuern-zoll": "Steuern & Zoll",
    "umwelt": "Umwelt",
    "unternehmensfuehrung": "Unternehmensführung & -entwicklung",
    "it-infrastruktur": "IT-Infrastruktur",
    "informationssicherheit": "Informationssicherheit",
    "basisdienste": "Basisdienste",
    "personal-qualifizierung": "Personal und Qualifizierung",
    "finanzierung": "Finanzierung",
    "recht": "Recht",
    "prozesse-organisation": "Prozesse und Organisation",
}
Category = Literal[
    "arbeit-ruhestand", "bauen-wohnen", "bildung", "ein-auswanderung", "engagement-hobby",
    "familie-kind", "forschung-foerderung", "gesundheit", "mobilitaet-reisen", "querschnitt",
    "recht-ordnung", "steuern-zoll", "umwelt", "unternehmensfuehrung", "it-infrastruktur",
    "informationssicherheit", "basisdienste", "personal-qualifizierung", "finanzierung", "recht",
    "prozesse-organisation",
]  # fmt: skip
Status = Literal["neu", "in_pruefung", "in_umsetzung", "geloest", "abgelehnt"]
STATUS_LABELS: dict[str, str] = {
    "neu": "Neu",
    "in_pruefung": "In Prüfung",
    "in_umsetzung": "In Umsetzung",
    "geloest": "Gelöst",
    "abgelehnt": "Abgelehnt",
}
SolutionKind = Literal["efa_onlinedienst", "basisdienst", "proof_of_concept", "produkt"]
SOLUTION_KINDS: dict[str, str] = {
    "efa_onlinedienst": "EfA-Onlinedienst",
    "basisdienst": "Basisdienst",
    "proof_of_concept": "Proof of Concept",
    "produkt": "Produkt",
}
SignupStatus = Literal["confirmed", "waitlisted", "selected", "declined", "withdrawn"]
Sort = Literal["supporters", "recent", "inhabitants"]

Title = Annotated[str, msgspec.Meta(min_length=3, max_length=200)]
Description = Annotated[str, msgspec.Meta(min_length=1, max_length=10_000)]
Comment = Annotated[str, msgspec.Meta(max_length=2_000)]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[^<>]+$")]
Url = Annotated[str, msgspec.Meta(max_length=2_000, pattern=r"^https?://[^\s<>\"]+$")]
SearchText = Annotated[str, msgspec.Meta(max_length=500)]


class Endpoints:
    REPORT = "needs.report"
    LIST = "needs.list"
    GET = "needs.get"
    SIMILAR = "needs.similar"
    SUPPORT = "needs.support"
    WITHDRAW_SUPPORT = "needs.support.withdraw"
    SET_STATUS = "needs.status"
    ADD_SOLUTION = "needs.solutions.add"
    PILOT_OPEN = "pilots.open"
    PILOT_LIST = "pilots.list"
    PILOT_GET = "pilots.get"
    SIGNUP = "pilots.signup"
    SIGNUP_WITHDRAW = "pilots.signup.withdraw"
    SELECT = "pilots.select"


# --- views ------------------------------------------------------------------------------


class OrgRef(msgspec.Struct, kw_only=True):
    id: str
    name: str
    kind: str = ""
    ags: str = ""


class Supporter(msgspec.Struct, kw_only=True):
    organisation: OrgRef
    comment: str | None = None
    at: datetime
    reporter: bool = False


class StatusChange(msgspec.Struct, kw_only=True):
    status: str
    reason: str | None = None
    by: str | None = None
    at: datetime


class Solution(msgspec.Struct, kw_only=True):
    id: str
    need_id: str
    title: str
    description: str
    url: str | None = None
    kind: str
    organisation: OrgRef
    created_at: datetime


class PilotRef(msgspec.Struct, kw_only=True):
    id: str
    title: str
    signup_closes_at: datetime
    seats_left: int


class NeedSummary(msgspec.Struct, kw_only=True):
    id: str
    title: str
    category: str
    status: str
    organisation: OrgRef
    supporter_count: int
    affected_inhabitants: int
    created_at: datetime
    tags: list[str] = msgspec.field(default_factory=list)


class Need(msgspec.Struct, kw_only=True):
    id: str
    title: str
    description: str
    category: str
    tags: list[str]
    status: str
    organisation: OrgRef
    supporter_count: int
    affected_inhabitants: int
    created_at: datetime
    supporters: list[Supporter]
    solutions: list[Solution]
    pilots: list[PilotRef]
    status_history: list[StatusChange]
    supported_by_me: bool = False
    reported_by_me: bool = False


class NeedPage(msgspec.Struct, kw_only=True):
    items: list[NeedSummary]
    next_cursor: str | None = None


class SimilarNeed(msgspec.Struct, kw_only=True):
    id: str
    title: str
    score: float
    supporter_count: int = 0
    status: str = "neu"


class SimilarList(msgspec.Struct, kw_only=True):
    items: list[SimilarNeed]


class SupportResult(msgspec.Struct, kw_only=True):
    need_id: str
    supporter_count: int
    affected_inhabitants: int
    supported: bool


class Signup(msgspec.Struct, kw_only=True):
    organisation: OrgRef
    status: str
    position: int
    signed_up_at: datetime
    contact_name: str | None = None
    contact_email: str | None = None
    note: str | None = None


class Pilot(msgspec.Struct, kw_only=True):
    id: str
    title: str
    description: str
    need_ids: list[str]
    capacity: int
    signup_closes_at: datetime
    created_at: datetime
    seats_left: int
    signups: list[Signup]
    selection_made: bool = False
    open: bool = True


class PilotPage(msgspec.Struct, kw_only=True):
    items: list[Pilot]
    next_cursor: str | None = None


class SignupResult(msgspec.Struct, kw_only=True):
    status: str
    position: int


# --- requests ---------------------------------------------------------------------------


class ReportNeed(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    title: Title
    description: Description
    category: Category
    tags: Annotated[list[Tag], msgspec.Meta(max_length=10)] = msgspec.field(default_factory=list)


class ListNeeds(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    q: SearchText | None = None
    category: Category | None = None
    status: Status | None = None
    landkreis: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{5}$")] | None = None
    sort: Sort = "supporters"
    limit: Limit = 20
    cursor: Cursor | None = None


class GetNeed(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Id


class FindSimilar(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=10_000)]
    limit: Annotated[int, msgspec.Meta(ge=1, le=20)] = 5
    exclude: Id | None = None


class Support(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Id
    comment: Comment | None = None


class SetStatus(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Id
    status: Status
    reason: Comment | None = None


class AddSolution(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    need_id: Id
    title: Title
    description: Description
    kind: SolutionKind
    url: Url | None = None


class OpenPilot(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    title: Title
    description: Description
    need_ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=20)]
    capacity: Annotated[int, msgspec.Meta(ge=1, le=1000)]
    signup_closes_at: datetime


class ListPilots(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    need_id: Id | None = None
    limit: Limit = 50
    cursor: Cursor | None = None


class SignUp(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pilot_id: Id
    contact_name: Name
    contact_email: Email
    note: Comment | None = None


class Select(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pilot_id: Id
    organisation_ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=1000)]


# --- events -----------------------------------------------------------------------------

EVENT_NEED_REPORTED = "need.reported"
EVENT_NEED_SUPPORTED = "need.supported"
EVENT_SUPPORT_WITHDRAWN = "need.support_withdrawn"
EVENT_STATUS_CHANGED = "need.status_changed"
EVENT_SOLUTION_ADDED = "need.solution_added"
EVENT_PILOT_OPENED = "pilot.opened"
EVENT_SIGNED_UP = "pilot.signed_up"
EVENT_SIGNUP_WITHDRAWN = "pilot.signup_withdrawn"
EVENT_PILOT_FULL = "pilot.full"
EVENT_SELECTION_MADE = "pilot.selection_made"


class NeedReported(msgspec.Struct, kw_only=True, tag="need.reported.v1"):
    need_id: str
    title: str
    category: str
    organisation_id: str
    reported_by: str


class NeedSupported(msgspec.Struct, kw_only=True, tag="need.supported.v1"):
    need_id: str
    organisation_id: str
    reporting_organisation_id: str
    by: str


class SupportWithdrawn(msgspec.Struct, kw_only=True, tag="need.support_withdrawn.v1"):
    need_id: str
    organisation_id: str
    reporting_organisation_id: str
    by: str


class NeedStatusChanged(msgspec.Struct, kw_only=True, tag="need.status_changed.v1"):
    need_id: str
    old_status: str
    status: str
    reason: str | None
    reporting_organisation_id: str
    by: str


class SolutionAdded(msgspec.Struct, kw_only=True, tag="need.solution_added.v1"):
    need_id: str
    solution_id: str
    title: str
    kind: str
    organisation_id: str


class PilotOpened(msgspec.Struct, kw_only=True, tag="pilot.opened.v1"):
    pilot_id: str
    title: str
    need_ids: list[str]
    capacity: int
    signup_closes_at: datetime
    by: str | None = None  # who opened it (added for the audit trail; absent in older events)


class SignedUp(msgspec.Struct, kw_only=True, tag="pilot.signed_up.v1"):
    pilot_id: str
    organisation_id: str
    by: str


class SignupWithdrawn(msgspec.Struct, kw_only=True, tag="pilot.signup_withdrawn.v1"):
    pilot_id: str
    organisation_id: str
    by: str


class PilotFull(msgspec.Struct, kw_only=True, tag="pilot.full.v1"):
    pilot_id: str
    capacity: int


class SelectionMade(msgspec.Struct, kw_only=True, tag="pilot.selection_made.v1"):
    pilot_id: str
    selected: list[str]
    declined: list[str]
    by: str | None = None  # who selected (added for the audit trail; absent in older events)
